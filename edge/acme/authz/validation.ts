// Asynchronous challenge validation (RFC 8555 §7.5.1): responding to a challenge moves it to
// processing and returns at once (challenge.ts); the attempt runs here in the background (waitUntil
// on Workers), with a bounded retry for connection failures, and finishes by moving the challenge
// and its authorization to valid or invalid. A processing challenge whose attempt was lost (process
// or isolate gone) is claimed again by the next read (challenge.ts), so an order never stalls.
// Each challenge is validated where its route says (relay/validation-routes.ts): here, by the
// on-prem validator (relay/validator-client.ts), or both, which must agree. Without a signed
// answer from the validator the challenge stays processing and is retried, up to
// VALIDATOR_GIVE_UP_MS.
import { AcmeProblem } from '../../../shared/problems.ts';
import { invalid } from '../../../validation/result.ts';
import type { ValidationResult } from '../../../validation/types.ts';
import type { ValidationInput } from '../../../validation/validate.ts';
import { keyAuthorization, validateChallenge, validationOptions } from '../../../validation/validate.ts';
import { recordCondition } from '../../events/outbox.ts';
import { routeFor, routingContext } from '../../relay/validation-routes.ts';
import type { EdgeServices } from '../../services.ts';
import type { AuthzRow, ChallengeRow } from '../../storage/schema.ts';
import { persistIssuer } from '../challenge-offer.ts';

const RETRY_DELAYS_MS = [1000];
/** Retries of an unreachable validator within one attempt, before leaving the challenge processing. */
const VALIDATOR_RETRY_DELAYS_MS = [1000, 3000];
/** Past this age of the authorization, a validator still unreachable fails the challenge (`connection`). */
export const VALIDATOR_GIVE_UP_MS = 10 * 60_000;
/** A processing challenge older than this with no result is considered abandoned. */
export const STALE_ATTEMPT_MS = 30_000;

type Unavailable = { status: 'unavailable'; detail: string };
type AttemptResult = ValidationResult | Unavailable;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function atEdge(svc: EdgeServices, input: ValidationInput): Promise<ValidationResult> {
  const opts = validationOptions({
    http01Port: svc.config.http01Port,
    tlsAlpnPort: svc.config.tlsAlpnPort,
    addressPolicy: { allowLoopback: svc.config.allowLoopback, allowPrivate: true, allowLinkLocal: false },
  });
  let result = await validateChallenge(svc.runtime, input, opts);
  for (const delay of RETRY_DELAYS_MS) {
    if (result.status === 'valid' || result.problem.kind !== 'connection') break;
    await sleep(delay);
    result = await validateChallenge(svc.runtime, input, opts);
  }
  return result;
}

async function onPrem(svc: EdgeServices, input: ValidationInput, rid: string): Promise<AttemptResult> {
  const client = await svc.validator();
  let out = await client.validate(input, rid);
  for (const delay of VALIDATOR_RETRY_DELAYS_MS) {
    if (out.status === 'answered') break;
    svc.log({ event: 'validator-unavailable', challengeId: rid, detail: out.detail });
    await sleep(delay);
    out = await client.validate(input, rid);
  }
  return out.status === 'answered' ? out.result : out;
}

/** Both perspectives must say valid; the first one that does not names the problem. */
function agree(edge: ValidationResult, prem: AttemptResult, input: ValidationInput): AttemptResult {
  if (prem.status === 'unavailable') return prem;
  if (prem.status === 'invalid') return prem;
  if (edge.status === 'valid') return edge;
  const p = edge.problem;
  return invalid(
    new AcmeProblem(p.kind, `validated on-prem but not from the edge (both must agree): ${p.message}`),
    input.identifier,
    edge.validationRecord,
  );
}

async function attempt(
  svc: EdgeServices,
  authz: AuthzRow,
  ch: ChallengeRow,
  thumbprint: string,
): Promise<AttemptResult> {
  const input: ValidationInput = {
    type: ch.type,
    identifier: { type: authz.identifierType, value: authz.identifierValue },
    token: ch.token,
    keyAuthorization: keyAuthorization(ch.token, thumbprint),
    accountUrl: svc.linker.account(authz.accountId),
    ...(authz.wildcard ? { wildcard: true } : {}),
  };
  if (ch.type === 'dns-persist-01') {
    const persist = persistIssuer(svc.config, svc.linker);
    if (persist) input.persist = persist;
  }
  const route = routeFor(
    input.identifier,
    ch.type,
    svc.config.validationRoutes,
    routingContext(svc.runtime, svc.config),
  );
  if (route === 'edge') return atEdge(svc, input);
  if (route === 'onprem') return onPrem(svc, input, ch.id);
  const [edge, prem] = await Promise.all([atEdge(svc, input), onPrem(svc, input, ch.id)]);
  return agree(edge, prem, input);
}

export async function runValidation(
  svc: EdgeServices,
  authz: AuthzRow,
  ch: ChallengeRow,
  thumbprint: string,
): Promise<void> {
  const started = Date.now();
  let attempted: AttemptResult;
  try {
    attempted = await attempt(svc, authz, ch, thumbprint);
  } catch (e) {
    // validateChallenge never throws; if something below it does, the next read resumes the attempt.
    svc.log({ event: 'validation-error', challengeId: ch.id, error: String(e) });
    return;
  }
  const identifier = { type: authz.identifierType, value: authz.identifierValue };
  let result: ValidationResult;
  if (attempted.status === 'unavailable') {
    await recordCondition(svc, 'validator.unreachable', 'validator', {
      challengeId: ch.id,
      detail: attempted.detail,
    });
    if (Date.now() - authz.createdAt < VALIDATOR_GIVE_UP_MS) {
      // No signed answer: the challenge stays processing; the next read after STALE_ATTEMPT_MS retries.
      svc.log({ event: 'validation-deferred', challengeId: ch.id, detail: attempted.detail });
      return;
    }
    result = invalid(
      new AcmeProblem(
        'connection',
        `the on-prem validator gave no signed answer for ${Math.round(VALIDATOR_GIVE_UP_MS / 60_000)} minutes`,
      ),
      identifier,
    );
  } else {
    result = attempted;
  }
  const error =
    result.status === 'invalid' ? JSON.stringify({ ...result.problem.toJSON(), identifier }) : undefined;
  const validationRecord = result.validationRecord ? JSON.stringify(result.validationRecord) : undefined;
  const finished = await svc.orders.finishChallenge(
    { challengeId: ch.id, authzId: authz.id },
    { status: result.status, ...(error ? { error } : {}), ...(validationRecord ? { validationRecord } : {}) },
    Date.now(),
  );
  if (finished) svc.metrics.validations.inc({ type: ch.type, result: result.status });
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
