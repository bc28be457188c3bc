// The one JWS signer of the tests and the benchmark: a flattened JWS (RFC 7515 §7.2.2, the only
// serialization RFC 8555 §6.2 allows) signed with WebCrypto by the key's own algorithm, whatever
// the header says and whatever the key's size, so a hostile-input test can put any `alg` in the
// header, or sign with a 1024-bit RSA key that jose refuses. `tamper` replaces parts after
// signing, for the tests that need a JWS broken in one place.
import type { JWK } from 'jose';
import { b64uEncode } from '../shared/encoding.ts';

export interface FlattenedJws {
  protected: string;
  payload: string;
  signature: string;
}

/** An ACME account key: the private half signs, the public JWK goes into `jwk` headers. */
export interface JwsKey {
  alg: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

const utf8 = new TextEncoder();

/** The WebCrypto parameters that make a JWS signature with `key` (ECDSA's raw r||s is JWS's form). */
function signParams(key: CryptoKey): AlgorithmIdentifier | EcdsaParams {
  const a = key.algorithm as KeyAlgorithm & { namedCurve?: string };
  if (a.name === 'ECDSA') {
    const hash = { 'P-256': 'SHA-256', 'P-384': 'SHA-384', 'P-521': 'SHA-512' }[a.namedCurve ?? ''];
    if (!hash) throw new Error(`no JWS algorithm for the EC curve ${a.namedCurve}`);
    return { name: 'ECDSA', hash };
  }
  return a.name; // RSASSA-PKCS1-v1_5 and HMAC carry their hash in the key; Ed25519 has none
}

/**
 * Signs `header` and `payload` ('' is the empty payload of a POST-as-GET, bytes go as they are,
 * anything else as JSON). `key` is a private CryptoKey, or the bytes of an HMAC-SHA256 key (EAB).
 */
export async function signJws(
  header: Record<string, unknown>,
  payload: unknown,
  key: CryptoKey | Uint8Array,
  tamper: Partial<Record<keyof FlattenedJws, string>> = {},
): Promise<FlattenedJws> {
  const signingKey =
    key instanceof Uint8Array
      ? await crypto.subtle.importKey('raw', key as BufferSource, { name: 'HMAC', hash: 'SHA-256' }, false, [
          'sign',
        ])
      : key;
  const bytes =
    payload === ''
      ? new Uint8Array()
      : payload instanceof Uint8Array
        ? payload
        : utf8.encode(JSON.stringify(payload));
  const prot = b64uEncode(utf8.encode(JSON.stringify(header)));
  const pay = b64uEncode(bytes);
  const sig = await crypto.subtle.sign(signParams(signingKey), signingKey, utf8.encode(`${prot}.${pay}`));
  return { protected: prot, payload: pay, signature: b64uEncode(new Uint8Array(sig)), ...tamper };
}

export interface AcmeJwsOptions {
  key: JwsKey;
  url: string;
  /** omitted from the header when undefined */
  nonce?: string;
  /** the account URL; without it the header carries the key's `jwk` (RFC 8555 §6.2) */
  kid?: string;
  /** the header's alg (default: the key's) */
  alg?: string;
  /** further header members, added last (they may replace the ones above) */
  extraHeader?: Record<string, unknown>;
  tamper?: Partial<Record<keyof FlattenedJws, string>>;
}

/** An ACME request body: the RFC 8555 §6.2 protected header (alg, nonce, url, jwk or kid), signed. */
export function acmeJws(o: AcmeJwsOptions, payload: unknown): Promise<FlattenedJws> {
  const header: Record<string, unknown> = { alg: o.alg ?? o.key.alg, url: o.url };
  if (o.nonce !== undefined) header.nonce = o.nonce;
  if (o.kid === undefined) header.jwk = o.key.jwk;
  else header.kid = o.kid;
  return signJws({ ...header, ...o.extraHeader }, payload, o.key.privateKey, o.tamper);
}
