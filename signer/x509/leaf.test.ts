// Leaf certificates from a software-keyed issuer: the RFC 5280 / CA/B profile rules (subject,
// SAN criticality, key usages, EKU, SKI/AKI, CRL DP, AIA), parameter checks, and build speed.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import * as x509 from '@peculiar/x509';
import { derToPem, toHex } from '../../shared/encoding.ts';
import type { Identifier } from '../../shared/problems.ts';
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
import type { CaKeyType } from '../ca-signer.ts';
import type { LeafKeyType } from '../config.ts';
import { createLeafBuilder, randomSerial } from './leaf.ts';

const tmp = useTempDir('edgeca-leaf-');

describe('leaf certificates', () => {
  const cases: {
    name: string;
    keyType: CaKeyType;
    leaf: LeafKeyType;
    ids: Identifier[];
    ekus: ('serverAuth' | 'clientAuth')[];
  }[] = [
    {
      name: 'a DNS-first P-256 leaf gets CN = first name, non-critical SAN, digitalSignature only',
      keyType: 'EC-P256',
      leaf: 'EC-P256',
      ids: [
        { type: 'dns', value: 'www.example.test' },
        { type: 'dns', value: '*.example.test' },
        { type: 'ip', value: '10.1.2.3' },
        { type: 'ip', value: '2001:db8::1' },
      ],
      ekus: ['serverAuth', 'clientAuth'],
    },
    {
      name: 'an IP-first leaf has an empty subject and a critical SAN',
      keyType: 'EC-P384',
      leaf: 'EC-P384',
      ids: [{ type: 'ip', value: '127.0.0.1' }],
      ekus: ['serverAuth'],
    },
    {
      name: 'an RSA leaf adds keyEncipherment',
      keyType: 'EC-P256',
      leaf: 'RSA-2048',
      ids: [{ type: 'dns', value: 'rsa.example.test' }],
      ekus: ['clientAuth'],
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const ca = await sharedCa(c.keyType);
      const builder = createLeafBuilder({
        certDer: ca.issuerDer,
        keyType: c.keyType,
        crlUrl: 'http://ca.example.test/crl',
        caIssuersUrl: 'http://ca.example.test/issuer.cer',
      });
      const spki = await leafKey(c.leaf);
      const serial = randomSerial();
      const tbs = builder.buildTbs({
        serial,
        spki,
        identifiers: c.ids,
        notBefore: now,
        notAfter: new Date(now.getTime() + 90 * DAY),
        ekus: c.ekus,
        leafKeyType: c.leaf,
      });
      const cert = new x509.X509Certificate(builder.assemble(tbs, await ca.issuer.sign(tbs)));
      assert.equal(cert.serialNumber, toHex(serial));
      assert.equal(cert.issuer, 'CN=Test Issuing CA, O=edgeca tests');
      assert.equal(cert.notBefore.getTime(), now.getTime());
      const firstDns = c.ids[0]?.type === 'dns' ? c.ids[0].value : undefined;
      assert.equal(cert.subject, firstDns ? `CN=${firstDns}` : '');
      const san = ext(cert, x509.SubjectAlternativeNameExtension);
      assert.equal(san.critical, !firstDns);
      assert.deepEqual(
        san.names.items.map((n) => ({ type: n.type, value: n.value })),
        c.ids.map((i) => ({ type: i.type, value: i.value })),
      );
      const bc = ext(cert, x509.BasicConstraintsExtension);
      assert.equal(bc.ca, false);
      assert.equal(bc.critical, true);
      const ku = ext(cert, x509.KeyUsagesExtension);
      assert.equal(ku.critical, true);
      const wantKu = c.leaf.startsWith('RSA')
        ? x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment
        : x509.KeyUsageFlags.digitalSignature;
      assert.equal(ku.usages, wantKu);
      const eku = ext(cert, x509.ExtendedKeyUsageExtension);
      const oids = { serverAuth: '1.3.6.1.5.5.7.3.1', clientAuth: '1.3.6.1.5.5.7.3.2' };
      assert.deepEqual(
        [...eku.usages],
        c.ekus.map((e) => oids[e]),
      );
      const ski = ext(cert, x509.SubjectKeyIdentifierExtension);
      const expectedSki = await new x509.PublicKey(spki).getKeyIdentifier('SHA-1');
      assert.equal(ski.keyId, toHex(new Uint8Array(expectedSki)));
      const issuerSki = ext(new x509.X509Certificate(ca.issuerDer), x509.SubjectKeyIdentifierExtension).keyId;
      assert.equal(ext(cert, x509.AuthorityKeyIdentifierExtension).keyId, issuerSki);
      assert.deepEqual(
        ext(cert, x509.CRLDistributionPointsExtension).distributionPoints[0]?.distributionPoint?.fullName?.[0]
          ?.uniformResourceIdentifier,
        'http://ca.example.test/crl',
      );
      const aia = ext(cert, x509.AuthorityInfoAccessExtension);
      assert.equal(aia.caIssuers[0]?.value, 'http://ca.example.test/issuer.cer');
      assert.ok(await verifiesWith(cert, ca.issuer, c.keyType));

      const files = {
        root: tmp('root.pem'),
        inter: tmp('inter.pem'),
        leaf: tmp('leaf.pem'),
      };
      writeFileSync(files.root, derToPem(ca.rootDer));
      writeFileSync(files.inter, derToPem(ca.issuerDer));
      writeFileSync(files.leaf, cert.toString('pem'));
      const purpose = c.ekus.includes('serverAuth') ? 'sslserver' : 'sslclient';
      const out = openssl([
        'verify',
        '-purpose',
        purpose,
        '-CAfile',
        files.root,
        '-untrusted',
        files.inter,
        files.leaf,
      ]);
      assert.match(out, /leaf\.pem: OK/);
    });
  }

  test('without URLs a leaf has neither CRL DP nor AIA, and no EKU when none is asked for', async () => {
    const ca = await sharedCa('EC-P256');
    const builder = createLeafBuilder({ certDer: ca.issuerDer, keyType: 'EC-P256' });
    const tbs = builder.buildTbs({
      serial: randomSerial(),
      spki: await leafKey('EC-P256'),
      identifiers: [{ type: 'dns', value: 'a.test' }],
      notBefore: now,
      notAfter: new Date(now.getTime() + DAY),
      ekus: [],
      leafKeyType: 'EC-P256',
    });
    const cert = new x509.X509Certificate(builder.assemble(tbs, await ca.issuer.sign(tbs)));
    assert.equal(cert.getExtension(x509.CRLDistributionPointsExtension), null);
    assert.equal(cert.getExtension(x509.AuthorityInfoAccessExtension), null);
    assert.equal(cert.getExtension(x509.ExtendedKeyUsageExtension), null);
  });

  test('a first DNS name longer than 64 characters leaves the subject empty', async () => {
    const ca = await sharedCa('EC-P256');
    const builder = createLeafBuilder({ certDer: ca.issuerDer, keyType: 'EC-P256' });
    const long = `${'a'.repeat(60)}.example.test`;
    const tbs = builder.buildTbs({
      serial: randomSerial(),
      spki: await leafKey('EC-P256'),
      identifiers: [{ type: 'dns', value: long }],
      notBefore: now,
      notAfter: new Date(now.getTime() + DAY),
      ekus: ['serverAuth'],
      leafKeyType: 'EC-P256',
    });
    const cert = new x509.X509Certificate(builder.assemble(tbs, await ca.issuer.sign(tbs)));
    assert.equal(cert.subject, '');
    assert.equal(ext(cert, x509.SubjectAlternativeNameExtension).critical, true);
  });

  test('rejects bad serials, an empty identifier list, a lifetime past the issuer, and a mismatched key type', async () => {
    const ca = await sharedCa('EC-P256');
    const builder = createLeafBuilder({ certDer: ca.issuerDer, keyType: 'EC-P256' });
    const spki = await leafKey('EC-P256');
    const ok = {
      serial: randomSerial(),
      spki,
      identifiers: [{ type: 'dns', value: 'a.test' }] as Identifier[],
      notBefore: now,
      notAfter: new Date(now.getTime() + DAY),
      ekus: ['serverAuth'] as 'serverAuth'[],
      leafKeyType: 'EC-P256' as const,
    };
    const negative = randomSerial();
    negative[0] = 0x80;
    const leadingZero = randomSerial();
    leadingZero[0] = 0;
    for (const serial of [negative, leadingZero, new Uint8Array(7).fill(1), new Uint8Array(21).fill(1)]) {
      assert.throws(() => builder.buildTbs({ ...ok, serial }), RangeError);
    }
    assert.throws(() => builder.buildTbs({ ...ok, identifiers: [] }), RangeError);
    assert.throws(
      () => builder.buildTbs({ ...ok, identifiers: [{ type: 'dns', value: 'Bücher.test' }] }),
      /not a canonical DNS name/,
    );
    assert.throws(
      () => builder.buildTbs({ ...ok, identifiers: [{ type: 'ip', value: '300.1.1.1' }] }),
      TypeError,
    );
    assert.throws(
      () => builder.buildTbs({ ...ok, notAfter: new Date(now.getTime() + 4000 * DAY) }),
      /past the issuer/,
    );
    assert.throws(() => builder.buildTbs({ ...ok, notAfter: now }), /after notBefore/);
    assert.throws(() => builder.buildTbs({ ...ok, leafKeyType: 'RSA-2048' }), /does not match/);
    assert.throws(() => builder.buildTbs({ ...ok, leafKeyType: 'EC-P384' }), /does not match/);
    assert.throws(() => builder.buildTbs({ ...ok, spki: Uint8Array.of(1, 2, 3) }));
    assert.throws(() => createLeafBuilder({ certDer: ca.issuerDer, keyType: 'EC-P384' }), /not EC-P384/);
  });
});
