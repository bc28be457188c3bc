// New authorizations (RFC 8555 §7.4 through newOrder, §7.4.1 through newAuthz): the reuse of a valid
// one the account already holds, a fresh one pending with its challenges, or one granted by the
// EAB key's pre-authorization (valid, marked and logged). newOrder and newAuthz both build theirs
// here and write them with the same batch (the order repository's create), so the two paths
// cannot drift.
import { randomToken } from '../../../shared/encoding.ts';
import { isWildcard, normalizeIdentifier } from '../../../shared/identifiers.ts';
import { AcmeProblem, type Identifier } from '../../../shared/problems.ts';
import {
  type AccountContext,
  accountContext,
  checkIdentifiers,
  preAuthorized,
} from '../../policy/issuance.ts';
import { checkOrderLimits } from '../../ratelimit/limits.ts';
import { offeredChallenges, routingContext } from '../../relay/validation-routes.ts';
import type { EdgeServices } from '../../services.ts';
import { newId } from '../../storage/ids.ts';
import type { PreauthMark } from '../../storage/preauth.ts';
import type { AccountRow, AuthzRow, ChallengeRow, OrderRow } from '../../storage/schema.ts';
import { optedInChallenges } from '../challenge-offer.ts';

/** A reused authorization must stay valid at least this long past the request. */
const REUSE_MARGIN_MS = 86_400_000;

/** What a new order or a newAuthz writes: the authorizations it names, and the rows it adds. */
export interface AuthzGrant {
  /** one per identifier, in order: reused or new */
  authzIds: string[];
  authzs: AuthzRow[];
  challenges: ChallengeRow[];
  marks: PreauthMark[];
}

/**
 * Challenge types offered for an identifier: each challenge's own rules (RFC 8555 §8, RFC 8738:
 * no dns-01 for IPs, wildcards by dns-01 only) for what this runtime can do or its route sends on-prem.
 */
export function challengeTypesFor(
  id: Identifier,
  svc: EdgeServices,
  optedIn: ReadonlySet<string> = new Set(),
): ChallengeRow['type'][] {
  return offeredChallenges(id, svc.config.validationRoutes, routingContext(svc.runtime, svc.config), optedIn);
}

/** A new authorization for one identifier: pre-authorized (valid, marked) or pending with challenges. */
export function newAuthorization(
  svc: EdgeServices,
  account: AccountRow,
  ctx: AccountContext,
  id: Identifier,
  expiresAt: number,
  now: number,
  /** opt-in challenge types enabled for the order's profile or the EAB key (challenge-offer.ts) */
  optedIn: ReadonlySet<string> = new Set(),
): { authz: AuthzRow; challenges: ChallengeRow[]; mark?: PreauthMark } {
  const wildcard = isWildcard(id);
  const authz: AuthzRow = {
    id: newId(),
    accountId: account.id,
    identifierType: id.type,
    identifierValue: wildcard ? id.value.slice(2) : id.value,
    wildcard,
    status: 'pending',
    expiresAt,
    createdAt: now,
  };
  if (ctx.eabKid && preAuthorized(id, ctx)) {
    // The EAB key pre-authorizes names in its allow list; no challenge, marked and logged.
    authz.status = 'valid';
    svc.log({
      event: 'authz-preauthorized',
      authzId: authz.id,
      accountId: account.id,
      eab: ctx.eabKid,
      identifier: id.value,
    });
    return {
      authz,
      challenges: [],
      mark: {
        authzId: authz.id,
        accountId: account.id,
        eabKid: ctx.eabKid,
        identifierType: id.type,
        identifierValue: id.value,
        createdAt: now,
      },
    };
  }
  // RFC 8555 §8: one token per challenge, at least 128 bits of entropy.
  const challenges: ChallengeRow[] = challengeTypesFor(id, svc, optedIn).map((type) => ({
    id: newId(),
    authzId: authz.id,
    type,
    token: randomToken(32),
    status: 'pending',
    validatedAt: null,
    error: null,
    validationRecord: null,
    attemptAt: null,
  }));
  return { authz, challenges };
}

/** A valid authorization the account already holds for the identifier, valid for at least a day more. */
export function findReusable(
  svc: EdgeServices,
  account: AccountRow,
  id: Identifier,
  now: number,
): Promise<AuthzRow | undefined> {
  const wildcard = isWildcard(id);
  const value = wildcard ? id.value.slice(2) : id.value;
  return svc.orders.findReusableAuthz(account.id, id.type, value, wildcard, now + REUSE_MARGIN_MS);
}

/** One authorization per identifier: the reusable one when the account holds it, else a new one. */
export async function grantAuthorizations(
  svc: EdgeServices,
  account: AccountRow,
  ctx: AccountContext,
  ids: Identifier[],
  expiresAt: number,
  now: number,
  optedIn: ReadonlySet<string> = new Set(),
): Promise<AuthzGrant> {
  const grant: AuthzGrant = { authzIds: [], authzs: [], challenges: [], marks: [] };
  for (const id of ids) {
    const reuse = await findReusable(svc, account, id, now);
    if (reuse) {
      grant.authzIds.push(reuse.id);
      continue;
    }
    const made = newAuthorization(svc, account, ctx, id, expiresAt, now, optedIn);
    grant.authzs.push(made.authz);
    grant.challenges.push(...made.challenges);
    if (made.mark) grant.marks.push(made.mark);
    grant.authzIds.push(made.authz.id);
  }
  return grant;
}

/** Writes the grant's new rows (and the order naming them, if any) in one batch. */
export function saveGrant(svc: EdgeServices, grant: AuthzGrant, order?: OrderRow): Promise<void> {
  return svc.orders.create({
    ...(order ? { order } : {}),
    authzs: grant.authzs,
    challenges: grant.challenges,
    marks: grant.marks,
  });
}

/**
 * An account may hold only so many unfinished orders and pending authorizations (by newOrder or
 * by newAuthz alike), so one client cannot fill the database (Let's Encrypt caps pending authorizations the same way).
 * Expired ones do not count. The check is not atomic with the insert: concurrent requests may pass
 * it together, which overshoots by at most the number of requests in flight.
 */
export async function checkOpenLimits(
  svc: EdgeServices,
  account: AccountRow,
  add: { order: boolean; newAuthzs: number },
  now: number,
) {
  const { maxPendingOrdersPerAccount: maxOrders, maxPendingAuthzsPerAccount: maxAuthzs } = svc.config;
  const open = await svc.orders.countOpen(account.id, now);
  if (add.order && open.orders >= maxOrders) {
    throw new AcmeProblem(
      'rateLimited',
      `the account has ${open.orders} unfinished orders (at most ${maxOrders}); finalize or let them expire`,
      { retryAfter: 60 },
    );
  }
  if (open.authzs + add.newAuthzs > maxAuthzs) {
    throw new AcmeProblem(
      'rateLimited',
      `the account has ${open.authzs} pending authorizations (at most ${maxAuthzs}); complete or deactivate them`,
      { retryAfter: 60 },
    );
  }
}

/**
 * newAuthz (RFC 8555 §7.4.1): pre-authorization of one identifier. It passes the same policies as in
 * newOrder; an EAB key with pre-authorization on answers with a valid authorization, otherwise it is
 * pending. A valid one the account already holds is returned as it is (`created` false) before any
 * rate limit is counted.
 */
export async function newPreAuthorization(
  svc: EdgeServices,
  account: AccountRow,
  payload: unknown,
): Promise<{ authz: AuthzRow; challenges: ChallengeRow[]; created: boolean; now: number }> {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload))
    throw new AcmeProblem('malformed', 'newAuthz payload must be a JSON object with "identifier"');
  const id = normalizeIdentifier((payload as Record<string, unknown>).identifier);
  if (isWildcard(id)) {
    throw new AcmeProblem('rejectedIdentifier', 'newAuthz must not name a wildcard (RFC 8555 §7.4.1)', {
      identifier: id,
    });
  }
  const ctx = await accountContext(svc, account);
  checkIdentifiers([id], ctx);
  const now = Date.now();
  const reuse = await findReusable(svc, account, id, now);
  if (reuse)
    return { authz: reuse, challenges: await svc.orders.challengesOf(reuse.id), created: false, now };
  await checkOrderLimits(svc, account, [id], false);
  await checkOpenLimits(svc, account, { order: false, newAuthzs: 1 }, now);
  // Pre-authorization names no profile: only the EAB key's opt-in challenge types apply.
  const optedIn = optedInChallenges(svc.config, ctx.eab.optInChallenges);
  const made = newAuthorization(
    svc,
    account,
    ctx,
    id,
    now + svc.config.authzLifetimeSeconds * 1000,
    now,
    optedIn,
  );
  await saveGrant(svc, {
    authzIds: [made.authz.id],
    authzs: [made.authz],
    challenges: made.challenges,
    marks: made.mark ? [made.mark] : [],
  });
  return { authz: made.authz, challenges: made.challenges, created: true, now };
}
