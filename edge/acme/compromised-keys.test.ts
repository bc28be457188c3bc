// One key, one name: the digest of a key is the same whether it comes as a JWK, inside a CSR, in a
// certificate or as a PUBLIC KEY PEM, for every key type the edge accepts; an EC key with a
// compressed point is the same key. And the parsing of the digests admins type.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { createECDH } from 'node:crypto';
import { describe, it } from 'node:test';
import * as x509 from '@peculiar/x509';
import { exportJWK } from 'jose';
import { makeCsr } from '../../harness/csr.ts';
import { parseCsr } from '../../shared/csr.ts';
import { b64uEncode, sha256 } from '../../shared/encoding.ts';
import { certificateSpki, jwkDigest, parseKeyDigest, spkiDigest, spkiOfPem } from './compromised-keys.ts';

const KEYS: [string, RsaHashedKeyGenParams | EcKeyGenParams][] = [
  ['EC P-256', { name: 'ECDSA', namedCurve: 'P-256' }],
  ['EC P-384', { name: 'ECDSA', namedCurve: 'P-384' }],
  [
    'RSA 2048',
    {
      name: 'RSASSA-PKCS1-v1_5',
      hash: 'SHA-256',
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
    },
  ],
];

const pem = (der: Uint8Array, label: string) =>
  `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64')}\n-----END ${label}-----\n`;

describe('key digests', () => {
  for (const [name, alg] of KEYS) {
    it(`names a ${name} key the same as a JWK, in a CSR, in a certificate and as a PUBLIC KEY PEM`, async () => {
      const keys = (await crypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
      const fromJwk = await jwkDigest(await exportJWK(keys.publicKey));
      assert.ok(fromJwk);
      const signAlg = { ...alg, hash: 'SHA-256' };
      const csr = await x509.Pkcs10CertificateRequestGenerator.create({
        name: 'CN=k.test',
        keys,
        signingAlgorithm: signAlg,
      });
      const csrSpki = (await parseCsr(new Uint8Array(csr.rawData))).spki;
      assert.equal(await spkiDigest(csrSpki), fromJwk, 'CSR');
      // what finalize stores for a certificate: the hash of the leaf's SPKI bytes as issued
      assert.equal(
        b64uEncode(await sha256(csrSpki)),
        fromJwk,
        'the bytes common tools write are already canonical',
      );
      const cert = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: '01',
        name: 'CN=k.test',
        keys,
        signingAlgorithm: signAlg,
      });
      assert.equal(await spkiDigest(certificateSpki(new Uint8Array(cert.rawData))), fromJwk, 'certificate');
      assert.equal(await spkiDigest(await spkiOfPem(cert.toString('pem'))), fromJwk, 'CERTIFICATE PEM');
      const spki = new Uint8Array(await crypto.subtle.exportKey('spki', keys.publicKey));
      assert.equal(await spkiDigest(await spkiOfPem(pem(spki, 'PUBLIC KEY'))), fromJwk, 'PUBLIC KEY PEM');
      assert.equal(await spkiDigest(await spkiOfPem(csr.toString('pem'))), fromJwk, 'CSR PEM');
    });
  }

  it('names an EC key with a compressed point like the same key uncompressed', async () => {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const prefix = (len: number) =>
      Buffer.from(
        `30${(len + 24).toString(16)}301306072a8648ce3d020106082a8648ce3d030107 03${(len + 1).toString(16)}00`.replace(
          / /g,
          '',
        ),
        'hex',
      );
    const compressed = ecdh.getPublicKey(undefined, 'compressed');
    const uncompressed = ecdh.getPublicKey();
    const a = await spkiDigest(new Uint8Array(Buffer.concat([prefix(compressed.length), compressed])));
    const b = await spkiDigest(new Uint8Array(Buffer.concat([prefix(uncompressed.length), uncompressed])));
    assert.equal(a, b);
  });

  it('ignores "alg", "use" and "key_ops" of a JWK', async () => {
    const { publicKey } = (await crypto.subtle.generateKey(KEYS[2]![1], true, [
      'sign',
      'verify',
    ])) as CryptoKeyPair;
    const jwk = await exportJWK(publicKey);
    const plain = await jwkDigest(jwk);
    assert.equal(await jwkDigest({ ...jwk, alg: 'RS512', use: 'enc', key_ops: ['encrypt'] }), plain);
  });

  it('a CSR made by the test client and its key as JWK agree (the finalize check sees the account key)', async () => {
    const csr = await makeCsr(['c.test']);
    assert.equal(
      await spkiDigest((await parseCsr(csr.der)).spki),
      await jwkDigest(await exportJWK(csr.keys.publicKey)),
    );
  });

  it('reads a digest as 64 hex digits (colons, either case) or 43 base64url characters, nothing else', () => {
    const hex = 'ab'.repeat(32);
    const b64u = b64uEncode(new Uint8Array(32).fill(0xab));
    assert.equal(parseKeyDigest(hex), b64u);
    assert.equal(parseKeyDigest(hex.toUpperCase().match(/../g)!.join(':')), b64u);
    assert.equal(parseKeyDigest(b64u), b64u);
    for (const bad of ['', 'ab', 'ab'.repeat(31), 'zz'.repeat(32), `${b64u}=`, `${b64u}A`])
      assert.equal(parseKeyDigest(bad), undefined, bad);
  });

  it('refuses a private key PEM without reading it, and a PEM without a key', async () => {
    await assert.rejects(
      spkiOfPem('-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----'),
      /private key/,
    );
    await assert.rejects(spkiOfPem('no pem here'), /no PEM block/);
    await assert.rejects(spkiOfPem(pem(new Uint8Array([1, 2, 3]), 'PUBLIC KEY')), /does not parse/);
    await assert.rejects(spkiOfPem(pem(new Uint8Array([1, 2, 3]), 'X509 CRL')), /no public key/);
  });
});
