// Wire objects (RFC 8555 §7.1) built from stored rows: one function per resource, every URL from
// the linker. Rows are never sent as they are.
import type { Identifier, ProblemDocument } from '../../shared/problems.ts';
import type { Linker } from '../linker.ts';
import type { AccountRow, AuthzRow, ChallengeRow, OrderRow } from '../storage/schema.ts';
import { effectiveAuthzStatus } from './authz/states.ts';

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function parseJson<T>(text: string | null): T | undefined {
  return text ? (JSON.parse(text) as T) : undefined;
}

export function accountToWire(a: AccountRow, linker: Linker) {
  return {
    status: a.status,
    contact: JSON.parse(a.contact) as string[],
    termsOfServiceAgreed: a.tosAgreed,
    orders: linker.accountOrders(a.id),
    createdAt: iso(a.createdAt),
  };
}

/** What a challenge object shows beyond its row: dns-persist-01 names the account and the CA. */
export interface ChallengeView {
  accountId: string;
  /** the CA's issuer domain names (acme/challenge-offer.ts) */
  issuerDomainNames: string[];
}

export function challengeToWire(ch: ChallengeRow, linker: Linker, view?: ChallengeView) {
  const out: Record<string, unknown> = {
    type: ch.type,
    url: linker.challenge(ch.id),
    status: ch.status,
  };
  if (ch.type === 'dns-persist-01' && view) {
    // draft-ietf-acme-dns-persist: no token. "issuer-domain-names" and "accounturi" are the -00/-01
    // members deployed clients (lego 5, acme.sh) read; "issuerDomainNames" the -02 name (§3.1).
    out['issuer-domain-names'] = view.issuerDomainNames;
    out.issuerDomainNames = view.issuerDomainNames;
    out.accounturi = linker.account(view.accountId);
  } else {
    out.token = ch.token;
  }
  if (ch.validatedAt) out.validated = iso(ch.validatedAt);
  const error = parseJson<ProblemDocument>(ch.error);
  if (error) out.error = error;
  const rec = parseJson<unknown[]>(ch.validationRecord);
  if (rec) out.validationRecord = rec;
  return out;
}

export function authzToWire(
  a: AuthzRow,
  chals: ChallengeRow[],
  linker: Linker,
  now: number,
  issuerDomainNames: string[] = [],
) {
  const view = { accountId: a.accountId, issuerDomainNames };
  const out: Record<string, unknown> = {
    identifier: { type: a.identifierType, value: a.identifierValue },
    status: effectiveAuthzStatus(a, now),
    expires: iso(a.expiresAt),
    challenges: chals.map((c) => challengeToWire(c, linker, view)),
  };
  if (a.wildcard) out.wildcard = true;
  return out;
}

export function orderToWire(o: OrderRow, linker: Linker) {
  const out: Record<string, unknown> = {
    status: o.status,
    expires: iso(o.expiresAt),
    identifiers: JSON.parse(o.identifiers) as Identifier[],
    authorizations: (JSON.parse(o.authzIds) as string[]).map((id) => linker.authz(id)),
    finalize: linker.finalize(o.id),
    profile: o.profile,
  };
  if (o.notBefore) out.notBefore = iso(o.notBefore);
  if (o.notAfter) out.notAfter = iso(o.notAfter);
  const error = parseJson<ProblemDocument>(o.error);
  if (error) out.error = error;
  if (o.certificateId && o.status === 'valid') out.certificate = linker.certificate(o.certificateId);
  if (o.replaces) out.replaces = o.replaces;
  return out;
}

export { iso };
