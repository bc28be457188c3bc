// The edge's client of the on-prem validator (relay protocol in docs/architecture.md): each challenge is
// a fresh POST /v1/validate JWS by the relay key, and only an answer that verifies against the
// PINNED validator key and carries this request's jti settles it. Anything else (unreachable,
// 5xx, a problem document, a forged or replayed answer) is `unavailable`: the challenge stays
// processing and is retried within bounds, and it never turns valid without a signed answer.
// With several validators (EDGECA_VALIDATOR_URL, comma-separated) a call that gets no answer
// from one tries the next, with a fresh jti, and skips the one that failed for a while
// (peers.ts). Each attempt may take the whole call time: a validator's answer comes
// only after the validation itself (its own budget is 5 s), so no shorter connect timeout applies.
import { randomToken, utf8 } from '../../shared/encoding.ts';
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
import { invalid, valid } from '../../validation/result.ts';
import type { ValidationResult } from '../../validation/types.ts';
import type { ValidationInput } from '../../validation/validate.ts';
import { exchange } from './exchange.ts';
import { createPeerPool, type PeerSnapshot } from './peers.ts';

/** A validator answer is a short JWS; anything longer is not one. */
const MAX_ANSWER_BYTES = 16 * 1024;

export type RemoteOutcome =
  | { status: 'answered'; result: ValidationResult }
  | { status: 'unavailable'; detail: string };

export interface ValidatorClient {
  validate(input: ValidationInput, rid?: string): Promise<RemoteOutcome>;
  /** each validator's /v1/health, by index (readiness) */
  health(): Promise<{
    ok: boolean;
    detail: string;
    peers: (PeerSnapshot & { ok: boolean; detail: string })[];
  }>;
  /** each validator's failover state, by index (metrics) */
  peers(): PeerSnapshot[];
}

export interface ValidatorClientOptions {
  /** the validators, in the order they are preferred */
  urls: readonly string[];
  relayKeyJwk: Record<string, unknown>;
  /** the validator's public answer key, pinned */
  validatorKeyJwk: Record<string, unknown>;
  /** one attempt at one validator, its validation included (the validator's own budget is 5 s by default) */
  timeoutMs: number;
  /** how long a failed validator is skipped (default 30 s) */
  retryAfterMs?: number;
  /** budget of one /v1/health probe (default 2 s) */
  healthTimeoutMs?: number;
  fetch?: typeof fetch;
  log?: (e: Record<string, unknown>) => void;
  observe?: (e: { peer: number; outcome: string }) => void;
}

export async function createValidatorClient(opts: ValidatorClientOptions): Promise<ValidatorClient> {
  const relayKey: RelayKey = await importRelayPrivateKey(opts.relayKeyJwk);
  const answerKey = await importRelayPublicKey(opts.validatorKeyJwk);
  const pinned = new Map([[answerKey.kid, answerKey]]);
  const doFetch = opts.fetch ?? fetch;
  const urls = opts.urls.map((u) => u.replace(/\/+$/, ''));
  const pool = createPeerPool({
    service: 'validator',
    urls,
    retryAfterMs: opts.retryAfterMs ?? 30_000,
    ...(opts.log ? { log: opts.log } : {}),
  });

  return {
    async validate(input, rid) {
      const failures: string[] = [];
      for (const peer of pool.order()) {
        const seen = (outcome: string) => opts.observe?.({ peer: peer.index, outcome });
        const jti = randomToken(18);
        const jws = await signRelay<ValidateRequest>(
          {
            op: 'validate',
            jti,
            challengeType: input.type,
            identifier: input.identifier,
            token: input.token,
            keyAuthorization: input.keyAuthorization,
            ...(input.accountUrl ? { accountUrl: input.accountUrl } : {}),
            ...(input.wildcard ? { wildcard: true } : {}),
            ...(input.persist ? { persist: input.persist } : {}),
            ...(rid ? { rid } : {}),
          },
          relayKey,
        );
        const x = await exchange(
          doFetch,
          `${peer.url}/v1/validate`,
          { method: 'POST', headers: { 'content-type': RELAY_CONTENT_TYPE }, body: jws },
          {
            answerTimeoutMs: opts.timeoutMs,
            deadline: Date.now() + opts.timeoutMs,
            maxBytes: MAX_ANSWER_BYTES,
          },
        );
        if (!x.ok) {
          seen(x.timedOut ? 'timeout' : 'unreachable');
          pool.failed(peer, x.reason, x.error);
          failures.push(`validator ${peer.index}: ${x.reason}`);
          continue;
        }
        let text = '';
        try {
          text = utf8.decode(x.body);
        } catch {
          // not UTF-8: refused below as not a JWS
        }
        if (x.status !== 200) {
          seen('http-error');
          pool.failed(peer, `HTTP ${x.status}`);
          failures.push(`validator ${peer.index}: HTTP ${x.status}${text ? `: ${text.slice(0, 200)}` : ''}`);
          continue;
        }
        const out = await checkAnswer(text.trim(), jti, pinned, input);
        if (out.status === 'unavailable') {
          seen('bad-answer');
          opts.log?.({
            event: 'relay-answer-refused',
            service: 'validator',
            peer: peer.index,
            url: peer.url,
            detail: out.detail,
          });
          pool.failed(peer, 'answer not verified', out.detail);
          failures.push(`validator ${peer.index}: ${out.detail}`);
          continue;
        }
        seen('answered');
        pool.succeeded(peer);
        return out;
      }
      return { status: 'unavailable', detail: failures.join('; ') || 'no validator was tried' };
    },
    async health() {
      const budget = opts.healthTimeoutMs ?? 2000;
      const peers = await Promise.all(
        pool.snapshot().map(async (snap) => {
          const x = await exchange(
            doFetch,
            `${urls[snap.index]}/v1/health`,
            {},
            {
              answerTimeoutMs: budget,
              deadline: Date.now() + budget,
              maxBytes: 16 * 1024,
            },
          );
          if (!x.ok) return { ...snap, ok: false, detail: x.reason };
          return { ...snap, ok: x.status === 200, detail: x.status === 200 ? 'ok' : `HTTP ${x.status}` };
        }),
      );
      const ready = peers.filter((p) => p.ok).length;
      return { ok: ready > 0, detail: `${ready} of ${peers.length} validators ready`, peers };
    },
    peers: () => pool.snapshot(),
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
