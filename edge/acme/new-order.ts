// newOrder (RFC 8555 §7.4): identifiers checked and canonicalised, the profile chosen, dates
// honoured or refused, authorizations reused when the account already holds valid ones, and the
// order with its new authorizations and challenges written in one batch.

import { randomToken } from '../../shared/encoding.ts';
import { canonicalIdentifiers, isWildcard, normalizeIdentifier } from '../../shared/identifiers.ts';
import { AcmeProblem, type Identifier } from '../../shared/problems.ts';
import { newId } from '../storage/ids.ts';
import type { AccountRow, AuthzRow, ChallengeRow, OrderRow } from '../storage/schema.ts';
import { routingContext, tlsAlpnOffered } from '../validation/routing.ts';
import type { EdgeServices } from './context.ts';

export interface NewOrderPayload {
  identifiers: Identifier[];
  notBefore?: number;
  notAfter?: number;
  profile: string;
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
  const profileName = p.profile === undefined ? svc.config.defaultProfile : p.profile;
  if (typeof profileName !== 'string' || !Object.hasOwn(svc.config.profiles, profileName)) {
    throw new AcmeProblem(
      'invalidProfile',
      `unknown profile ${JSON.stringify(p.profile)}; offered: ${Object.keys(svc.config.profiles).join(', ')}`,
    );
  }
  const profile = svc.config.profiles[profileName]!;
  const notBefore = parseDate(p.notBefore, 'notBefore');
  const notAfter = parseDate(p.notAfter, 'notAfter');
  const start = notBefore ?? now;
  if (notBefore !== undefined && (notBefore < now - 60_000 || notBefore > now + 7 * 86_400_000)) {
    throw new AcmeProblem('malformed', 'notBefore must lie between now and 7 days from now');
  }
  if (notAfter !== undefined) {
    if (notAfter <= start) throw new AcmeProblem('malformed', 'notAfter must be after notBefore (or now)');
    if (notAfter - start > profile.validitySeconds * 1000 + 60_000) {
      throw new AcmeProblem(
        'malformed',
        `profile "${profileName}" issues certificates valid for at most ${profile.validitySeconds} s`,
      );
    }
  }
  if (p.replaces !== undefined && typeof p.replaces !== 'string')
    throw new AcmeProblem('malformed', '"replaces" must be a string');
  const out: NewOrderPayload = { identifiers: canonicalIdentifiers(ids), profile: profileName };
  if (notBefore !== undefined) out.notBefore = notBefore;
  if (notAfter !== undefined) out.notAfter = notAfter;
  if (typeof p.replaces === 'string') out.replaces = p.replaces;
  return out;
}

/** Challenge types offered for an identifier (RFC 8555 §8, RFC 8738 §7: no dns-01 for IPs). */
export function challengeTypesFor(id: Identifier, svc: EdgeServices): ChallengeRow['type'][] {
  // tls-alpn-01 needs raw TLS: offered where this runtime has it or the route sends it on-prem.
  const alpn = tlsAlpnOffered(id, svc.config.validationRoutes, routingContext(svc.runtime, svc.config))
    ? (['tls-alpn-01'] as const)
    : [];
  if (id.type === 'ip') return ['http-01', ...alpn];
  if (isWildcard(id)) return ['dns-01'];
  return ['http-01', 'dns-01', ...alpn];
}

export async function createOrder(
  svc: EdgeServices,
  account: AccountRow,
  req: NewOrderPayload,
): Promise<OrderRow> {
  const now = Date.now();
  const orderExpires = now + svc.config.orderLifetimeSeconds * 1000;
  const authzs: AuthzRow[] = [];
  const chals: ChallengeRow[] = [];
  const authzIds: string[] = [];
  for (const id of req.identifiers) {
    const wildcard = isWildcard(id);
    const value = wildcard ? id.value.slice(2) : id.value;
    const reuse = await svc.orders.findReusableAuthz(account.id, id.type, value, wildcard, now + 86_400_000);
    if (reuse) {
      authzIds.push(reuse.id);
      continue;
    }
    const authz: AuthzRow = {
      id: newId(),
      accountId: account.id,
      identifierType: id.type,
      identifierValue: value,
      wildcard,
      status: 'pending',
      expiresAt: Math.min(orderExpires, now + svc.config.authzLifetimeSeconds * 1000),
      createdAt: now,
    };
    authzs.push(authz);
    authzIds.push(authz.id);
    // RFC 8555 §8: one token per challenge, at least 128 bits of entropy.
    for (const type of challengeTypesFor(id, svc)) {
      chals.push({
        id: newId(),
        authzId: authz.id,
        type,
        token: randomToken(32),
        status: 'pending',
        validatedAt: null,
        error: null,
        validationRecord: null,
        attemptAt: null,
      });
    }
  }
  const order: OrderRow = {
    id: newId(),
    accountId: account.id,
    status: authzs.length === 0 ? 'ready' : 'pending',
    identifiers: JSON.stringify(req.identifiers),
    authzIds: JSON.stringify(authzIds),
    profile: req.profile,
    notBefore: req.notBefore ?? null,
    notAfter: req.notAfter ?? null,
    expiresAt: orderExpires,
    error: null,
    csr: null,
    certificateId: null,
    replaces: req.replaces ?? null,
    relayAttemptAt: null,
    createdAt: now,
  };
  await svc.orders.create({ order, authzs, challenges: chals });
  return order;
}
