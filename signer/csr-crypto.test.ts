// The signer's node:crypto CSR signature check gives the answer shared/csr.ts's WebCrypto check
// gives, for every key and hash the parser knows, and for tampered CSRs.
import 'reflect-metadata'; // @peculiar/x509 (used only to make test CSRs) needs it
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as x509 from '@peculiar/x509';
import { parseCsr } from '../shared/csr.ts';
import { bitString, children, content, readTlv, seq, spkiParts, TAG, tlv, whole } from '../shared/der.ts';
import { nodeCsrSignatureCheck } from './csr-crypto.ts';

async function makeCsr(
  gen: EcKeyGenParams | RsaHashedKeyGenParams | Algorithm,
  sign: Algorithm & { hash?: string },
): Promise<Uint8Array> {
  const keys = (await crypto.subtle.generateKey(gen, false, ['sign', 'verify'])) as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: 'CN=a.test',
    keys,
    signingAlgorithm: sign,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'a.test' }])],
  });
  return new Uint8Array(csr.rawData);
}

const rsa = (hash: string) => [
  { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: Uint8Array.of(1, 0, 1), hash },
  { name: 'RSASSA-PKCS1-v1_5', hash },
];

const kinds: [string, EcKeyGenParams | RsaHashedKeyGenParams | Algorithm, Algorithm & { hash?: string }][] = [
  ['EC P-256 SHA-256', { name: 'ECDSA', namedCurve: 'P-256' }, { name: 'ECDSA', hash: 'SHA-256' }],
  ['EC P-256 SHA-384', { name: 'ECDSA', namedCurve: 'P-256' }, { name: 'ECDSA', hash: 'SHA-384' }],
  ['EC P-384 SHA-384', { name: 'ECDSA', namedCurve: 'P-384' }, { name: 'ECDSA', hash: 'SHA-384' }],
  ['EC P-521 SHA-512', { name: 'ECDSA', namedCurve: 'P-521' }, { name: 'ECDSA', hash: 'SHA-512' }],
  ['RSA 2048 SHA-256', ...(rsa('SHA-256') as [RsaHashedKeyGenParams, Algorithm])],
  ['RSA 2048 SHA-512', ...(rsa('SHA-512') as [RsaHashedKeyGenParams, Algorithm])],
  ['Ed25519', { name: 'Ed25519' }, { name: 'Ed25519' }],
];

/** Both checks' answers for one CSR: [WebCrypto, node:crypto]. */
async function both(der: Uint8Array): Promise<[boolean, boolean]> {
  const web = await parseCsr(der);
  const node = await parseCsr(der, { verify: nodeCsrSignatureCheck });
  assert.deepEqual({ ...node, signatureValid: web.signatureValid }, web, 'the same CSR facts');
  return [web.signatureValid, node.signatureValid];
}

describe('node:crypto CSR signature check', () => {
  test('a CSR whose EC point is not on its curve is refused by both', async () => {
    const der = await makeCsr({ name: 'ECDSA', namedCurve: 'P-256' }, { name: 'ECDSA', hash: 'SHA-256' });
    const point = spkiParts((await parseCsr(der)).spki).publicKey;
    const at = Buffer.from(der).indexOf(Buffer.from(point));
    assert.ok(at > 0);
    const off = der.slice();
    off[at + 64] = (off[at + 64] as number) ^ 0x01; // the last octet of y
    assert.deepEqual(await both(off), [false, false]);
  });

  for (const [name, gen, sign] of kinds) {
    test(`${name}: a good CSR verifies, a tampered signature or body does not`, async () => {
      const der = await makeCsr(gen, sign);
      assert.deepEqual(await both(der), [true, true]);
      const badSig = der.slice();
      badSig[badSig.length - 5] = (badSig[badSig.length - 5] as number) ^ 0x01;
      assert.deepEqual(await both(badSig), [false, false]);
      const text = Buffer.from(der).toString('latin1');
      const at = text.indexOf('a.test');
      const badBody = der.slice();
      badBody[at] = 'b'.charCodeAt(0);
      assert.deepEqual(await both(badBody), [false, false]);
    });
  }

  test('an ECDSA signature in BER (r padded with a zero) gets the same answer from both', async () => {
    const der = await makeCsr({ name: 'ECDSA', namedCurve: 'P-256' }, { name: 'ECDSA', hash: 'SHA-256' });
    const [info, alg, sigBits] = children(der, readTlv(der));
    assert.ok(info && alg && sigBits);
    const sig = content(der, sigBits).subarray(1);
    const [r, s] = children(sig, readTlv(sig));
    assert.ok(r && s);
    // BER, not DER: r with one more leading zero octet than it needs.
    const berSig = seq(tlv(TAG.INTEGER, Uint8Array.of(0), content(sig, r)), whole(sig, s));
    const tampered = seq(whole(der, info), whole(der, alg), bitString(berSig));
    const [web, node] = await both(tampered);
    assert.equal(web, node);
  });
});
