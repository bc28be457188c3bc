// The edge's side of the relay protocol (docs/architecture.md): each call is a fresh JWS by the relay key.
// Outcomes are classified so finalize can keep an order `processing` while the signer is away
// (unavailable) and fail it cleanly when the signer refuses (refused).
import { AcmeProblem, isProblemDocument } from '../../shared/problems.ts';
import {
  importRelayPrivateKey,
  RELAY_CONTENT_TYPE,
  type RelayKey,
  type RevokeRequest,
  type SignRequest,
  signRelay,
} from '../../shared/relay.ts';

export type SignOutcome =
  | { status: 'issued'; chainPem: string }
  | { status: 'refused'; problem: AcmeProblem }
  | { status: 'unavailable'; detail: string };

export type RevokeOutcome =
  | { status: 'revoked' }
  | { status: 'refused'; problem: AcmeProblem }
  | { status: 'unavailable'; detail: string };

type SignFields = Omit<SignRequest, 'op' | 'jti' | 'iat' | 'exp'>;

export interface SignerClient {
  sign(req: SignFields): Promise<SignOutcome>;
  revoke(serial: string, reason: number, rid?: string): Promise<RevokeOutcome>;
  /** the current CRL (DER) */
  crl(): Promise<Uint8Array>;
  /** whether the signer answers and its HSM session is open (readiness); absent in test doubles */
  health?(): Promise<{ ok: boolean; detail: string }>;
}

export async function createSignerClient(opts: {
  url: string;
  relayKeyJwk: Record<string, unknown>;
  timeoutMs: number;
  fetch?: typeof fetch;
}): Promise<SignerClient> {
  const key: RelayKey = await importRelayPrivateKey(opts.relayKeyJwk);
  const doFetch = opts.fetch ?? fetch;

  async function post(path: string, jws: string): Promise<Response | { error: string }> {
    try {
      return await doFetch(opts.url + path, {
        method: 'POST',
        headers: { 'content-type': RELAY_CONTENT_TYPE },
        body: jws,
        signal: AbortSignal.timeout(opts.timeoutMs),
      });
    } catch (e) {
      return { error: `signer unreachable at ${opts.url}: ${(e as Error).message}` };
    }
  }

  async function refusal(res: Response): Promise<AcmeProblem> {
    const text = await res.text();
    try {
      const doc: unknown = JSON.parse(text);
      if (isProblemDocument(doc)) {
        const p = AcmeProblem.fromDocument(doc);
        // What the signer refused is reported to the client as the signer's reason, never as a 5xx.
        return new AcmeProblem(
          p.kind === 'serverInternal' ? 'unauthorized' : p.kind,
          `the signer refused: ${p.message}`,
          {
            subproblems: p.subproblems,
          },
        );
      }
    } catch {
      // fall through
    }
    return new AcmeProblem('unauthorized', `the signer refused the request (HTTP ${res.status})`);
  }

  return {
    async sign(fields) {
      const jws = await signRelay<SignRequest>({ op: 'sign', ...fields }, key);
      const res = await post('/v1/sign', jws);
      if ('error' in res) return { status: 'unavailable', detail: res.error };
      if (res.status === 200) return { status: 'issued', chainPem: await res.text() };
      if (res.status >= 500 || res.status === 429 || res.status === 408) {
        await res.body?.cancel();
        return { status: 'unavailable', detail: `signer answered HTTP ${res.status}` };
      }
      return { status: 'refused', problem: await refusal(res) };
    },
    async revoke(serial, reason, rid) {
      const jws = await signRelay<RevokeRequest>(
        { op: 'revoke', serial, reason, ...(rid ? { rid } : {}) },
        key,
      );
      const res = await post('/v1/revoke', jws);
      if ('error' in res) return { status: 'unavailable', detail: res.error };
      if (res.status === 200) {
        await res.body?.cancel();
        return { status: 'revoked' };
      }
      if (res.status >= 500) {
        await res.body?.cancel();
        return { status: 'unavailable', detail: `signer answered HTTP ${res.status}` };
      }
      return { status: 'refused', problem: await refusal(res) };
    },
    async health() {
      try {
        const res = await doFetch(`${opts.url}/v1/health`, { signal: AbortSignal.timeout(opts.timeoutMs) });
        const doc = (await res.json().catch(() => ({}))) as { status?: unknown; hsm?: unknown };
        if (res.status === 200 && doc.status === 'ok')
          return { ok: true, detail: 'signer ok, HSM session open' };
        return { ok: false, detail: `signer answered HTTP ${res.status} (hsm: ${String(doc.hsm ?? '?')})` };
      } catch (e) {
        return { ok: false, detail: `signer unreachable at ${opts.url}: ${(e as Error).message}` };
      }
    },
    async crl() {
      const res = await doFetch(`${opts.url}/v1/crl`, { signal: AbortSignal.timeout(opts.timeoutMs) });
      if (res.status !== 200) throw new Error(`signer CRL: HTTP ${res.status}`);
      return new Uint8Array(await res.arrayBuffer());
    },
  };
}
