// The relay protocol between the edge and the signer (and the on-prem validator), described in docs/architecture.md:
// every request is a compact JWS (ES256 or EdDSA) by an edge relay key named by `kid`; the
// payload is a short-lived JWT-like object with a `jti` the receiver remembers to refuse replays.
// `op` binds a JWS to one endpoint so a signed revoke cannot be replayed as a sign, say.
import { CompactSign, compactVerify, importJWK, type CryptoKey as JoseKey, type JWK } from 'jose';
import { randomToken, utf8 } from './encoding.ts';
import type { Identifier } from './problems.ts';
import { AcmeProblem } from './problems.ts';

export const RELAY_ALGS = ['ES256', 'EdDSA'] as const;
export type RelayAlg = (typeof RELAY_ALGS)[number];

/** Longest a relay request may live: receivers refuse an `exp` further out than this. */
export const RELAY_MAX_LIFETIME_S = 300;
/** Clock skew tolerated on `iat` and `exp`. */
export const RELAY_CLOCK_SKEW_S = 30;
export const RELAY_CONTENT_TYPE = 'application/jose';

interface RelayClaims {
  jti: string;
  iat: number;
  exp: number;
  /** Request id for log correlation across edge and signer. */
  rid?: string;
}

export interface SignRequest extends RelayClaims {
  op: 'sign';
  orderId: string;
  accountId: string;
  profile: string;
  /** base64url DER PKCS#10 */
  csr: string;
  identifiers: Identifier[];
  /** RFC 3339 */
  notBefore: string;
  /** RFC 3339 */
  notAfter: string;
  /** ARI certID of the certificate this one replaces (RFC 9773 §5) */
  replaces?: string;
}

export interface RevokeRequest extends RelayClaims {
  op: 'revoke';
  /** lowercase hex serial, no leading zeros stripped (as in the certificate) */
  serial: string;
  /** RFC 5280 §5.3.1 CRLReason */
  reason: number;
}

export type ChallengeType = 'http-01' | 'dns-01' | 'tls-alpn-01';

export interface ValidateRequest extends RelayClaims {
  op: 'validate';
  challengeType: ChallengeType;
  identifier: Identifier;
  token: string;
  keyAuthorization: string;
}

export type RelayRequest = SignRequest | RevokeRequest | ValidateRequest;
export type RelayOp = RelayRequest['op'];

/** The validator's signed answer (also a compact JWS, by the validator key the edge pins). */
export interface ValidateAnswer {
  op: 'validate-answer';
  /** the request's jti, so an answer cannot be replayed for another challenge */
  jti: string;
  iat: number;
  status: 'valid' | 'invalid';
  error?: { type: string; detail: string };
}

export interface RelayKey {
  kid: string;
  alg: RelayAlg;
  key: JoseKey | Uint8Array;
}

export async function importRelayPrivateKey(jwk: JWK & { kid?: string }): Promise<RelayKey> {
  const alg = relayAlgOfJwk(jwk);
  if (!jwk.kid) throw new Error('the relay key JWK needs a "kid"');
  if (!jwk.d) throw new Error('the relay key JWK has no private part ("d")');
  return { kid: jwk.kid, alg, key: await importJWK(jwk, alg) };
}

export async function importRelayPublicKey(jwk: JWK & { kid?: string }): Promise<RelayKey> {
  const alg = relayAlgOfJwk(jwk);
  if (!jwk.kid) throw new Error('a pinned relay public key needs a "kid"');
  const { d: _d, ...pub } = jwk;
  return { kid: jwk.kid, alg, key: await importJWK(pub, alg) };
}

function relayAlgOfJwk(jwk: JWK): RelayAlg {
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256';
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA';
  throw new Error('relay keys are EC P-256 (ES256) or OKP Ed25519 (EdDSA)');
}

type Unsigned<T extends RelayClaims> = Omit<T, 'jti' | 'iat' | 'exp'> & { jti?: string; rid?: string };

/** Signs a relay request with a fresh jti, iat = now and exp = now + lifetime. */
export async function signRelay<T extends RelayRequest | ValidateAnswer>(
  body: T extends RelayRequest ? Unsigned<T> : T,
  key: RelayKey,
  lifetimeS = 60,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const claims =
    (body as { op: string }).op === 'validate-answer'
      ? body
      : { ...body, jti: (body as { jti?: string }).jti ?? randomToken(18), iat: now, exp: now + lifetimeS };
  return new CompactSign(utf8.encode(JSON.stringify(claims)))
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'edgeca-relay+jws' })
    .sign(key.key);
}

export interface VerifyOptions {
  op: RelayOp | 'validate-answer';
  /** pinned public keys by kid */
  keys: ReadonlyMap<string, RelayKey>;
  now?: number;
}

/**
 * Verifies a relay JWS: known kid, allowed alg matching the pinned key, valid signature, the
 * expected `op`, `exp` in the future but at most RELAY_MAX_LIFETIME_S ahead, `iat` not in the
 * future nor older than the maximum lifetime. Replay (jti) is the receiver's job: it must record
 * the jti durably. Throws `unauthorized` (bad key/signature) or `malformed` problems.
 */
export async function verifyRelay<T extends RelayRequest | ValidateAnswer>(
  jws: string,
  opts: VerifyOptions,
): Promise<{ payload: T; kid: string }> {
  if (typeof jws !== 'string' || jws.length > 256 * 1024 || jws.split('.').length !== 3) {
    throw new AcmeProblem('malformed', 'relay request must be a compact JWS');
  }
  let header: { alg?: unknown; kid?: unknown };
  try {
    header = JSON.parse(utf8.decode(b64uDecodeLoose(jws.split('.')[0] ?? '')));
  } catch {
    throw new AcmeProblem('malformed', 'relay JWS protected header is not JSON');
  }
  if (typeof header.kid !== 'string') throw new AcmeProblem('unauthorized', 'relay JWS has no kid');
  const pinned = opts.keys.get(header.kid);
  if (!pinned) throw new AcmeProblem('unauthorized', `relay key "${header.kid}" is not pinned here`);
  if (header.alg !== pinned.alg) {
    throw new AcmeProblem(
      'unauthorized',
      `relay JWS alg ${String(header.alg)} does not match the pinned key`,
    );
  }
  let payloadBytes: Uint8Array;
  try {
    const res = await compactVerify(jws, pinned.key, { algorithms: [pinned.alg] });
    payloadBytes = res.payload;
  } catch {
    throw new AcmeProblem('unauthorized', 'relay JWS signature does not verify');
  }
  let payload: Record<string, unknown>;
  try {
    payload = JSON.parse(utf8.decode(payloadBytes));
  } catch {
    throw new AcmeProblem('malformed', 'relay JWS payload is not JSON');
  }
  if (typeof payload !== 'object' || payload === null || payload.op !== opts.op) {
    throw new AcmeProblem('unauthorized', `relay JWS is not a "${opts.op}" request`);
  }
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  if (typeof payload.iat !== 'number' || typeof payload.jti !== 'string' || payload.jti.length < 8) {
    throw new AcmeProblem('malformed', 'relay JWS needs numeric iat and a jti of at least 8 characters');
  }
  if (payload.iat > now + RELAY_CLOCK_SKEW_S)
    throw new AcmeProblem('unauthorized', 'relay JWS iat is in the future');
  if (payload.iat < now - RELAY_MAX_LIFETIME_S - RELAY_CLOCK_SKEW_S) {
    throw new AcmeProblem('unauthorized', 'relay JWS iat is too old');
  }
  if (opts.op !== 'validate-answer') {
    if (typeof payload.exp !== 'number') throw new AcmeProblem('malformed', 'relay JWS needs a numeric exp');
    if (payload.exp <= now - RELAY_CLOCK_SKEW_S)
      throw new AcmeProblem('unauthorized', 'relay JWS has expired');
    if (payload.exp > now + RELAY_MAX_LIFETIME_S + RELAY_CLOCK_SKEW_S) {
      throw new AcmeProblem('unauthorized', `relay JWS exp is more than ${RELAY_MAX_LIFETIME_S}s ahead`);
    }
  }
  return { payload: payload as unknown as T, kid: header.kid };
}

function b64uDecodeLoose(s: string): Uint8Array {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}
