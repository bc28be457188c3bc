// The relay protocol between the edge and the signer (and the on-prem validator), described in docs/architecture.md:
// every request is a compact JWS (ES256 or EdDSA) by an edge relay key named by `kid`; the
// payload is a short-lived JWT-like object with a `jti` the receiver remembers to refuse replays.
// `op` binds a JWS to one endpoint so a signed revoke cannot be replayed as a sign, say.
// The signer's answers to sign and revoke are signed too (RelayAnswer): a JWS by the signer's
// answer key, in the RELAY_ANSWER_HEADER header beside the unchanged body, binding the request
// (jti, op, orderId or serial) and the answer (HTTP status, body hash), so the edge can tell a
// signer's answer from a forged one or from one replayed for another request.
import { CompactSign, compactVerify, importJWK, type CryptoKey as JoseKey, type JWK } from 'jose';
import { b64uEncode, randomToken, sha256, utf8 } from './encoding.ts';
import type { Identifier } from './problems.ts';
import { AcmeProblem } from './problems.ts';

export const RELAY_ALGS = ['ES256', 'EdDSA'] as const;
export type RelayAlg = (typeof RELAY_ALGS)[number];

/** Longest a relay request may live: receivers refuse an `exp` further out than this. */
export const RELAY_MAX_LIFETIME_S = 300;
/** Clock skew tolerated on `iat` and `exp`. */
export const RELAY_CLOCK_SKEW_S = 30;
export const RELAY_CONTENT_TYPE = 'application/jose';

/**
 * The relay protocol version, `v` in every request and signed answer. 1 (no `v`): unsigned
 * answers; 2: the signer signs its sign and revoke answers. A receiver refuses a version it does
 * not know, so a later change can be told apart instead of misread (docs/architecture.md).
 */
export const RELAY_VERSION = 2;
/** Request versions a signer serves: 1 from an edge not yet upgraded (it ignores the answer header). */
export const RELAY_VERSIONS_SERVED: ReadonlySet<number> = new Set([1, 2]);
/** Response header holding the signer's signed answer (compact JWS, RelayAnswer). */
export const RELAY_ANSWER_HEADER = 'Edgeca-Relay-Answer';

interface RelayClaims {
  /** protocol version; absent means 1 */
  v?: number;
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

export interface ValidateRequest extends RelayClaims {
  op: 'validate';
  /** a type of validation/registry.ts; the validator refuses any other (`malformed`) */
  challengeType: string;
  identifier: Identifier;
  token: string;
  keyAuthorization: string;
  /** dns-account-01, dns-persist-01: the account URL as the edge sends it in `Location` */
  accountUrl?: string;
  /** the authorization is for "*." + identifier (dns-persist-01 needs policy=wildcard then) */
  wildcard?: boolean;
  /** dns-persist-01: the CA's issuer domain names and hashed-URI prefix, from the edge's settings */
  persist?: { issuerDomainNames: string[]; accountHashPrefix: string; acceptAccountUrl?: boolean };
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

/**
 * The signer's signed answer to a sign or revoke request. It names the request it answers (jti,
 * and orderId or serial) and the answer itself (HTTP status and the SHA-256 of the body: the PEM
 * chain, the revocation JSON, or the problem document), so it cannot be replayed for another
 * request nor pasted onto another body.
 */
export interface RelayAnswer {
  v: number;
  op: 'sign-answer' | 'revoke-answer';
  /** the jti of the request answered */
  jti: string;
  iat: number;
  /** the HTTP status of the response */
  status: number;
  /** base64url SHA-256 of the response body bytes */
  bodySha256: string;
  /** sign: the order of the request */
  orderId?: string;
  /** revoke: the serial of the request; sign (200): the serial of the certificate issued */
  serial?: string;
  /** revoke (200): when the signer recorded the revocation, RFC 3339 */
  revokedAt?: string;
  /** revoke (200): the CRL number that lists it (absent when re-signing the CRL failed) */
  crlNumber?: string;
}

export type AnswerOp = RelayAnswer['op'];

/** The body hash a RelayAnswer carries. */
export async function answerBodyHash(body: Uint8Array): Promise<string> {
  return b64uEncode(await sha256(body));
}

/**
 * A runtime's own signature primitive for relay JWSs (the signer passes node:crypto's, which signs
 * and verifies synchronously where WebCrypto queues a job per call). Signatures are the JWS ones
 * (RFC 7518 §3.4: ES256 is r||s, 64 octets; RFC 8037: EdDSA is the raw Ed25519 signature).
 */
export interface RelayCrypto {
  /** true when `signature` is the pinned key's signature over `signingInput` */
  verify(key: RelayKey, signingInput: Uint8Array, signature: Uint8Array): boolean;
  /** the signature over `signingInput` by the private key */
  sign(key: RelayKey, signingInput: Uint8Array): Uint8Array;
}

/** Signs an answer (compact JWS by the signer's answer key); with `crypto`, by that primitive. */
export async function signAnswer(
  answer: Omit<RelayAnswer, 'v' | 'iat'>,
  key: RelayKey,
  crypto?: RelayCrypto,
): Promise<string> {
  const claims: RelayAnswer = { v: RELAY_VERSION, ...answer, iat: Math.floor(Date.now() / 1000) };
  const header = { alg: key.alg, kid: key.kid, typ: 'edgeca-relay-answer+jws' };
  const payload = utf8.encode(JSON.stringify(claims));
  if (!crypto) return new CompactSign(payload).setProtectedHeader(header).sign(key.key);
  // RFC 7515 §7.1: BASE64URL(header) '.' BASE64URL(payload) '.' BASE64URL(signature).
  const input = `${b64uEncode(utf8.encode(JSON.stringify(header)))}.${b64uEncode(payload)}`;
  return `${input}.${b64uEncode(crypto.sign(key, utf8.encode(input)))}`;
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
      : {
          v: RELAY_VERSION,
          ...body,
          jti: (body as { jti?: string }).jti ?? randomToken(18),
          iat: now,
          exp: now + lifetimeS,
        };
  return new CompactSign(utf8.encode(JSON.stringify(claims)))
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'edgeca-relay+jws' })
    .sign(key.key);
}

export interface VerifyOptions {
  op: RelayOp | 'validate-answer' | AnswerOp;
  /** pinned public keys by kid */
  keys: ReadonlyMap<string, RelayKey>;
  now?: number;
  /** checks the signature with this primitive instead of jose's (WebCrypto) */
  crypto?: RelayCrypto;
}

/**
 * Verifies a relay JWS: known kid, allowed alg matching the pinned key, valid signature, the
 * expected `op`, `exp` in the future but at most RELAY_MAX_LIFETIME_S ahead, `iat` not in the
 * future nor older than the maximum lifetime. Replay (jti) is the receiver's job: it must record
 * the jti durably. Throws `unauthorized` (bad key/signature) or `malformed` problems.
 */
export async function verifyRelay<T extends RelayRequest | ValidateAnswer | RelayAnswer>(
  jws: string,
  opts: VerifyOptions,
): Promise<{ payload: T; kid: string }> {
  if (typeof jws !== 'string' || jws.length > 256 * 1024 || jws.split('.').length !== 3) {
    throw new AcmeProblem('malformed', 'relay request must be a compact JWS');
  }
  let header: { alg?: unknown; kid?: unknown; [k: string]: unknown };
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
    payloadBytes = opts.crypto
      ? verifiedPayload(jws, header, pinned, opts.crypto)
      : (await compactVerify(jws, pinned.key, { algorithms: [pinned.alg] })).payload;
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
  // Answers carry no exp: the jti of the request they answer bounds their use to that request.
  if (!opts.op.endsWith('-answer')) {
    if (typeof payload.exp !== 'number') throw new AcmeProblem('malformed', 'relay JWS needs a numeric exp');
    if (payload.exp <= now - RELAY_CLOCK_SKEW_S)
      throw new AcmeProblem('unauthorized', 'relay JWS has expired');
    if (payload.exp > now + RELAY_MAX_LIFETIME_S + RELAY_CLOCK_SKEW_S) {
      throw new AcmeProblem('unauthorized', `relay JWS exp is more than ${RELAY_MAX_LIFETIME_S}s ahead`);
    }
  }
  return { payload: payload as unknown as T, kid: header.kid };
}

const B64U = /^[A-Za-z0-9_-]*$/;

/**
 * The payload of a compact JWS whose signature `crypto` verifies with the pinned key; throws
 * otherwise. Refuses what jose would refuse of a relay JWS: a `crit` or `b64` header parameter
 * (RFC 7515 §4.1.11, RFC 7797: no extension is understood here) and parts that are not base64url.
 */
function verifiedPayload(
  jws: string,
  header: Record<string, unknown>,
  pinned: RelayKey,
  crypto: RelayCrypto,
): Uint8Array {
  if (header.crit !== undefined || header.b64 !== undefined) throw new Error('unsupported header');
  const [h = '', p = '', sig = ''] = jws.split('.');
  if (!B64U.test(h) || !B64U.test(p) || !B64U.test(sig)) throw new Error('not base64url');
  if (!crypto.verify(pinned, utf8.encode(`${h}.${p}`), b64uDecodeLoose(sig)))
    throw new Error('bad signature');
  return b64uDecodeLoose(p);
}

function b64uDecodeLoose(s: string): Uint8Array {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}
