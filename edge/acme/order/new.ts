// newOrder (RFC 8555 §7.4): identifiers checked and canonicalised, the profile chosen (from the
// database), the name policies and rate limits applied, dates honoured or refused, and the order
// written in one batch with the authorizations authz/new.ts grants it (reused when the account
// already holds valid ones, or granted by the EAB key's pre-authorization).

import { canonicalIdentifiers, normalizeIdentifier } from '../../../shared/identifiers.ts';
import { AcmeProblem, type Identifier } from '../../../shared/problems.ts';
import { accountContext, checkIdentifiers, resolveProfile } from '../../policy/issuance.ts';
import { checkOrderLimits } from '../../ratelimit/limits.ts';
import type { EdgeServices } from '../../services.ts';
import { newId } from '../../storage/ids.ts';
import type { AccountRow, OrderRow } from '../../storage/schema.ts';
import { isRenewalInWindow } from '../ari.ts';
import { checkOpenLimits, grantAuthorizations, saveGrant } from '../authz/new.ts';
import { optedInChallenges } from '../challenge-offer.ts';
import { checkReplaces } from '../replaces.ts';

export interface NewOrderPayload {
  identifiers: Identifier[];
  notBefore?: number;
  notAfter?: number;
  /** absent: the default profile */
  profile?: string;
  replaces?: string;
}

function parseDate(v: unknown, field: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(v)) {
    throw new AcmeProblem('malformed', `"${field}" must be an RFC 3339 date-time`);
  }
  const ms = Date.parse(v);
  if (Number.isNaN(ms)) throw new AcmeProblem('malformed', `"${field}" is not a valid date`);
  return ms;
}

/** Validates the newOrder payload; several bad identifiers give one problem with subproblems. */
export function parseNewOrder(payload: unknown, svc: EdgeServices, now: number): NewOrderPayload {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new AcmeProblem('malformed', 'newOrder payload must be a JSON object');
  }
  const p = payload as Record<string, unknown>;
  if (!Array.isArray(p.identifiers) || p.identifiers.length === 0) {
    throw new AcmeProblem('malformed', 'newOrder needs a non-empty "identifiers" array');
  }
  if (p.identifiers.length > svc.config.maxIdentifiersPerOrder) {
    throw new AcmeProblem(
      'rejectedIdentifier',
      `an order may name at most ${svc.config.maxIdentifiersPerOrder} identifiers`,
    );
  }
  const ids: Identifier[] = [];
  const problems: AcmeProblem[] = [];
  for (const raw of p.identifiers) {
    try {
      ids.push(normalizeIdentifier(raw));
    } catch (e) {
      if (!(e instanceof AcmeProblem)) throw e;
      problems.push(e);
    }
  }
  if (problems.length > 0) {
    const kinds = new Set(problems.map((x) => x.kind));
    const kind = kinds.size === 1 ? problems[0]!.kind : 'rejectedIdentifier';
    throw AcmeProblem.combine(
      problems,
      kind,
      `${problems.length} identifier(s) in the order cannot be accepted`,
    );
  }
  // The profile's existence and what it allows are checked in createOrder, against the database.
  if (p.profile !== undefined && (typeof p.profile !== 'string' || p.profile.length === 0)) {
    throw new AcmeProblem(
      'invalidProfile',
      `"profile" must be a profile name, got ${JSON.stringify(p.profile)}`,
    );
  }
  const notBefore = parseDate(p.notBefore, 'notBefore');
  const notAfter = parseDate(p.notAfter, 'notAfter');
  const start = notBefore ?? now;
  if (notBefore !== undefined && (notBefore < now - 60_000 || notBefore > now + 7 * 86_400_000)) {
    throw new AcmeProblem('malformed', 'notBefore must lie between now and 7 days from now');
  }
  if (notAfter !== undefined && notAfter <= start) {
    throw new AcmeProblem('malformed', 'notAfter must be after notBefore (or now)');
  }
  if (p.replaces !== undefined && typeof p.replaces !== 'string')
    throw new AcmeProblem('malformed', '"replaces" must be a string');
  const out: NewOrderPayload = { identifiers: canonicalIdentifiers(ids) };
  if (typeof p.profile === 'string') out.profile = p.profile;
  if (notBefore !== undefined) out.notBefore = notBefore;
  if (notAfter !== undefined) out.notAfter = notAfter;
  if (typeof p.replaces === 'string') out.replaces = p.replaces;
  return out;
}

export async function createOrder(
  svc: EdgeServices,
  account: AccountRow,
  req: NewOrderPayload,
): Promise<OrderRow> {
  // The account's EAB key, the profile and the name policies are settled before anything
  // is written (no authorization is created for a refused order); then the rate limits.
  const ctx = await accountContext(svc, account);
  const profile = await resolveProfile(svc, ctx, req.profile);
  const now = Date.now();
  if (req.notAfter !== undefined) {
    const start = req.notBefore ?? now;
    if (req.notAfter - start > profile.validitySeconds * 1000 + 60_000) {
      throw new AcmeProblem(
        'malformed',
        `profile "${profile.name}" issues certificates valid for at most ${profile.validitySeconds} s`,
      );
    }
  }
  checkIdentifiers(req.identifiers, ctx, profile);
  // RFC 9773 §5: the replaced certificate checked, and recorded in its canonical spelling
  const replaces = req.replaces
    ? (await checkReplaces(svc, account, req.replaces, req.identifiers, now)).certId
    : undefined;
  await checkOrderLimits(svc, account, req.identifiers, await isRenewalInWindow(svc, replaces, Date.now()));
  await checkOpenLimits(svc, account, { order: true, newAuthzs: req.identifiers.length }, now);
  const orderExpires = now + svc.config.orderLifetimeSeconds * 1000;
  const authzExpires = Math.min(orderExpires, now + svc.config.authzLifetimeSeconds * 1000);
  const optedIn = optedInChallenges(svc.config, profile.optInChallenges, ctx.eab.optInChallenges);
  const grant = await grantAuthorizations(svc, account, ctx, req.identifiers, authzExpires, now, optedIn);
  const order: OrderRow = {
    id: newId(),
    accountId: account.id,
    status: grant.authzs.every((a) => a.status === 'valid') ? 'ready' : 'pending',
    identifiers: JSON.stringify(req.identifiers),
    authzIds: JSON.stringify(grant.authzIds),
    profile: profile.name,
    notBefore: req.notBefore ?? null,
    notAfter: req.notAfter ?? null,
    expiresAt: orderExpires,
    error: null,
    csr: null,
    certificateId: null,
    replaces: replaces ?? null,
    relayAttemptAt: null,
    createdAt: now,
  };
  await saveGrant(svc, grant, order);
  return order;
}
