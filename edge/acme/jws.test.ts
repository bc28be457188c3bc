// One key, one thumbprint (RFC 7638): every spelling of a key that imports as the same key either has
// the canonical key's thumbprint or is refused with badPublicKey.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { b64uDecode, b64uEncode } from '../../shared/encoding.ts';
import { AcmeProblem } from '../../shared/problems.ts';
import { canonicalPublicJwk, thumbprintOf } from './jws.ts';

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const flipUnusedBit = (v: string) => v.slice(0, -1) + B64URL[B64URL.indexOf(v.slice(-1)) ^ 1];
const leadingZero = (v: string) => b64uEncode(new Uint8Array([0, ...b64uDecode(v)]));

async function publicJwk(alg: 'ES256' | 'ES384' | 'RS256' | 'EdDSA'): Promise<JWK> {
  const { publicKey } = await generateKeyPair(alg, { extractable: true });
  return exportJWK(publicKey);
}

const badPublicKey = (detail: RegExp) => (e: unknown) =>
  e instanceof AcmeProblem && e.kind === 'badPublicKey' && detail.test(e.message);

describe('thumbprintOf and canonicalPublicJwk', () => {
  for (const alg of ['ES256', 'ES384', 'RS256', 'EdDSA'] as const) {
    it(`gives an ${alg} key as exported its RFC 7638 thumbprint`, async () => {
      const jwk = await publicJwk(alg);
      assert.equal(await thumbprintOf(jwk), await calculateJwkThumbprint(jwk, 'sha256'));
    });
  }
  it('gives an RSA modulus and exponent with leading zero octets the canonical thumbprint', async () => {
    const jwk = await publicJwk('RS256');
    const spelled = { ...jwk, n: leadingZero(jwk.n ?? ''), e: leadingZero(jwk.e ?? '') };
    assert.equal(await thumbprintOf(spelled), await thumbprintOf(jwk));
    assert.deepEqual(canonicalPublicJwk(spelled), { kty: 'RSA', n: jwk.n, e: jwk.e });
  });
  const refused: [string, 'ES256' | 'ES384' | 'EdDSA', (j: JWK) => JWK, RegExp][] = [
    ['a P-256 x with a non-zero unused bit', 'ES256', (j) => ({ ...j, x: flipUnusedBit(j.x ?? '') }), /"x"/],
    [
      'a P-256 y with a leading zero octet',
      'ES256',
      (j) => ({ ...j, y: leadingZero(j.y ?? '') }),
      /32 octets/,
    ],
    [
      'a P-256 x one octet short',
      'ES256',
      (j) => ({ ...j, x: b64uEncode(b64uDecode(j.x ?? '').slice(1)) }),
      /31/,
    ],
    [
      'a P-384 x with a leading zero octet',
      'ES384',
      (j) => ({ ...j, x: leadingZero(j.x ?? '') }),
      /48 octets/,
    ],
    ['a padded P-384 y', 'ES384', (j) => ({ ...j, y: `${j.y}==` }), /"y"/],
    [
      'an Ed25519 x with a non-zero unused bit',
      'EdDSA',
      (j) => ({ ...j, x: flipUnusedBit(j.x ?? '') }),
      /"x"/,
    ],
    [
      'an Ed25519 x with a leading zero octet',
      'EdDSA',
      (j) => ({ ...j, x: leadingZero(j.x ?? '') }),
      /32 octets/,
    ],
  ];
  for (const [name, alg, spell, detail] of refused) {
    it(`refuses ${name} with badPublicKey`, async () => {
      const jwk = spell(await publicJwk(alg));
      assert.throws(() => canonicalPublicJwk(jwk), badPublicKey(detail));
      await assert.rejects(thumbprintOf(jwk), badPublicKey(detail));
    });
  }
});
