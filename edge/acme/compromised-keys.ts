// Keys reported compromised, and the checks that keep them out. A key is named by the SHA-256 of
// its DER SubjectPublicKeyInfo, brought to one encoding first (WebCrypto's export: named curve,
// uncompressed EC point, rsaEncryption with NULL parameters), so the same key is recognised whether
// it arrives as a JWK (newAccount, keyChange) or inside a CSR or certificate.
//
// RFC 8555 §6.7 names the problems: badPublicKey for a JWS key the server does not accept (account
// keys), badCSR for a CSR the server does not accept "e.g., due to a short key" — and §7.4 asks
// finalize to answer badCSR when the CA is unwilling to issue for the CSR. So a blocked key is
// badPublicKey at newAccount and keyChange, and badCSR at finalize.
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import type { JWK } from 'jose';
import { parseCsr } from '../../shared/csr.ts';
import { OID, spkiParts } from '../../shared/der.ts';
import { b64uDecode, b64uEncode, pemToDers, sha256 } from '../../shared/encoding.ts';
import { AcmeProblem } from '../../shared/problems.ts';
import type { EdgeServices } from '../services.ts';
import { type BlockedKeyRow, type BlockedKeyStore, createBlockedKeyStore } from '../storage/blocked-keys.ts';

/** RFC 5280 §5.3.1 CRLReason keyCompromise. */
export const KEY_COMPROMISE = 1;

const CURVE_NAMES: Record<string, string> = {
  [OID.p256]: 'P-256',
  [OID.p384]: 'P-384',
  [OID.p521]: 'P-521',
};

/** The WebCrypto import parameters of an SPKI's algorithm (only to re-encode it), or undefined. */
function importAlgorithm(
  spki: Uint8Array,
): RsaHashedImportParams | EcKeyImportParams | Algorithm | undefined {
  let p: ReturnType<typeof spkiParts>;
  try {
    p = spkiParts(spki);
  } catch {
    return undefined;
  }
  if (p.algorithm === OID.rsaEncryption) return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  if (p.algorithm === OID.ecPublicKey) {
    const namedCurve = p.curve ? CURVE_NAMES[p.curve] : undefined;
    return namedCurve ? { name: 'ECDSA', namedCurve } : undefined;
  }
  if (p.algorithm === OID.ed25519) return { name: 'Ed25519' };
  return undefined;
}

/**
 * base64url SHA-256 of the SPKI in WebCrypto's encoding. A key WebCrypto cannot import on this
 * runtime is hashed as given (the encoding every common tool writes anyway).
 */
export async function spkiDigest(spki: Uint8Array): Promise<string> {
  const alg = importAlgorithm(spki);
  let canonical = spki;
  if (alg) {
    try {
      const key = await crypto.subtle.importKey('spki', spki as BufferSource, alg, true, ['verify']);
      canonical = new Uint8Array(await crypto.subtle.exportKey('spki', key));
    } catch {
      // not importable here: hash the bytes as they came
    }
  }
  return b64uEncode(await sha256(canonical));
}

/** The digest of a public JWK (RSA, EC or Ed25519), or undefined when WebCrypto cannot import it. */
export async function jwkDigest(jwk: JWK): Promise<string | undefined> {
  const alg =
    jwk.kty === 'RSA'
      ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }
      : jwk.kty === 'EC'
        ? { name: 'ECDSA', namedCurve: String(jwk.crv) }
        : jwk.kty === 'OKP' && jwk.crv === 'Ed25519'
          ? { name: 'Ed25519' }
          : undefined;
  if (!alg) return undefined;
  // Only the public members: "alg", "use" or "key_ops" of another algorithm must not stop the import.
  const pub: JsonWebKey = { kty: jwk.kty, ext: true };
  for (const k of ['crv', 'x', 'y', 'n', 'e'] as const) if (typeof jwk[k] === 'string') pub[k] = jwk[k];
  try {
    const key = await crypto.subtle.importKey('jwk', pub, alg, true, ['verify']);
    return b64uEncode(await sha256(new Uint8Array(await crypto.subtle.exportKey('spki', key))));
  } catch {
    return undefined;
  }
}

/** The SPKI DER of a certificate (the leaf of a PEM chain, or DER). */
export function certificateSpki(chainPemOrDer: string | Uint8Array): Uint8Array {
  const der = typeof chainPemOrDer === 'string' ? pemToDers(chainPemOrDer)[0] : chainPemOrDer;
  if (!der) throw new Error('no certificate');
  const tbs = AsnConvert.parse(der, Certificate).tbsCertificate;
  return new Uint8Array(AsnConvert.serialize(tbs.subjectPublicKeyInfo));
}

/**
 * An SPKI SHA-256 as an admin may write it: 64 hex digits (colons allowed; what `openssl pkey
 * -pubin -outform DER | openssl dgst -sha256` prints) or 43 base64url characters. Undefined otherwise.
 */
export function parseKeyDigest(text: string): string | undefined {
  const hex = text.trim().replace(/:/g, '');
  if (/^[0-9a-fA-F]{64}$/.test(hex)) {
    const bytes = new Uint8Array(32);
    for (let i = 0; i < 32; i++) bytes[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
    return b64uEncode(bytes);
  }
  if (/^[A-Za-z0-9_-]{43}$/.test(text.trim())) {
    const b = b64uDecode(text.trim());
    return b.length === 32 ? b64uEncode(b) : undefined;
  }
  return undefined;
}

/** The digest in hex, for operators who compare it with openssl's output. */
export function digestHex(b64u: string): string {
  return [...b64uDecode(b64u)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * The key in a PEM an admin pasted: PUBLIC KEY (SPKI), CERTIFICATE (its leaf's key) or CERTIFICATE
 * REQUEST. Throws an Error whose message says what was wrong; a private key is refused unread.
 */
export async function spkiOfPem(pem: string): Promise<Uint8Array> {
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem))
    throw new Error('that is a private key; give the public key, the certificate or the CSR instead');
  const label = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(pem)?.[1];
  const der = label ? pemToDers(pem, label)[0] : undefined;
  if (!label || !der) throw new Error('no PEM block found (PUBLIC KEY, CERTIFICATE or CERTIFICATE REQUEST)');
  try {
    if (label === 'PUBLIC KEY') {
      spkiParts(der);
      return der;
    }
    if (label === 'CERTIFICATE') return certificateSpki(der);
    if (label === 'CERTIFICATE REQUEST' || label === 'NEW CERTIFICATE REQUEST')
      return (await parseCsr(der)).spki;
  } catch {
    throw new Error(`the ${label} block does not parse`);
  }
  throw new Error(
    `a ${label} block holds no public key this understands; give PUBLIC KEY, CERTIFICATE or CERTIFICATE REQUEST`,
  );
}

export const blockedKeyStore = (svc: EdgeServices): BlockedKeyStore => createBlockedKeyStore(svc.database.db);

/** "reported compromised on …", for problem details. */
export function reported(row: BlockedKeyRow): string {
  const when = new Date(row.createdAt).toISOString();
  return row.serial
    ? `reported compromised on ${when} (certificate ${row.serial} revoked with reason keyCompromise)`
    : `reported compromised on ${when}`;
}

/**
 * newAccount and keyChange (RFC 8555 §7.3, §7.3.5): a blocked key is badPublicKey (§6.7). Returns
 * the key's digest as accounts.key_digest keeps it ('' when there is none).
 */
export async function refuseBlockedAccountKey(svc: EdgeServices, jwk: JWK): Promise<string> {
  const digest = await jwkDigest(jwk);
  if (digest === undefined) return '';
  const row = await blockedKeyStore(svc).get(digest);
  if (row)
    throw new AcmeProblem(
      'badPublicKey',
      `this key cannot be used as an account key: it was ${reported(row)}; generate a new key`,
    );
  return digest;
}

/** The block row for the key of a certificate revoked with reason keyCompromise. */
export async function compromisedCertificateKey(
  chainPem: string,
  source: BlockedKeyRow['source'],
  serial: string,
  accountId: string | null,
  note = '',
): Promise<BlockedKeyRow> {
  return {
    spkiSha256: await spkiDigest(certificateSpki(chainPem)),
    source,
    serial,
    accountId,
    note,
    createdAt: Date.now(),
  };
}
