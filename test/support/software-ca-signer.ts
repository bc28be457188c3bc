// A CaSigner on a WebCrypto key held in memory: for unit tests of the builders and other tests that
// need a CA key without a token. Production signing goes through signer/hsm/.

import { ecdsaRawToDer } from '../../shared/der.ts';
import type { CaKeyType, CaSigner } from '../../signer/ca-signer.ts';

export function webCryptoParams(keyType: CaKeyType): {
  generate: EcKeyGenParams | RsaHashedKeyGenParams;
  sign: EcdsaParams | AlgorithmIdentifier;
} {
  switch (keyType) {
    case 'EC-P256':
      return { generate: { name: 'ECDSA', namedCurve: 'P-256' }, sign: { name: 'ECDSA', hash: 'SHA-256' } };
    case 'EC-P384':
      return { generate: { name: 'ECDSA', namedCurve: 'P-384' }, sign: { name: 'ECDSA', hash: 'SHA-384' } };
    case 'RSA-3072':
    case 'RSA-4096':
      return {
        generate: {
          name: 'RSASSA-PKCS1-v1_5',
          modulusLength: keyType === 'RSA-3072' ? 3072 : 4096,
          publicExponent: Uint8Array.of(1, 0, 1),
          hash: 'SHA-256',
        },
        sign: { name: 'RSASSA-PKCS1-v1_5' },
      };
  }
}

/** A fresh in-memory CA key (the private half is not extractable) behind the CaSigner interface. */
export async function createSoftwareCaSigner(keyType: CaKeyType): Promise<CaSigner> {
  const params = webCryptoParams(keyType);
  const pair = (await crypto.subtle.generateKey(params.generate, false, ['sign', 'verify'])) as CryptoKeyPair;
  const spki = new Uint8Array(await crypto.subtle.exportKey('spki', pair.publicKey));
  const isEc = keyType.startsWith('EC');
  return {
    keyType,
    spki,
    async sign(tbs) {
      const sig = new Uint8Array(await crypto.subtle.sign(params.sign, pair.privateKey, tbs as BufferSource));
      return isEc ? ecdsaRawToDer(sig) : sig;
    },
  };
}
