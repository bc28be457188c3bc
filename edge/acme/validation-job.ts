// Asynchronous challenge validation (RFC 8555 §7.5.1): responding to a challenge moves it to
// processing and returns at once; the attempt runs in the background (waitUntil on Workers), with
// a bounded retry for connection failures. A processing challenge whose attempt was lost (process
// or isolate gone) is claimed again by the next read, so an order never stalls.
import type { AuthzRow, ChallengeRow } from '../storage/schema.ts';
import { keyAuthorization, validateChallenge, validationOptions } from '../validation/index.ts';
import type { ValidationResult } from '../validation/types.ts';
import type { EdgeServices } from './context.ts';

const RETRY_DELAYS_MS = [1000];
/** A processing challenge older than this with no result is considered abandoned. */
export const STALE_ATTEMPT_MS = 30_000;

async function attempt(
  svc: EdgeServices,
  authz: AuthzRow,
  ch: ChallengeRow,
  thumbprint: string,
): Promise<ValidationResult> {
  const opts = validationOptions({
    http01Port: svc.config.http01Port,
    tlsAlpnPort: svc.config.tlsAlpnPort,
    addressPolicy: { allowLoopback: svc.config.allowLoopback, allowPrivate: true, allowLinkLocal: false },
  });
  const input = {
    type: ch.type,
    identifier: { type: authz.identifierType, value: authz.identifierValue },
    token: ch.token,
    keyAuthorization: keyAuthorization(ch.token, thumbprint),
  };
  let result = await validateChallenge(svc.runtime, input, opts);
  for (const delay of RETRY_DELAYS_MS) {
    if (result.status === 'valid' || result.problem.kind !== 'connection') break;
    await new Promise((r) => setTimeout(r, delay));
    result = await validateChallenge(svc.runtime, input, opts);
  }
  return result;
}

export async function runValidation(
  svc: EdgeServices,
  authz: AuthzRow,
  ch: ChallengeRow,
  thumbprint: string,
): Promise<void> {
  const started = Date.now();
  let result: ValidationResult;
  try {
    result = await attempt(svc, authz, ch, thumbprint);
  } catch (e) {
    // validateChallenge never throws; if something below it does, the next read resumes the attempt.
    svc.log({ event: 'validation-error', challengeId: ch.id, error: String(e) });
    return;
  }
  const identifier = { type: authz.identifierType, value: authz.identifierValue };
  const error =
    result.status === 'invalid' ? JSON.stringify({ ...result.problem.toJSON(), identifier }) : undefined;
  const validationRecord = result.validationRecord ? JSON.stringify(result.validationRecord) : undefined;
  await svc.orders.finishChallenge(
    { challengeId: ch.id, authzId: authz.id },
    { status: result.status, ...(error ? { error } : {}), ...(validationRecord ? { validationRecord } : {}) },
    Date.now(),
  );
  svc.log({
    event: 'validation',
    challengeId: ch.id,
    type: ch.type,
    identifier: identifier.value,
    result: result.status,
    ...(result.status === 'invalid' ? { problem: result.problem.kind } : {}),
    ms: Date.now() - started,
  });
}

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
