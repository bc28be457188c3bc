// The edge's client of the on-prem validator (relay protocol in docs/architecture.md): each challenge is
// a fresh POST /v1/validate JWS by the relay key, and only an answer that verifies against the
// PINNED validator key and carries this request's jti settles it. Anything else (unreachable,
// 5xx, a problem document, a forged or replayed answer) is `unavailable`: the challenge stays
// processing and is retried within bounds, and it never turns valid without a signed answer.
import { randomToken } from '../../shared/encoding.ts';
import { AcmeProblem, kindOfType } from '../../shared/problems.ts';
import {
  importRelayPrivateKey,
  importRelayPublicKey,
  RELAY_CONTENT_TYPE,
  type RelayKey,
  signRelay,
  type ValidateAnswer,
  type ValidateRequest,
  verifyRelay,
} from '../../shared/relay.ts';
import { invalid, valid } from './result.ts';
import type { ValidationInput, ValidationResult } from './types.ts';

/** A validator answer is a short JWS; anything longer is not one. */
const MAX_ANSWER_BYTES = 16 * 1024;

export type RemoteOutcome =
  | { status: 'answered'; result: ValidationResult }
  | { status: 'unavailable'; detail: string };

export interface ValidatorClient {
  validate(input: ValidationInput, rid?: string): Promise<RemoteOutcome>;
}

export interface ValidatorClientOptions {
  url: string;
  relayKeyJwk: Record<string, unknown>;
  /** the validator's public answer key, pinned */
  validatorKeyJwk: Record<string, unknown>;
  /** whole call, validation included (the validator's own budget is 5 s by default) */
  timeoutMs: number;
  fetch?: typeof fetch;
}

export async function createValidatorClient(opts: ValidatorClientOptions): Promise<ValidatorClient> {
  const relayKey: RelayKey = await importRelayPrivateKey(opts.relayKeyJwk);
  const answerKey = await importRelayPublicKey(opts.validatorKeyJwk);
  const pinned = new Map([[answerKey.kid, answerKey]]);
  const doFetch = opts.fetch ?? fetch;
  const base = opts.url.replace(/\/+$/, '');

  return {
    async validate(input, rid) {
      const jti = randomToken(18);
      const jws = await signRelay<ValidateRequest>(
        {
          op: 'validate',
          jti,
          challengeType: input.type,
          identifier: input.identifier,
          token: input.token,
          keyAuthorization: input.keyAuthorization,
          ...(rid ? { rid } : {}),
        },
        relayKey,
      );
      let res: Response;
      try {
        res = await doFetch(`${base}/v1/validate`, {
          method: 'POST',
          headers: { 'content-type': RELAY_CONTENT_TYPE },
          body: jws,
          signal: AbortSignal.timeout(opts.timeoutMs),
        });
      } catch (e) {
        return { status: 'unavailable', detail: `validator unreachable at ${base}: ${(e as Error).message}` };
      }
      if (res.status !== 200) {
        const text = await res.text().catch(() => '');
        return {
          status: 'unavailable',
          detail: `validator answered HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ''}`,
        };
      }
      const text = await res.text();
      if (text.length > MAX_ANSWER_BYTES)
        return { status: 'unavailable', detail: 'validator answer too long' };
      return checkAnswer(text.trim(), jti, pinned, input);
    },
  };
}

/** Verifies an answer: pinned key, op, freshness, the jti of the request it answers, its shape. */
export async function checkAnswer(
  jws: string,
  jti: string,
  pinned: ReadonlyMap<string, RelayKey>,
  input: ValidationInput,
): Promise<RemoteOutcome> {
  let answer: ValidateAnswer;
  try {
    ({ payload: answer } = await verifyRelay<ValidateAnswer>(jws, { op: 'validate-answer', keys: pinned }));
  } catch (e) {
    return { status: 'unavailable', detail: `validator answer refused: ${(e as Error).message}` };
  }
  if (answer.jti !== jti) {
    return { status: 'unavailable', detail: 'validator answer refused: it answers another request (jti)' };
  }
  if (answer.status === 'valid') return { status: 'answered', result: valid() };
  if (answer.status !== 'invalid' || typeof answer.error?.detail !== 'string') {
    return { status: 'unavailable', detail: 'validator answer refused: no valid status or problem' };
  }
  const kind = kindOfType(answer.error.type) ?? 'connection';
  const detail = `on-prem validation: ${answer.error.detail.slice(0, 1000)}`;
  return { status: 'answered', result: invalid(new AcmeProblem(kind, detail), input.identifier) };
}
