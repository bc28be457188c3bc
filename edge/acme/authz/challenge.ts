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
  now = Date.now(),
): Promise<boolean> {
  if (!(await svc.orders.startChallenge(ch.id, authz.id, now))) return false;
  svc.runtime.waitUntil(
    runValidation(svc, authz, { ...ch, status: 'processing', attemptAt: now }, thumbprint),
  );
  return true;
}

/**
 * Restarts abandoned attempts among the given challenges (called when an authorization is read);
 * true when it restarted one.
 */
export async function resumeStale(
  svc: EdgeServices,
  authz: AuthzRow,
  chals: ChallengeRow[],
  thumbprint: string,
): Promise<boolean> {
  const now = Date.now();
  let resumed = false;
  for (const ch of chals) {
    if (ch.status !== 'processing' || (ch.attemptAt ?? 0) > now - STALE_ATTEMPT_MS) continue;
    if (await svc.orders.claimStaleChallenge(ch.id, now - STALE_ATTEMPT_MS, now)) {
      svc.runtime.waitUntil(runValidation(svc, authz, ch, thumbprint));
      resumed = true;
    }
  }
  return resumed;
}

/** The account's challenge by id, with its authorization; notFound or unauthorized otherwise. */
export async function ownedChallenge(
  svc: EdgeServices,
  account: AccountRow,
  id: string,
): Promise<{ authz: AuthzRow; challenge: ChallengeRow }> {
  const found = await svc.orders.challengeWithAuthz(id);
  if (!found) throw notFound('this challenge');
  ensureOwner(found.authz.accountId, account, 'this challenge');
  return found;
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
    // read again only when an attempt was resumed (its attempt time changed)
    if (!(await resumeStale(svc, authz, [ch], account.thumbprint))) return ch;
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
    const now = Date.now();
    if (await startValidation(svc, authz, ch, account.thumbprint, now)) {
      // what the guarded update wrote; the validation it started may since have moved it on, which
      // the client's next read shows (RFC 8555 §7.5.1: the client polls)
      return { ...ch, status: 'processing', attemptAt: now };
    }
    const other = (await svc.orders.challengesOf(authz.id)).find(
      (x) => x.status === 'processing' && x.id !== ch.id,
    );
    if (other)
      throw new AcmeProblem(
        'malformed',
        `another challenge (${other.type}) of this authorization is being validated`,
      );
  }
  // RFC 8555 §7.5.1: responding again to a processing/valid/invalid challenge just returns it.
  return (await svc.orders.getChallenge(ch.id)) ?? ch;
}
