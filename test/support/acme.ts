// The project's own small ACME test client: every request hand-built, so tests can send exactly
// the bad request they mean (wrong alg, stale nonce, foreign url, ...). Works over any fetch-like
// function: the app's in-process `app.request`, or real HTTPS.
import { exportJWK, generateKeyPair } from 'jose';
import { buildCertId, certIdOf } from '../../edge/acme/ari.ts';
import { acmeJws, type FlattenedJws, type JwsKey, signJws } from '../../harness/acme-jws.ts';
import { b64uDecode } from '../../shared/encoding.ts';

export type FetchLike = (url: string, init?: RequestInit) => Promise<Response>;

export interface AcmeKey extends JwsKey {
  alg: 'ES256' | 'ES384' | 'RS256' | 'EdDSA';
}

export async function newKey(alg: AcmeKey['alg'] = 'ES256'): Promise<AcmeKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}),
  });
  return { alg, privateKey: privateKey as CryptoKey, jwk: await exportJWK(publicKey) };
}

export interface Directory {
  newNonce: string;
  newAccount: string;
  newOrder: string;
  revokeCert: string;
  keyChange: string;
  renewalInfo?: string;
  newAuthz?: string;
  meta?: Record<string, unknown>;
}

export interface RenewalInfo {
  status: number;
  body: Record<string, unknown>;
  /** suggestedWindow in ms since the epoch */
  window?: { start: number; end: number };
  retryAfter?: number;
}

/** The RFC 9773 certID of a certificate (the leaf of a PEM chain). */
export function certIdOfPem(pem: string): string {
  return buildCertId(certIdOf(pem));
}

export interface SignOpts {
  key?: AcmeKey;
  /** send the jwk instead of kid */
  useJwk?: boolean;
  kid?: string | null;
  nonce?: string | null;
  url?: string;
  alg?: string;
  extraHeader?: Record<string, unknown>;
  contentType?: string;
  /** raw payload string (already base64url) */
  rawPayload?: string;
  /** parts of the signed JWS replaced after signing (hostile-input tests) */
  tamper?: Partial<FlattenedJws>;
}

export class TestAcme {
  dir!: Directory;
  kid?: string;
  constructor(
    readonly fetch: FetchLike,
    readonly directoryUrl: string,
    public key: AcmeKey,
  ) {}

  async init(): Promise<this> {
    this.dir = (await (await this.fetch(this.directoryUrl)).json()) as Directory;
    return this;
  }

  async nonce(): Promise<string> {
    const res = await this.fetch(this.dir.newNonce, { method: 'HEAD' });
    const n = res.headers.get('replay-nonce');
    if (!n) throw new Error(`no Replay-Nonce from newNonce (HTTP ${res.status})`);
    return n;
  }

  /** The flattened JWS of a request to `url` (payload '' is POST-as-GET; bytes go as they are). */
  async signed(url: string, payload: unknown, o: SignOpts = {}): Promise<FlattenedJws> {
    const nonce = o.nonce === undefined ? await this.nonce() : o.nonce;
    const kid = o.kid === undefined ? this.kid : o.kid;
    return acmeJws(
      {
        key: o.key ?? this.key,
        url: o.url ?? url,
        ...(nonce !== null ? { nonce } : {}),
        ...(o.useJwk || !kid ? {} : { kid }),
        ...(o.alg ? { alg: o.alg } : {}),
        ...(o.extraHeader ? { extraHeader: o.extraHeader } : {}),
        tamper: { ...(o.rawPayload !== undefined ? { payload: o.rawPayload } : {}), ...o.tamper },
      },
      payload,
    );
  }

  async jws(url: string, payload: unknown, o: SignOpts = {}): Promise<string> {
    return JSON.stringify(await this.signed(url, payload, o));
  }

  /** A signed POST; payload '' is POST-as-GET. */
  async post(url: string, payload: unknown, o: SignOpts = {}): Promise<Response> {
    return this.fetch(url, {
      method: 'POST',
      headers: { 'content-type': o.contentType ?? 'application/jose+json' },
      body: await this.jws(url, payload, o),
    });
  }

  async newAccount(payload: Record<string, unknown> = { termsOfServiceAgreed: true }): Promise<Response> {
    const res = await this.post(this.dir.newAccount, payload, { useJwk: true });
    const loc = res.headers.get('location');
    if (loc && (res.status === 201 || res.status === 200)) this.kid = loc;
    return res;
  }

  /** POST-as-GET `url` until `done` holds for a 200 answer (bounded: `tries` reads, `gapMs` apart). */
  async poll<T extends { status: string }>(
    url: string,
    done: (x: T) => boolean,
    { tries = 150, gapMs = 200 }: { tries?: number; gapMs?: number } = {},
  ): Promise<T> {
    let last: unknown;
    for (let i = 0; i < tries; i++) {
      const res = await this.post(url, '');
      last = await res.json();
      if (res.status === 200 && done(last as T)) return last as T;
      await new Promise((r) => setTimeout(r, gapMs));
    }
    throw new Error(`${url} did not settle within ${tries} polls; last answer ${JSON.stringify(last)}`);
  }

  async thumbprint(): Promise<string> {
    const { calculateJwkThumbprint } = await import('jose');
    return calculateJwkThumbprint(this.key.jwk, 'sha256');
  }

  async keyAuthorization(token: string): Promise<string> {
    return `${token}.${await this.thumbprint()}`;
  }

  /**
   * ARI (RFC 9773 §4): the renewal information of a certificate (PEM chain or certID), as an
   * ARI-aware client reads it: the window, the explanation and when to ask again.
   */
  async renewalInfo(certPemOrId: string): Promise<RenewalInfo> {
    if (!this.dir.renewalInfo) throw new Error('the directory has no renewalInfo');
    const id = certPemOrId.includes('-----BEGIN') ? certIdOfPem(certPemOrId) : certPemOrId;
    const res = await this.fetch(`${this.dir.renewalInfo}/${id}`);
    const body = (await res.json()) as Record<string, unknown>;
    const out: RenewalInfo = { status: res.status, body };
    const ra = res.headers.get('retry-after');
    if (ra !== null) out.retryAfter = Number(ra);
    const w = body.suggestedWindow as { start: string; end: string } | undefined;
    if (w) out.window = { start: Date.parse(w.start), end: Date.parse(w.end) };
    return out;
  }

  /** RFC 9773 §4.2: is it time to renew (the window's end has passed, or a random point in it has)? */
  static shouldRenew(info: RenewalInfo, now = Date.now()): boolean {
    if (!info.window) return false;
    const { start, end } = info.window;
    return end <= now || start + Math.random() * (end - start) <= now;
  }

  /** The inner JWS of a rollover to `next` (RFC 8555 §7.3.5): by the new key over {account, oldKey}. */
  keyChangeInner(next: JwsKey): Promise<FlattenedJws> {
    return acmeJws({ key: next, url: this.dir.keyChange }, { account: this.kid, oldKey: this.key.jwk });
  }

  /** EAB JWS (RFC 8555 §7.3.4) binding this client's key to an EAB kid. */
  async eab(kid: string, hmacKeyB64u: string, url = this.dir.newAccount): Promise<FlattenedJws> {
    return signJws({ alg: 'HS256', kid, url }, this.key.jwk, b64uDecode(hmacKeyB64u));
  }
}
