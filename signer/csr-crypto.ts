// The CSR self-signature check the signer runs (shared/csr.ts parseCsr's `verify`): node:crypto,
// synchronous, where WebCrypto imports the key and verifies in two jobs queued on libuv's pool.
import { createPublicKey, verify } from 'node:crypto';
import type { CsrSignatureCheck } from '../shared/csr.ts';

const HASH = { 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' } as const;

export const nodeCsrSignatureCheck: CsrSignatureCheck = (spki, alg, signed, signature) => {
  const key = createPublicKey({
    key: Buffer.from(spki.buffer, spki.byteOffset, spki.byteLength),
    format: 'der',
    type: 'spki',
  });
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
