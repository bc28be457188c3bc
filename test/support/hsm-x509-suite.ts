// The certificate and CRL builders with the CA keys in a real PKCS#11 token, judged by OpenSSL:
// the chain verifies, the leaf shows the extensions RFC 5280 and the CA/B profile want, and the
// CRL parses and verifies against the issuer. Run against SoftHSM (signer/x509/softhsm.test.ts) and a TPM
// 2.0 (signer/hsm/tpm.test.ts).
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { derToPem, toHex } from '../../shared/encoding.ts';
import type { CaSigner } from '../../signer/ca-signer.ts';
import { type HsmToken, openToken } from '../../signer/hsm/token.ts';
import { buildCaCertificate } from '../../signer/x509/ca.ts';
import { buildCrl } from '../../signer/x509/crl.ts';
import { createLeafBuilder, randomSerial } from '../../signer/x509/leaf.ts';
import type { TestTokens } from './hsm-tokens.ts';
import { openssl } from './x509.ts';

/** The tests, on one token labelled "edgeca-x509" that `tokens` initialises. */
export function x509HsmSuite(tokens: () => Promise<TestTokens>): void {
  const DAY = 86_400_000;
  let t: TestTokens;
  let token: HsmToken;
  let root: CaSigner;
  let issuer: CaSigner;
  let rootDer: Uint8Array;
  let issuerDer: Uint8Array;
  const files = (name: string) => join(t.dir, name);

  before(async () => {
    t = await tokens();
    token = await openToken({ module: t.module, ...t.settings, tokenLabel: 'edgeca-x509', pin: t.pin });
    await token.generateKeyPair('root', 'EC-P384');
    await token.generateKeyPair('issuer', 'EC-P384');
    root = await token.caSigner('root');
    issuer = await token.caSigner('issuer');
    const notBefore = new Date(Date.now() - DAY);
    rootDer = await buildCaCertificate({
      subject: 'CN=HSM Test Root, O=edgeca tests',
      subjectSpki: root.spki,
      signer: root,
      notBefore,
      notAfter: new Date(notBefore.getTime() + 3650 * DAY),
    });
    issuerDer = await buildCaCertificate({
      subject: 'CN=HSM Test Issuing CA, O=edgeca tests',
      subjectSpki: issuer.spki,
      signer: root,
      issuerCertDer: rootDer,
      notBefore,
      notAfter: new Date(notBefore.getTime() + 1825 * DAY),
      pathLen: 0,
    });
    writeFileSync(files('root.pem'), derToPem(rootDer));
    writeFileSync(files('intermediate.pem'), derToPem(issuerDer));
  });

  after(async () => {
    await token?.close();
    await t?.cleanup();
  });

  test('a leaf issued through the HSM verifies to the root with openssl and shows the expected extensions', async () => {
    const builder = createLeafBuilder({
      certDer: issuerDer,
      keyType: 'EC-P384',
      crlUrl: 'http://127.0.0.1:14000/crl',
      caIssuersUrl: 'http://127.0.0.1:14000/issuer.cer',
    });
    const leafKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const serial = randomSerial();
    const notBefore = new Date(Math.floor(Date.now() / 1000) * 1000);
    const tbs = builder.buildTbs({
      serial,
      spki: new Uint8Array(leafKey.publicKey.export({ type: 'spki', format: 'der' })),
      identifiers: [
        { type: 'dns', value: 'svc.internal.test' },
        { type: 'dns', value: '*.svc.internal.test' },
        { type: 'ip', value: '10.20.30.40' },
        { type: 'ip', value: 'fd00::1' },
      ],
      notBefore,
      notAfter: new Date(notBefore.getTime() + 30 * DAY),
      ekus: ['serverAuth', 'clientAuth'],
      leafKeyType: 'RSA-2048',
    });
    const leaf = builder.assemble(tbs, await issuer.sign(tbs));
    writeFileSync(files('leaf.pem'), derToPem(leaf));

    const verify = openssl([
      'verify',
      '-purpose',
      'sslserver',
      '-CAfile',
      files('root.pem'),
      '-untrusted',
      files('intermediate.pem'),
      files('leaf.pem'),
    ]);
    assert.match(verify, /leaf\.pem: OK/);

    const text = openssl(['x509', '-in', files('leaf.pem'), '-noout', '-text']);
    const expected: RegExp[] = [
      /Version: 3 \(0x2\)/,
      new RegExp(`Serial Number:\\s*\\n?\\s*${toHex(serial).match(/../g)?.join(':')}`, 'i'),
      /Signature Algorithm: ecdsa-with-SHA384/,
      /Issuer: CN = HSM Test Issuing CA, O = edgeca tests/,
      /Subject: CN = svc\.internal\.test/,
      /X509v3 Basic Constraints: critical\s*\n\s*CA:FALSE/,
      /X509v3 Key Usage: critical\s*\n\s*Digital Signature, Key Encipherment/,
      /X509v3 Extended Key Usage:\s*\n\s*TLS Web Server Authentication, TLS Web Client Authentication/,
      /X509v3 Subject Alternative Name:\s*\n\s*DNS:svc\.internal\.test, DNS:\*\.svc\.internal\.test, IP Address:10\.20\.30\.40, IP Address:FD00:0:0:0:0:0:0:1/,
      /X509v3 Subject Key Identifier:/,
      /X509v3 Authority Key Identifier:/,
      /X509v3 CRL Distribution Points:\s*\n\s*Full Name:\s*\n\s*URI:http:\/\/127\.0\.0\.1:14000\/crl/,
      /Authority Information Access:\s*\n\s*CA Issuers - URI:http:\/\/127\.0\.0\.1:14000\/issuer\.cer/,
    ];
    for (const re of expected) assert.match(text, re);
    assert.doesNotMatch(text, /X509v3 Subject Alternative Name: critical/);

    const caText = openssl(['x509', '-in', files('intermediate.pem'), '-noout', '-text']);
    assert.match(caText, /X509v3 Basic Constraints: critical\s*\n\s*CA:TRUE, pathlen:0/);
    assert.match(caText, /X509v3 Key Usage: critical\s*\n\s*Certificate Sign, CRL Sign/);
  });

  test('an IP-only leaf has an empty subject and a critical SAN that openssl accepts', async () => {
    const builder = createLeafBuilder({ certDer: issuerDer, keyType: 'EC-P384' });
    const leafKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const notBefore = new Date();
    const tbs = builder.buildTbs({
      serial: randomSerial(),
      spki: new Uint8Array(leafKey.publicKey.export({ type: 'spki', format: 'der' })),
      identifiers: [{ type: 'ip', value: '127.0.0.1' }],
      notBefore,
      notAfter: new Date(notBefore.getTime() + DAY),
      ekus: ['serverAuth'],
      leafKeyType: 'EC-P256',
    });
    writeFileSync(files('ip-leaf.pem'), derToPem(builder.assemble(tbs, await issuer.sign(tbs))));
    const args = [
      '-CAfile',
      files('root.pem'),
      '-untrusted',
      files('intermediate.pem'),
      files('ip-leaf.pem'),
    ];
    assert.match(openssl(['verify', '-purpose', 'sslserver', ...args]), /ip-leaf\.pem: OK/);
    const text = openssl(['x509', '-in', files('ip-leaf.pem'), '-noout', '-text']);
    assert.match(text, /Subject: *\n/);
    assert.match(text, /X509v3 Subject Alternative Name: critical\s*\n\s*IP Address:127\.0\.0\.1/);
    assert.match(text, /X509v3 Key Usage: critical\s*\n\s*Digital Signature\s*\n/);
  });

  test('a CRL signed in the HSM parses and verifies with openssl', async () => {
    const revoked = [
      { serial: randomSerial(), revokedAt: new Date(Date.now() - 60_000), reason: 0 },
      { serial: randomSerial(), revokedAt: new Date(Date.now() - 30_000), reason: 4 },
    ];
    const der = await buildCrl({
      issuerCertDer: issuerDer,
      signer: issuer,
      crlNumber: 42n,
      thisUpdate: new Date(),
      nextUpdate: new Date(Date.now() + DAY),
      revoked,
    });
    writeFileSync(files('issuer.crl'), der);
    const text = openssl(['crl', '-inform', 'DER', '-in', files('issuer.crl'), '-noout', '-text']);
    assert.match(text, /Version 2 \(0x1\)/);
    assert.match(text, /X509v3 CRL Number:\s*\n\s*42/);
    assert.match(text, /X509v3 Authority Key Identifier:/);
    for (const r of revoked) assert.match(text, new RegExp(`Serial Number: ${toHex(r.serial)}`, 'i'));
    assert.match(text, /CRL Reason Code:\s*\n\s*Superseded/);
    const verified = openssl([
      'crl',
      '-inform',
      'DER',
      '-in',
      files('issuer.crl'),
      '-noout',
      '-verify',
      '-CAfile',
      files('intermediate.pem'),
    ]);
    assert.match(verified, /verify OK/);
  });
}
