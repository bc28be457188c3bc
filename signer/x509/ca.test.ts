// CA certificates and the offline-root CSR, signed with software CA keys, checked by parsing
// them back with @peculiar/x509 and by OpenSSL.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import * as x509 from '@peculiar/x509';
import { derToPem, toHex } from '../../shared/encoding.ts';
import { createSoftwareCaSigner } from '../../test/support/software-ca-signer.ts';
import {
  DAY,
  ext,
  leafKey,
  now,
  openssl,
  sharedCa,
  useTempDir,
  verifiesWith,
} from '../../test/support/x509.ts';
import { buildCaCertificate, buildCaCsr } from './ca.ts';
import { createLeafBuilder, randomSerial } from './leaf.ts';

const tmp = useTempDir('edgeca-ca-');

describe('CA certificates', () => {
  for (const keyType of ['EC-P256', 'EC-P384', 'RSA-3072'] as const) {
    test(`a ${keyType} root is self-signed CA:TRUE with keyCertSign+cRLSign and an intermediate has pathLen 0`, async () => {
      const ca = await sharedCa(keyType);
      const root = new x509.X509Certificate(ca.rootDer);
      const inter = new x509.X509Certificate(ca.issuerDer);
      assert.equal(root.subject, 'CN=Test Root, O=edgeca tests');
      assert.equal(root.issuer, root.subject);
      assert.equal(inter.issuer, root.subject);
      const bc = ext(root, x509.BasicConstraintsExtension);
      assert.equal(bc.ca, true);
      assert.equal(bc.critical, true);
      assert.equal(bc.pathLength, undefined);
      assert.equal(ext(inter, x509.BasicConstraintsExtension).pathLength, 0);
      const ku = ext(root, x509.KeyUsagesExtension);
      assert.equal(ku.critical, true);
      assert.equal(ku.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
      const rootSki = ext(root, x509.SubjectKeyIdentifierExtension).keyId;
      assert.equal(ext(inter, x509.AuthorityKeyIdentifierExtension).keyId, rootSki);
      assert.equal(root.getExtension(x509.AuthorityKeyIdentifierExtension), null);
      assert.ok(await verifiesWith(root, ca.root, keyType));
      assert.ok(await verifiesWith(inter, ca.root, keyType));
      assert.equal(root.signatureAlgorithm.hash.name, keyType === 'EC-P384' ? 'SHA-384' : 'SHA-256');
      assert.equal(root.signatureAlgorithm.name, keyType.startsWith('RSA') ? 'RSASSA-PKCS1-v1_5' : 'ECDSA');
    });
  }

  test('an RSA-3072 CA issues a leaf that openssl verifies', async () => {
    const ca = await sharedCa('RSA-3072');
    const builder = createLeafBuilder({ certDer: ca.issuerDer, keyType: 'RSA-3072' });
    const tbs = builder.buildTbs({
      serial: randomSerial(),
      spki: await leafKey('EC-P256'),
      identifiers: [{ type: 'dns', value: 'rsa-ca.example.test' }],
      notBefore: now,
      notAfter: new Date(now.getTime() + DAY),
      ekus: ['serverAuth'],
      leafKeyType: 'EC-P256',
    });
    const leaf = builder.assemble(tbs, await ca.issuer.sign(tbs));
    const f = {
      root: tmp('rsa-root.pem'),
      inter: tmp('rsa-inter.pem'),
      leaf: tmp('rsa-leaf.pem'),
    };
    writeFileSync(f.root, derToPem(ca.rootDer));
    writeFileSync(f.inter, derToPem(ca.issuerDer));
    writeFileSync(f.leaf, derToPem(leaf));
    assert.match(openssl(['verify', '-CAfile', f.root, '-untrusted', f.inter, f.leaf]), /rsa-leaf\.pem: OK/);
    assert.match(
      openssl(['x509', '-in', f.leaf, '-noout', '-text']),
      /Signature Algorithm: sha256WithRSAEncryption/,
    );
  });

  test('refuses a self-signed certificate whose key is not the signer key', async () => {
    const a = await createSoftwareCaSigner('EC-P256');
    const b = await createSoftwareCaSigner('EC-P256');
    await assert.rejects(
      buildCaCertificate({
        subject: 'CN=x',
        subjectSpki: b.spki,
        signer: a,
        notBefore: now,
        notAfter: new Date(now.getTime() + DAY),
      }),
      /signed by its own key/,
    );
  });

  test('an offline-root CSR carries the subject and key and verifies with openssl', async () => {
    const signer = await createSoftwareCaSigner('EC-P384');
    const csr = await buildCaCsr({ subject: 'CN=Offline Issuing CA, O=edgeca', signer });
    const req = new x509.Pkcs10CertificateRequest(csr);
    assert.equal(req.subject, 'CN=Offline Issuing CA, O=edgeca');
    assert.equal(toHex(new Uint8Array(req.publicKey.rawData)), toHex(signer.spki));
    assert.ok(await req.verify());
    const file = tmp('offline.csr');
    writeFileSync(file, derToPem(csr, 'CERTIFICATE REQUEST'));
    assert.match(openssl(['req', '-in', file, '-noout', '-verify']), /verify OK/);
  });
});
