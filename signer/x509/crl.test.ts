// CRLs signed with a software CA key: structure, reason codes, CRL numbers, and OpenSSL's verdict.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import * as x509 from '@peculiar/x509';
import { derToPem, toHex } from '../../shared/encoding.ts';
import { DAY, now, openssl, sharedCa, useTempDir } from '../../test/support/x509.ts';
import { buildCrl } from './crl.ts';
import { randomSerial } from './leaf.ts';

const tmp = useTempDir('edgeca-crl-');

describe('CRLs', () => {
  test('an empty CRL has no revokedCertificates, carries AKI and CRLNumber, and openssl verifies it', async () => {
    const ca = await sharedCa('EC-P256');
    const der = await buildCrl({
      issuerCertDer: ca.issuerDer,
      signer: ca.issuer,
      crlNumber: 1n,
      thisUpdate: now,
      nextUpdate: new Date(now.getTime() + DAY),
      revoked: [],
    });
    const crl = new x509.X509Crl(der);
    assert.equal(crl.entries.length, 0);
    assert.equal(crl.issuer, 'CN=Test Issuing CA, O=edgeca tests');
    const file = tmp('empty.crl');
    const issuerFile = tmp('issuer-crl.pem');
    writeFileSync(file, der);
    writeFileSync(issuerFile, derToPem(ca.issuerDer));
    const text = openssl(['crl', '-inform', 'DER', '-in', file, '-noout', '-text']);
    assert.match(text, /No Revoked Certificates/);
    assert.match(text, /X509v3 CRL Number:\s*\n\s*1\b/);
    assert.match(text, /Authority Key Identifier/);
    assert.match(
      openssl(['crl', '-inform', 'DER', '-in', file, '-noout', '-CAfile', issuerFile]),
      /verify OK/,
    );
  });

  test('entries carry a reasonCode unless unspecified; large CRL numbers encode; bad reasons are refused', async () => {
    const ca = await sharedCa('EC-P384');
    const s1 = randomSerial();
    const s2 = randomSerial();
    const revokedAt = new Date(now.getTime() - 3600_000);
    const der = await buildCrl({
      issuerCertDer: ca.issuerDer,
      signer: ca.issuer,
      crlNumber: 2n ** 100n,
      thisUpdate: now,
      nextUpdate: new Date(now.getTime() + DAY),
      revoked: [
        { serial: s1, revokedAt, reason: 0 },
        { serial: s2, revokedAt, reason: 1 },
      ],
    });
    const crl = new x509.X509Crl(der);
    assert.deepEqual(
      crl.entries.map((e) => [e.serialNumber, e.reason, e.revocationDate.getTime()]),
      [
        [toHex(s1), undefined, revokedAt.getTime()],
        [toHex(s2), x509.X509CrlReason.keyCompromise, revokedAt.getTime()],
      ],
    );
    const file = tmp('crl2.crl');
    writeFileSync(file, der);
    const text = openssl(['crl', '-inform', 'DER', '-in', file, '-noout', '-text']);
    assert.match(text, new RegExp((2n ** 100n).toString()));
    assert.match(text, /Key Compromise/);
    assert.equal((text.match(/CRL Reason Code/g) ?? []).length, 1);
    for (const reason of [7, 8, 11, -1]) {
      await assert.rejects(
        buildCrl({
          issuerCertDer: ca.issuerDer,
          signer: ca.issuer,
          crlNumber: 3n,
          thisUpdate: now,
          nextUpdate: new Date(now.getTime() + DAY),
          revoked: [{ serial: s1, revokedAt, reason }],
        }),
        RangeError,
      );
    }
    await assert.rejects(
      buildCrl({
        issuerCertDer: ca.issuerDer,
        signer: ca.root,
        crlNumber: 3n,
        thisUpdate: now,
        nextUpdate: new Date(now.getTime() + DAY),
        revoked: [],
      }),
      /does not hold/,
    );
  });
});
