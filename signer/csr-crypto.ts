// The CSR self-signature check the signer runs (shared/csr.ts parseCsr's `verify`): node:crypto,
// synchronous, where WebCrypto imports the key and verifies in two jobs queued on libuv's pool.
import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import type { CsrSignatureCheck } from '../shared/csr.ts';
import { OID, spkiParts } from '../shared/der.ts';

const HASH = { 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' } as const;
/** JWK curve names and coordinate sizes (RFC 7518 §6.2.1) of the curves a CSR key may be on. */
const CURVES: Record<string, { crv: string; size: number }> = {
  [OID.p256]: { crv: 'P-256', size: 32 },
  [OID.p384]: { crv: 'P-384', size: 48 },
  [OID.p521]: { crv: 'P-521', size: 66 },
};

/**
 * The CSR's key as a KeyObject. An EC key with an uncompressed point goes in as a JWK: OpenSSL 3
 * decodes that in about half the time of the SubjectPublicKeyInfo (its decoder framework is the
 * cost), and refuses a point that is not on the curve either way. Anything else goes in as DER.
 */
function publicKeyOf(spki: Uint8Array): KeyObject {
  const p = spkiParts(spki);
  const curve = p.algorithm === OID.ecPublicKey && p.curve ? CURVES[p.curve] : undefined;
  const point = p.publicKey;
  if (curve && point.length === 1 + 2 * curve.size && point[0] === 0x04) {
    const b = Buffer.from(point.buffer, point.byteOffset, point.byteLength);
    return createPublicKey({
      key: {
        kty: 'EC',
        crv: curve.crv,
        x: b.subarray(1, 1 + curve.size).toString('base64url'),
        y: b.subarray(1 + curve.size).toString('base64url'),
      },
      format: 'jwk',
    });
  }
  return createPublicKey({
    key: Buffer.from(spki.buffer, spki.byteOffset, spki.byteLength),
    format: 'der',
    type: 'spki',
  });
}

export const nodeCsrSignatureCheck: CsrSignatureCheck = (spki, alg, signed, signature) => {
  const key = publicKeyOf(spki);
  if (alg.family === 'Ed25519')
    return key.asymmetricKeyType === 'ed25519' && verify(null, signed, key, signature);
  const hash = alg.hash ? HASH[alg.hash] : undefined;
  if (!hash) return false;
  if (alg.family === 'EC') {
    // r||s (parseCsr has read the CSR's DER Ecdsa-Sig-Value as it does for WebCrypto).
    return (
      key.asymmetricKeyType === 'ec' && verify(hash, signed, { key, dsaEncoding: 'ieee-p1363' }, signature)
    );
  }
  // RSASSA-PKCS1-v1_5 (RFC 8017 §8.2), node:crypto's default padding for an RSA key.
  return key.asymmetricKeyType === 'rsa' && verify(hash, signed, key, signature);
};
