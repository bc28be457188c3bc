// The one JWS signer: what it signs verifies with jose for every algorithm ACME accounts use
// (and HS256 for EAB), the ACME header rules hold, and tampering breaks just the part named.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { exportJWK, flattenedVerify, generateKeyPair } from 'jose';
import { b64uDecode } from '../shared/encoding.ts';
import { acmeJws, type JwsKey, signJws } from './acme-jws.ts';

async function key(alg: 'ES256' | 'ES384' | 'RS256' | 'EdDSA'): Promise<JwsKey & { publicKey: CryptoKey }> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { alg, privateKey, publicKey, jwk: await exportJWK(publicKey) };
}

const header = (jws: { protected: string }) =>
  JSON.parse(new TextDecoder().decode(b64uDecode(jws.protected))) as Record<string, unknown>;

describe('signJws and acmeJws', () => {
  for (const alg of ['ES256', 'ES384', 'RS256', 'EdDSA'] as const) {
    test(`an ${alg} request verifies with jose and carries the ACME header`, async () => {
      const k = await key(alg);
      const jws = await acmeJws(
        { key: k, url: 'https://ca.test/new-order', nonce: 'n1', kid: 'acct/1' },
        { a: 1 },
      );
      const v = await flattenedVerify(jws, k.publicKey);
      assert.deepEqual(JSON.parse(new TextDecoder().decode(v.payload)), { a: 1 });
      assert.deepEqual(v.protectedHeader, {
        alg,
        url: 'https://ca.test/new-order',
        nonce: 'n1',
        kid: 'acct/1',
      });
    });
  }

  test('without a kid the header carries the jwk; without a nonce it has none; "" is an empty payload', async () => {
    const k = await key('ES256');
    const jws = await acmeJws({ key: k, url: 'https://ca.test/new-acct' }, '');
    assert.equal(jws.payload, '');
    assert.deepEqual(header(jws), { alg: 'ES256', url: 'https://ca.test/new-acct', jwk: k.jwk });
    await flattenedVerify(jws, k.publicKey);
  });

  test('an HMAC key given as bytes makes an HS256 MAC (EAB, RFC 8555 §7.3.4)', async () => {
    const secret = crypto.getRandomValues(new Uint8Array(32));
    const jws = await signJws({ alg: 'HS256', kid: 'eab-1', url: 'u' }, { kty: 'EC' }, secret);
    await flattenedVerify(jws, secret);
  });

  test('signs with a 1024-bit RSA key, which jose itself refuses', async () => {
    const pair = (await crypto.subtle.generateKey(
      {
        name: 'RSASSA-PKCS1-v1_5',
        hash: 'SHA-256',
        modulusLength: 1024,
        publicExponent: new Uint8Array([1, 0, 1]),
      },
      true,
      ['sign', 'verify'],
    )) as CryptoKeyPair;
    const jws = await signJws({ alg: 'RS256' }, {}, pair.privateKey);
    const ok = await crypto.subtle.verify(
      'RSASSA-PKCS1-v1_5',
      pair.publicKey,
      b64uDecode(jws.signature) as BufferSource,
      new TextEncoder().encode(`${jws.protected}.${jws.payload}`),
    );
    assert.ok(ok);
  });

  test('the header says whatever the test wants while the key signs by its own algorithm', async () => {
    const k = await key('ES256');
    const jws = await acmeJws({ key: k, url: 'u', alg: 'ES384', extraHeader: { b64: false } }, {});
    assert.deepEqual(header(jws), { alg: 'ES384', url: 'u', jwk: k.jwk, b64: false });
  });

  test('tamper replaces the part named after signing, so the signature no longer verifies', async () => {
    const k = await key('ES256');
    const good = await acmeJws({ key: k, url: 'u' }, { a: 1 });
    const bad = await acmeJws({ key: k, url: 'u', tamper: { payload: 'e30' } }, { a: 1 });
    assert.equal(bad.payload, 'e30');
    assert.equal(bad.protected, good.protected);
    await assert.rejects(flattenedVerify(bad, k.publicKey), {
      code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
    });
  });
});
