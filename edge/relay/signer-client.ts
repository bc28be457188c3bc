// The edge's side of the relay protocol (docs/architecture.md): each call is a fresh JWS by the relay
// key, sent to the signers in failover order (peers.ts), and settled only by an answer the signer
// signed (answer.ts). Outcomes are classified so finalize can keep an order `processing` while no
// signer answers (unavailable) and fail it cleanly when a signer refuses (refused).
//
// An attempt moves on to the next signer on a connection error, no answer within the connect
// timeout (a hung signer), a 5xx or 429, or an answer that does not verify. Every attempt carries
// a fresh jti; a signer is idempotent by orderId for signing and by serial for revocation (a
// certificate revoked by an attempt whose answer was lost comes back as a signed alreadyRevoked),
// so trying another signer never issues or revokes twice. The last signer left to try gets the
// rest of the relay budget rather than the connect timeout: with nothing else to fall back on,
// a slow signer is better than none.
import { randomToken } from '../../shared/encoding.ts';
import { AcmeProblem, isProblemDocument } from '../../shared/problems.ts';
import {
  importRelayPrivateKey,
  RELAY_CONTENT_TYPE,
  type RelayAnswer,
  type RelayKey,
  type RevokeRequest,
  type SignRequest,
  signRelay,
} from '../../shared/relay.ts';
import { bodyText, checkSignerAnswer, type ExpectedAnswer, importSignerKeys } from './answer.ts';
import { exchange } from './exchange.ts';
import { createPeerPool, type Peer, type PeerPool, type PeerSnapshot } from './peers.ts';

export type SignOutcome =
  | { status: 'issued'; chainPem: string }
  | { status: 'refused'; problem: AcmeProblem }
  | { status: 'unavailable'; detail: string };

export type RevokeOutcome =
  | { status: 'revoked'; revokedAt?: string }
  | { status: 'refused'; problem: AcmeProblem }
  | { status: 'unavailable'; detail: string };

type SignFields = Omit<SignRequest, 'op' | 'jti' | 'iat' | 'exp'>;

/**
 * When a revocation took effect, for the edge's record: the `revokedAt` of the signer's signed answer,
 * the time its CRL gives, so the edge and the CRL agree. A signed alreadyRevoked carries no time (the
 * signer revoked it in an earlier call whose answer was lost, or by another path); `fallback`, the
 * edge's clock, stands in then.
 */
export function revocationTime(outcome: RevokeOutcome, fallback: number): number {
  if (outcome.status !== 'revoked' || outcome.revokedAt === undefined) return fallback;
  const at = Date.parse(outcome.revokedAt);
  return Number.isNaN(at) ? fallback : at;
}

/** One signer's readiness in /ready: by index, never by URL. */
export interface PeerHealth extends PeerSnapshot {
  ok: boolean;
  detail: string;
}

export interface SignerClient {
  sign(req: SignFields): Promise<SignOutcome>;
  revoke(serial: string, reason: number, rid?: string): Promise<RevokeOutcome>;
  /**
   * the current CRL (DER) of `issuer` (an issuer id), or of the signers' first issuer; an issuer
   * the signer does not know is a notFound AcmeProblem
   */
  crl(issuer?: string): Promise<Uint8Array>;
  /** whether a signer answers with its HSM session open (readiness); absent in test doubles */
  health?(): Promise<{ ok: boolean; detail: string; peers?: PeerHealth[] }>;
  /** each signer's failover state, by index (metrics); absent in test doubles */
  peers?(): PeerSnapshot[];
}

/** What one attempt at one signer ended in, for edgeca_relay_attempts_total. */
export type AttemptOutcome = 'answered' | 'refused' | 'unreachable' | 'timeout' | 'http-error' | 'bad-answer';

export interface SignerClientOptions {
  /** the signers, in the order they are preferred */
  urls: readonly string[];
  relayKeyJwk: Record<string, unknown>;
  /** the signers' public answer keys, pinned (a key set, so keys can roll) */
  answerKeysJwk: readonly Record<string, unknown>[];
  /** the whole call, every attempt included */
  timeoutMs: number;
  /** one attempt, until the signer's answer starts */
  connectTimeoutMs: number;
  /** how long a failed signer is skipped */
  retryAfterMs: number;
  /** fetch for the signers: the runtime's, or one that trusts only the pinned CA */
  fetch?: typeof fetch;
  log?: (e: Record<string, unknown>) => void;
  observe?: (e: { peer: number; op: string; outcome: AttemptOutcome }) => void;
}

/** A signer answer is a PEM chain, a small JSON or a problem document. */
const MAX_ANSWER_BYTES = 256 * 1024;

type Attempt =
  | { final: true; status: number; body: Uint8Array; answer: RelayAnswer }
  | { final: false; reason: string };

export async function createSignerClient(opts: SignerClientOptions): Promise<SignerClient> {
  const key: RelayKey = await importRelayPrivateKey(opts.relayKeyJwk);
  const answerKeys = await importSignerKeys(opts.answerKeysJwk);
  const doFetch = opts.fetch ?? fetch;
  const log = opts.log ?? (() => {});
  const pool: PeerPool = createPeerPool({
    service: 'signer',
    urls: opts.urls,
    retryAfterMs: opts.retryAfterMs,
    log,
  });

  /** One POST to one signer: final (a verified answer) or a reason to try the next. */
  async function post(
    peer: Peer,
    path: string,
    jws: string,
    expected: ExpectedAnswer,
    budget: { answerTimeoutMs: number; deadline: number },
  ): Promise<Attempt> {
    const op = expected.op.replace(/-answer$/, '');
    const seen = (outcome: AttemptOutcome) => opts.observe?.({ peer: peer.index, op, outcome });
    const x = await exchange(
      doFetch,
      peer.url + path,
      { method: 'POST', headers: { 'content-type': RELAY_CONTENT_TYPE }, body: jws },
      { ...budget, maxBytes: MAX_ANSWER_BYTES },
    );
    if (!x.ok) {
      seen(x.timedOut ? 'timeout' : 'unreachable');
      pool.failed(peer, x.reason, x.error);
      return { final: false, reason: x.reason };
    }
    if (x.status >= 500 || x.status === 429 || x.status === 408) {
      seen('http-error');
      // 429 and 408 say "busy now", not "broken": try another without skipping this one.
      if (x.status >= 500) pool.failed(peer, `HTTP ${x.status}`);
      return { final: false, reason: `HTTP ${x.status}` };
    }
    const answer = await checkSignerAnswer(x, expected, answerKeys);
    if (!answer.ok) {
      seen('bad-answer');
      log({
        event: 'relay-answer-refused',
        service: 'signer',
        peer: peer.index,
        url: peer.url,
        op,
        status: x.status,
        detail: answer.detail,
      });
      pool.failed(peer, 'answer not verified', answer.detail);
      return { final: false, reason: `answer not verified (${answer.detail})` };
    }
    seen(x.status === 200 ? 'answered' : 'refused');
    pool.succeeded(peer);
    return { final: true, status: x.status, body: x.body, answer: answer.answer };
  }

  /** Tries the signers in failover order until one gives a verified answer. */
  async function relay(
    path: string,
    makeJws: (jti: string) => Promise<string>,
    expect: (jti: string) => ExpectedAnswer,
  ): Promise<Extract<Attempt, { final: true }> | { final: false; detail: string }> {
    if (answerKeys.size === 0)
      return { final: false, detail: 'no signer answer key is pinned (EDGECA_SIGNER_KEY)' };
    const deadline = Date.now() + opts.timeoutMs;
    const order = pool.order();
    const failures: string[] = [];
    // A connection closed without an answer is what a kept-alive connection to a signer that has
    // just restarted gives: the last signer left is asked once more, on a new connection and with
    // a fresh jti. Safe because signing and revoking are idempotent at the signer (per order, per
    // serial); a failover to another signer relies on the same.
    let resetRetry = true;
    for (let i = 0; i < order.length; i++) {
      const peer = order[i] as Peer;
      const left = deadline - Date.now();
      if (left <= 0) break;
      const last = i === order.length - 1;
      const jti = randomToken(18);
      const got = await post(peer, path, await makeJws(jti), expect(jti), {
        answerTimeoutMs: last ? left : Math.min(opts.connectTimeoutMs, left),
        deadline,
      });
      if (got.final) return got;
      failures.push(`signer ${peer.index}: ${got.reason}`);
      if (last && resetRetry && got.reason === 'connection reset') {
        resetRetry = false;
        i--;
      }
    }
    return { final: false, detail: failures.join('; ') || 'no signer was tried within the relay timeout' };
  }

  function refusal(status: number, body: Uint8Array): AcmeProblem {
    try {
      const doc: unknown = JSON.parse(bodyText(body));
      if (isProblemDocument(doc)) {
        const p = AcmeProblem.fromDocument(doc);
        // What the signer refused is reported to the client as the signer's reason, never as a 5xx.
        return new AcmeProblem(
          p.kind === 'serverInternal' ? 'unauthorized' : p.kind,
          `the signer refused: ${p.message}`,
          { subproblems: p.subproblems },
        );
      }
    } catch {
      // fall through
    }
    return new AcmeProblem('unauthorized', `the signer refused the request (HTTP ${status})`);
  }

  return {
    async sign(fields) {
      const got = await relay(
        '/v1/sign',
        (jti) => signRelay<SignRequest>({ op: 'sign', ...fields, jti }, key),
        (jti) => ({ op: 'sign-answer', jti, orderId: fields.orderId }),
      );
      if (!got.final) return { status: 'unavailable', detail: got.detail };
      if (got.status === 200) return { status: 'issued', chainPem: bodyText(got.body) };
      // A signed 4xx is the signer's refusal, and final: it is NOT tried at another signer. Every
      // signer applies the same ceiling to the same request, and taking a refused request from
      // signer to signer until one says yes is what a compromised edge would do.
      return { status: 'refused', problem: refusal(got.status, got.body) };
    },
    async revoke(serial, reason, rid) {
      const got = await relay(
        '/v1/revoke',
        (jti) =>
          signRelay<RevokeRequest>({ op: 'revoke', serial, reason, jti, ...(rid ? { rid } : {}) }, key),
        (jti) => ({ op: 'revoke-answer', jti, serial }),
      );
      if (!got.final) return { status: 'unavailable', detail: got.detail };
      if (got.status === 200) {
        const at = got.answer.revokedAt;
        return { status: 'revoked', ...(at ? { revokedAt: at } : {}) };
      }
      // Final, as for sign; alreadyRevoked (signed) tells the caller the revocation stands.
      return { status: 'refused', problem: refusal(got.status, got.body) };
    },
    async health() {
      const checks = await Promise.all(
        pool.snapshot().map(async (snap): Promise<PeerHealth> => {
          const peer = { index: snap.index, url: opts.urls[snap.index] as string };
          const x = await exchange(
            doFetch,
            `${peer.url}/v1/health`,
            {},
            {
              answerTimeoutMs: opts.connectTimeoutMs,
              deadline: Date.now() + opts.connectTimeoutMs,
              maxBytes: 16 * 1024,
            },
          );
          if (!x.ok) return { ...snap, ok: false, detail: x.reason };
          let doc: { status?: unknown; hsm?: unknown } = {};
          try {
            doc = JSON.parse(bodyText(x.body));
          } catch {
            // not JSON: reported by its status below
          }
          if (x.status === 200 && doc.status === 'ok')
            return { ...snap, ok: true, detail: 'ok, HSM session open' };
          return {
            ...snap,
            ok: false,
            detail: `HTTP ${x.status} (hsm: ${String(doc.hsm ?? '?').slice(0, 40)})`,
          };
        }),
      );
      const ready = checks.filter((c) => c.ok).length;
      return {
        ok: ready > 0,
        detail:
          checks.length === 1
            ? `signer 0: ${checks[0]?.detail}`
            : `${ready} of ${checks.length} signers ready`,
        peers: checks,
      };
    },
    peers: () => pool.snapshot(),
    async crl(issuer) {
      const query = issuer ? `?issuer=${encodeURIComponent(issuer)}` : '';
      const deadline = Date.now() + opts.timeoutMs;
      const order = pool.order();
      const failures: string[] = [];
      for (const [i, peer] of order.entries()) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        const x = await exchange(
          doFetch,
          `${peer.url}/v1/crl${query}`,
          {},
          {
            answerTimeoutMs: i === order.length - 1 ? left : Math.min(opts.connectTimeoutMs, left),
            deadline,
            maxBytes: 64 * 1024 * 1024,
          },
        );
        if (x.ok && x.status === 200) {
          pool.succeeded(peer);
          return x.body;
        }
        if (x.ok && x.status === 404 && issuer) {
          // The signers share one store: an issuer one does not know (after reading the store
          // again), none does. The caller's mistake, not an outage.
          pool.succeeded(peer);
          let doc: unknown;
          try {
            doc = JSON.parse(new TextDecoder().decode(x.body));
          } catch {
            doc = undefined;
          }
          throw new AcmeProblem(
            'notFound',
            isProblemDocument(doc) ? doc.detail : `the signer knows no issuer ${issuer}`,
          );
        }
        const reason = x.ok ? `HTTP ${x.status}` : x.reason;
        if (!x.ok || x.status >= 500) pool.failed(peer, reason, x.ok ? undefined : x.error);
        failures.push(`signer ${peer.index}: ${reason}`);
      }
      throw new Error(`signer CRL: ${failures.join('; ') || 'no signer was tried'}`);
    },
  };
}
