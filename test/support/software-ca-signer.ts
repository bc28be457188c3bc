// A CaSigner on a WebCrypto key held in memory: for unit tests of the builders and other tests that
// need a CA key without a token. Production signing goes through signer/hsm/.

import { ecdsaRawToDer } from '../../shared/der.ts';
import { type CaKeyType, keyTypeRow, type LeafKeyType } from '../../shared/key-types.ts';
import type { CaSigner } from '../../signer/ca-signer.ts';

/** Web Crypto parameters that make, and sign with, a key of a key type's row: its curve or modulus size. */
export function webCryptoParams(keyType: LeafKeyType): {
  generate: EcKeyGenParams | RsaHashedKeyGenParams;
  sign: EcdsaParams | AlgorithmIdentifier;
} {
  const row = keyTypeRow(keyType);
  if (row.family === 'EC') {
    return { generate: { name: 'ECDSA', namedCurve: row.curve }, sign: { name: 'ECDSA', hash: row.hash } };
  }
  return {
    generate: {
      name: 'RSASSA-PKCS1-v1_5',
      modulusLength: row.bits,
      publicExponent: Uint8Array.of(1, 0, 1),
      hash: row.hash,
    },
    sign: { name: 'RSASSA-PKCS1-v1_5' },
  };
}

/** A fresh in-memory CA key (the private half is not extractable) behind the CaSigner interface. */
export async function createSoftwareCaSigner(keyType: CaKeyType): Promise<CaSigner> {
  const params = webCryptoParams(keyType);
  const pair = (await crypto.subtle.generateKey(params.generate, false, ['sign', 'verify'])) as CryptoKeyPair;
  const spki = new Uint8Array(await crypto.subtle.exportKey('spki', pair.publicKey));
  const isEc = keyTypeRow(keyType).family === 'EC';
  return {
    keyType,
    spki,
    async sign(tbs) {
      const sig = new Uint8Array(await crypto.subtle.sign(params.sign, pair.privateKey, tbs as BufferSource));
      return isEc ? ecdsaRawToDer(sig) : sig;
    },
  };
}
