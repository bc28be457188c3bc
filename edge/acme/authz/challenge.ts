// Challenges (RFC 8555 §7.5.1): a response starts the validation (pending → processing, claimed in
// the database so only one challenge of an authorization runs at a time), a read resumes an attempt
// a process or isolate abandoned, and the validation itself (validation.ts) finishes it.
import { AcmeProblem } from '../../../shared/problems.ts';
import { checkFailedValidations } from '../../ratelimit/limits.ts';
import type { EdgeServices } from '../../services.ts';
import type { AccountRow, AuthzRow, ChallengeRow } from '../../storage/schema.ts';
import { ensureOwner, notFound } from '../respond.ts';
import { effectiveAuthzStatus } from './states.ts';
import { runValidation, STALE_ATTEMPT_MS } from './validation.ts';

/** Claims a pending challenge and starts its validation; false if it was not pending. */
export async function startValidation(
  svc: EdgeServices,
  authz: AuthzRow,
  ch: ChallengeRow,
  thumbprint: string,
): Promise<boolean> {
  if (!(await svc.orders.startChallenge(ch.id, authz.id, Date.now()))) return false;
  svc.runtime.waitUntil(runValidation(svc, authz, { ...ch, status: 'processing' }, thumbprint));
  return true;
}

/** Restarts abandoned attempts among the given challenges (called when an authorization is read). */
export async function resumeStale(
  svc: EdgeServices,
  authz: AuthzRow,
  chals: ChallengeRow[],
  thumbprint: string,
): Promise<void> {
  const now = Date.now();
  for (const ch of chals) {
    if (ch.status !== 'processing' || (ch.attemptAt ?? 0) > now - STALE_ATTEMPT_MS) continue;
    if (await svc.orders.claimStaleChallenge(ch.id, now - STALE_ATTEMPT_MS, now)) {
      svc.runtime.waitUntil(runValidation(svc, authz, ch, thumbprint));
    }
  }
}

/** The account's challenge by id, with its authorization; notFound or unauthorized otherwise. */
export async function ownedChallenge(
  svc: EdgeServices,
  account: AccountRow,
  id: string,
): Promise<{ authz: AuthzRow; challenge: ChallengeRow }> {
  const challenge = await svc.orders.getChallenge(id);
  if (!challenge) throw notFound('this challenge');
  const authz = await svc.orders.getAuthz(challenge.authzId);
  if (!authz) throw notFound('this challenge');
  ensureOwner(authz.accountId, account, 'this challenge');
  return { authz, challenge };
}

/**
 * A POST to a challenge: `null` (POST-as-GET) reads it and resumes an abandoned attempt; an object
 * (`{}`) responds to it, which starts its validation when it is pending. Returns the challenge as
 * it now stands.
 */
export async function respondToChallenge(
  svc: EdgeServices,
  account: AccountRow,
  authz: AuthzRow,
  ch: ChallengeRow,
  payload: unknown,
): Promise<ChallengeRow> {
  if (payload === null) {
    await resumeStale(svc, authz, [ch], account.thumbprint);
    return (await svc.orders.getChallenge(ch.id)) ?? ch;
  }
  if (typeof payload !== 'object' || Array.isArray(payload)) {
    throw new AcmeProblem('malformed', 'a challenge response payload must be a JSON object ({})');
  }
  const status = effectiveAuthzStatus(authz, Date.now());
  if (ch.status === 'pending') {
    if (status !== 'pending') {
      throw new AcmeProblem(
        'malformed',
        `the authorization is ${status}; its challenges can no longer be attempted`,
      );
    }
    // Too many recent failed validations for this account → rateLimited.
    await checkFailedValidations(svc, account);
    if (!(await startValidation(svc, authz, ch, account.thumbprint))) {
      const other = (await svc.orders.challengesOf(authz.id)).find(
        (x) => x.status === 'processing' && x.id !== ch.id,
      );
      if (other)
        throw new AcmeProblem(
          'malformed',
          `another challenge (${other.type}) of this authorization is being validated`,
        );
    }
  }
  // RFC 8555 §7.5.1: responding again to a processing/valid/invalid challenge just returns it.
  return (await svc.orders.getChallenge(ch.id)) ?? ch;
}
