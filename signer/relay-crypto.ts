// The relay JWS primitive the signer verifies requests and signs answers with: node:crypto, which
// signs and verifies synchronously in tens of microseconds, where WebCrypto (jose's path) queues a
// job on libuv's pool and resolves a promise per call. Each pinned key is turned into a KeyObject
// once and kept beside the key it came from.
import { sign as cryptoSign, verify as cryptoVerify, KeyObject } from 'node:crypto';
import type { RelayCrypto, RelayKey } from '../shared/relay.ts';

const keyObjects = new WeakMap<object, KeyObject>();

function keyObjectOf(k: RelayKey): KeyObject {
  let ko = keyObjects.get(k.key);
  if (!ko) {
    // Relay keys are EC P-256 or Ed25519 (shared/relay.ts), which jose imports as CryptoKeys.
    if (k.key instanceof Uint8Array) throw new TypeError(`relay key "${k.kid}" is not an asymmetric key`);
    ko = KeyObject.from(k.key);
    keyObjects.set(k.key, ko);
  }
  return ko;
}

export const nodeRelayCrypto: RelayCrypto = {
  verify(key, signingInput, signature) {
    const ko = keyObjectOf(key);
    // RFC 7518 §3.4: an ES256 signature is r||s (IEEE P1363), not DER.
    if (key.alg === 'ES256') {
      if (signature.length !== 64) return false;
      return cryptoVerify('sha256', signingInput, { key: ko, dsaEncoding: 'ieee-p1363' }, signature);
    }
    return cryptoVerify(null, signingInput, ko, signature);
  },
  sign(key, signingInput) {
    const ko = keyObjectOf(key);
    if (key.alg === 'ES256')
      return cryptoSign('sha256', signingInput, { key: ko, dsaEncoding: 'ieee-p1363' });
    return cryptoSign(null, signingInput, ko);
  },
};
