// The JWS checks of RFC 8555 §6.2–6.5, written once as middleware. Each route declares whether it
// takes a `jwk` (newAccount, revokeCert) or a `kid`; verified values land in `c.var.jws`.
// Order of checks follows Boulder: structure, algorithm, url, key, signature — and only then the
// nonce, so a request that fails earlier does not burn the client's nonce.
import type { MiddlewareHandler } from 'hono';
import { calculateJwkThumbprint, flattenedVerify, importJWK, type JWK } from 'jose';
import { b64uDecode, b64uEncode, utf8 } from '../../shared/encoding.ts';
import { AcmeProblem } from '../../shared/problems.ts';
import type { AppEnv, ProtectedHeader } from '../context.ts';
import type { EdgeServices } from '../services.ts';
import type { AccountRow } from '../storage/schema.ts';
import { checkAccountKeyDigest, inactiveAccountProblem } from './block-keys.ts';

export const JWS_ALGORITHMS = ['ES256', 'ES384', 'RS256', 'EdDSA'] as const;
type JwsAlg = (typeof JWS_ALGORITHMS)[number];

const KEY_CACHE_MAX = 10_000;
const keyCache = new Map<string, CryptoKey | Uint8Array>();

export type KeyMode = 'jwk' | 'kid' | 'either';

export function malformed(detail: string): AcmeProblem {
  return new AcmeProblem('malformed', detail);
}

/** Parses and checks a flattened JWS object (RFC 7515 §7.2.2) as RFC 8555 §6.2 restricts it. */
export function parseFlattenedJws(body: unknown): { protected: string; payload: string; signature: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw malformed('request body must be a flattened JWS JSON object');
  }
  const o = body as Record<string, unknown>;
  if ('signatures' in o) throw malformed('JWS general serialization is not allowed; use the flattened form');
  if ('header' in o) throw malformed('JWS unprotected header is not allowed (RFC 8555 §6.2)');
  for (const k of ['protected', 'payload', 'signature'] as const) {
    if (typeof o[k] !== 'string') throw malformed(`JWS "${k}" must be a string`);
  }
  // RFC 7515 §7.2.1: other members are ignored.
  return o as { protected: string; payload: string; signature: string };
}

function isBase64url(s: string): boolean {
  try {
    b64uDecode(s);
    return true;
  } catch {
    return false;
  }
}

function decodeJson(b64: string, what: string): unknown {
  let text: string;
  try {
    text = utf8.decode(b64uDecode(b64));
  } catch {
    throw malformed(`JWS ${what} is not valid base64url-encoded UTF-8`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw malformed(`JWS ${what} is not valid JSON`);
  }
}

export function parseProtectedHeader(b64: string): ProtectedHeader {
  const h = decodeJson(b64, 'protected header');
  if (typeof h !== 'object' || h === null || Array.isArray(h))
    throw malformed('JWS protected header must be an object');
  const hdr = h as Record<string, unknown>;
  if (typeof hdr.alg !== 'string') throw malformed('JWS protected header has no "alg"');
  if (!(JWS_ALGORITHMS as readonly string[]).includes(hdr.alg)) {
    throw new AcmeProblem('badSignatureAlgorithm', `JWS algorithm "${hdr.alg}" is not supported`, {
      algorithms: [...JWS_ALGORITHMS],
    });
  }
  if ('b64' in hdr || 'crit' in hdr)
    throw malformed('JWS "b64" and "crit" header parameters are not supported');
  if (typeof hdr.url !== 'string') throw malformed('JWS protected header has no "url" (RFC 8555 §6.4)');
  // RFC 8555 §6.5.2: a nonce that is not valid base64url makes the JWS malformed (not badNonce).
  if (hdr.nonce !== undefined && (typeof hdr.nonce !== 'string' || !isBase64url(hdr.nonce)))
    throw malformed('JWS "nonce" must be a base64url string (RFC 8555 §6.5.2)');
  if ('jwk' in hdr === 'kid' in hdr) {
    throw malformed('JWS protected header must contain exactly one of "jwk" and "kid"');
  }
  if ('kid' in hdr && typeof hdr.kid !== 'string') throw malformed('JWS "kid" must be a string');
  if ('jwk' in hdr && (typeof hdr.jwk !== 'object' || hdr.jwk === null || Array.isArray(hdr.jwk))) {
    throw malformed('JWS "jwk" must be a JSON object');
  }
  return hdr as ProtectedHeader;
}

/** Checks an account or certificate public key: RSA ≥ 2048 bits, P-256/P-384, Ed25519; no private part. */
export function checkPublicJwk(jwk: JWK): void {
  if ('d' in jwk || 'p' in jwk || 'q' in jwk || 'k' in jwk)
    throw new AcmeProblem('badPublicKey', 'JWK contains private key material');
  if (jwk.kty === 'RSA') {
    if (typeof jwk.n !== 'string' || typeof jwk.e !== 'string')
      throw new AcmeProblem('badPublicKey', 'RSA JWK needs "n" and "e"');
    let n: Uint8Array;
    try {
      n = b64uDecode(jwk.n);
    } catch {
      throw new AcmeProblem('badPublicKey', 'RSA JWK "n" is not base64url');
    }
    let i = 0;
    while (i < n.length && n[i] === 0) i++;
    const bits = (n.length - i) * 8;
    if (bits < 2048 || bits > 8192)
      throw new AcmeProblem('badPublicKey', `RSA key of ${bits} bits: 2048 to 8192 bits are accepted`);
    return;
  }
  if (jwk.kty === 'EC') {
    if (jwk.crv !== 'P-256' && jwk.crv !== 'P-384')
      throw new AcmeProblem('badPublicKey', `EC curve ${String(jwk.crv)} is not supported (P-256, P-384)`);
    return;
  }
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return;
  throw new AcmeProblem(
    'badPublicKey',
    `key type ${String(jwk.kty)}/${String(jwk.crv ?? '')} is not supported`,
  );
}

function algMatchesKey(alg: JwsAlg, jwk: JWK): boolean {
  switch (alg) {
    case 'ES256':
      return jwk.kty === 'EC' && jwk.crv === 'P-256';
    case 'ES384':
      return jwk.kty === 'EC' && jwk.crv === 'P-384';
    case 'RS256':
      return jwk.kty === 'RSA';
    case 'EdDSA':
      return jwk.kty === 'OKP' && jwk.crv === 'Ed25519';
  }
}

/** Octets of an EC coordinate or an Ed25519 key (RFC 7518 §6.2.1.2, RFC 8037 §2). */
const COORDINATE_OCTETS: Readonly<Record<string, number>> = { 'P-256': 32, 'P-384': 48, Ed25519: 32 };

/** One member's octets, or `badPublicKey` when it is not canonical unpadded base64url. */
function memberOctets(jwk: JWK, name: 'x' | 'y' | 'n' | 'e'): Uint8Array {
  const v = jwk[name];
  if (typeof v !== 'string') throw new AcmeProblem('badPublicKey', `the JWK has no "${name}"`);
  try {
    return b64uDecode(v);
  } catch {
    throw new AcmeProblem(
      'badPublicKey',
      `the JWK "${name}" is not canonical base64url (RFC 7515 §2: no padding, unused bits zero)`,
    );
  }
}

function fixedSize(jwk: JWK, name: 'x' | 'y'): string {
  const octets = memberOctets(jwk, name);
  const want = COORDINATE_OCTETS[String(jwk.crv)];
  if (octets.length !== want) {
    throw new AcmeProblem(
      'badPublicKey',
      `the JWK "${name}" of a ${String(jwk.crv)} key must be ${want} octets (RFC 7518 §6.2.1.2), not ${octets.length}`,
    );
  }
  return b64uEncode(octets);
}

/** An RSA integer in its minimal octets (RFC 7518 §6.3.1.1); leading zeros are the same integer. */
function minimal(jwk: JWK, name: 'n' | 'e'): string {
  const octets = memberOctets(jwk, name);
  let i = 0;
  while (i < octets.length - 1 && octets[i] === 0) i++;
  return b64uEncode(octets.subarray(i));
}

/**
 * The one spelling of a public key that its thumbprint (RFC 7638) is taken from and that is stored.
 * Key import is lenient (stray unused bits, padding, leading zero octets all import as the same key)
 * while a thumbprint hashes the members' text: without this one key would have several thumbprints,
 * and so could hold several accounts. EC and Ed25519 members must already be canonical and of the
 * curve's size, as go-jose (Boulder) requires; an RSA modulus or exponent with leading zero octets is
 * the same integer and is read as such. Checks the key as `checkPublicJwk` does.
 */
export function canonicalPublicJwk(jwk: JWK): JWK {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk))
    throw new AcmeProblem('badPublicKey', 'the JWK must be a JSON object');
  checkPublicJwk(jwk);
  if (jwk.kty === 'EC') return { kty: 'EC', crv: jwk.crv, x: fixedSize(jwk, 'x'), y: fixedSize(jwk, 'y') };
  if (jwk.kty === 'OKP') return { kty: 'OKP', crv: jwk.crv, x: fixedSize(jwk, 'x') };
  return { kty: 'RSA', n: minimal(jwk, 'n'), e: minimal(jwk, 'e') };
}

export function publicJwkOnly(jwk: JWK): JWK {
  const { kty, crv, x, y, n, e } = jwk;
  const out: JWK = { kty };
  if (crv !== undefined) out.crv = crv;
  if (x !== undefined) out.x = x;
  if (y !== undefined) out.y = y;
  if (n !== undefined) out.n = n;
  if (e !== undefined) out.e = e;
  return out;
}

/** Verifies a flattened JWS signature with `jwk`; throws `malformed` when it does not verify. */
export async function verifyJwsSignature(
  jws: { protected: string; payload: string; signature: string },
  alg: JwsAlg,
  jwk: JWK,
  thumbprint: string,
): Promise<void> {
  if (!algMatchesKey(alg, jwk)) {
    throw new AcmeProblem('badSignatureAlgorithm', `JWS algorithm ${alg} does not match the ${jwk.kty} key`, {
      algorithms: [...JWS_ALGORITHMS],
    });
  }
  const cacheKey = `${alg}:${thumbprint}`;
  let key = keyCache.get(cacheKey);
  if (!key) {
    try {
      key = (await importJWK(publicJwkOnly(jwk), alg)) as CryptoKey | Uint8Array;
    } catch {
      throw new AcmeProblem('badPublicKey', 'the JWK could not be imported');
    }
    if (keyCache.size >= KEY_CACHE_MAX) keyCache.clear();
    keyCache.set(cacheKey, key);
  }
  try {
    await flattenedVerify(jws, key, { algorithms: [alg] });
  } catch {
    throw malformed('JWS signature does not verify');
  }
}

/**
 * RFC 7638 thumbprint of the key's canonical form (`canonicalPublicJwk`), so every spelling of one
 * key has one thumbprint. Private members are ignored here; where they matter, `checkPublicJwk`
 * refuses them. Costs a few base64url decodes: only requests that carry a `jwk` compute it (newAccount,
 * revokeCert, keyChange); requests by `kid` use the account's stored thumbprint.
 */
export async function thumbprintOf(jwk: JWK): Promise<string> {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk))
    throw new AcmeProblem('badPublicKey', 'the JWK must be a JSON object');
  const canonical = canonicalPublicJwk(publicJwkOnly(jwk));
  try {
    return await calculateJwkThumbprint(canonical, 'sha256');
  } catch {
    throw new AcmeProblem('badPublicKey', 'the JWK is incomplete');
  }
}

/**
 * The JWS middleware for one route. `postAsGet` requires an empty payload (RFC 8555 §6.3).
 * `cachedAccount` lets a `kid` request use the account as this process read it up to
 * EDGECA_ACCOUNT_CACHE_S ago (edge/storage/account-cache.ts): for the requests of an issuance,
 * whose only step that makes something lasting, finalize, re-checks the account in its own write.
 * Without it the account is read afresh, as the requests that change the account or revoke must.
 */
export function acmeJws(
  mode: KeyMode,
  opts: { postAsGet?: boolean; cachedAccount?: boolean } = {},
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const svc = c.var.svc;
    const ctype = (c.req.header('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
    if (ctype !== 'application/jose+json') {
      throw new AcmeProblem(
        'unsupportedMediaType',
        'Content-Type must be application/jose+json (RFC 8555 §6.2)',
      );
    }
    const raw = await readBody(c.req.raw, svc.config.maxBodyBytes);
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      throw malformed('request body is not valid JSON');
    }
    const jws = parseFlattenedJws(body);
    const hdr = parseProtectedHeader(jws.protected);
    const reqUrl = new URL(c.req.url);
    const expectedUrl = svc.linker.requestUrl(reqUrl.pathname, reqUrl.search);
    if (hdr.url !== expectedUrl) {
      throw new AcmeProblem(
        'unauthorized',
        `JWS "url" ${JSON.stringify(hdr.url)} does not match the request URL ${expectedUrl}`,
      );
    }
    if (mode === 'jwk' && hdr.kid !== undefined)
      throw malformed('this resource requires a "jwk" in the JWS, not a "kid"');
    if (mode === 'kid' && hdr.jwk !== undefined)
      throw malformed('this resource requires a "kid" in the JWS, not a "jwk"');
    let jwk: JWK;
    let account: VerifiedAccount;
    if (hdr.kid !== undefined) {
      const id = svc.linker.accountIdFromKid(hdr.kid);
      const row = id ? await accountById(svc, id, opts.cachedAccount === true) : undefined;
      if (!row) throw new AcmeProblem('accountDoesNotExist', `no account at ${JSON.stringify(hdr.kid)}`);
      // RFC 8555 §7.3.6: a request from a deactivated account MUST get 401 unauthorized (a revoked
      // account is as unusable); other `unauthorized` refusals keep 403.
      if (row.status !== 'valid') throw await inactiveAccountProblem(svc, row);
      // An account from before key digests were kept: its key is checked against the blocked keys
      // once (edge/acme/block-keys.ts).
      if (row.keyDigest === null) await checkAccountKeyDigest(svc, row);
      jwk = JSON.parse(row.jwk) as JWK;
      account = row;
    } else {
      jwk = canonicalPublicJwk(hdr.jwk as JWK);
      account = undefined;
    }
    const thumbprint = account ? account.thumbprint : await thumbprintOf(jwk);
    await verifyJwsSignature(jws, hdr.alg as JwsAlg, jwk, thumbprint);
    if (hdr.nonce === undefined) throw new AcmeProblem('badNonce', 'JWS has no "nonce" (RFC 8555 §6.5)');
    if (!(await svc.nonces.consume(hdr.nonce))) {
      throw new AcmeProblem('badNonce', 'JWS nonce is unknown, expired or already used');
    }
    let payload: unknown = null;
    if (jws.payload !== '') {
      payload = decodeJson(jws.payload, 'payload');
      if (opts.postAsGet)
        throw malformed('this resource is read with POST-as-GET: the payload must be empty (RFC 8555 §6.3)');
      // RFC 8555 §6.3: POST-as-GET is the empty payload, not the JSON text `null`, which no resource
      // takes as a body either. Handlers read `payload === null` as POST-as-GET, so it stops here.
      if (payload === null)
        throw malformed(
          'the payload is the JSON text null: a POST-as-GET request has an empty payload (RFC 8555 §6.3), any other request a JSON object',
        );
    } else if (opts.postAsGet === false) {
      throw malformed('this request needs a JSON payload');
    }
    c.set('jws', {
      protectedHeader: hdr,
      payload,
      jwk: publicJwkOnly(jwk),
      thumbprint,
      ...(account ? { account } : {}),
    });
    await next();
  };
}

type VerifiedAccount = AccountRow | undefined;

/**
 * The account by id: from this process's cache when the route allows it and the entry is fresh,
 * else read, and kept for the next request when it is valid (the cache keeps nothing else).
 */
async function accountById(svc: EdgeServices, id: string, cached: boolean): Promise<AccountRow | undefined> {
  if (cached) {
    const hit = svc.accountCache.get(id);
    if (hit) return hit;
  }
  const mark = svc.accountCache.mark();
  const row = await svc.accounts.get(id);
  if (row) svc.accountCache.put(row, mark);
  return row;
}

async function readBody(req: Request, max: number): Promise<string> {
  const len = Number(req.headers.get('content-length') ?? '0');
  if (len > max) throw new AcmeProblem('payloadTooLarge', `request body is larger than ${max} bytes`);
  if (!req.body) return '';
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > max) {
      await reader.cancel();
      throw new AcmeProblem('payloadTooLarge', `request body is larger than ${max} bytes`);
    }
    chunks.push(value);
  }
  const all = new Uint8Array(total);
  let off = 0;
  for (const ch of chunks) {
    all.set(ch, off);
    off += ch.length;
  }
  try {
    return utf8.decode(all);
  } catch {
    throw malformed('request body is not valid UTF-8');
  }
}
