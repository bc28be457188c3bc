// Every key type in shared/key-types.ts goes through the signer by that one list: a leaf key of each
// type is read from a real CSR as that type, passes the ceiling that lists it (and only that one),
// and is certified by the leaf builder; a CA key of each `ca` type is what --key-type takes, gets
// its PKCS#11 templates and mechanisms, and signs a CA certificate the builder recognises. The HSM
// side, on SoftHSM, is the token suite's (test/support/hsm-tokens.ts runs it for every CA key type).
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, test } from 'node:test';
import * as x509 from '@peculiar/x509';
import pkcs11js from 'pkcs11js';
import { parseCsr } from '../shared/csr.ts';
import { OID, oidText, readTlv, spkiParts } from '../shared/der.ts';
import { CA_KEY_TYPES, keyTypeRow, LEAF_KEY_TYPES } from '../shared/key-types.ts';
import type { Identifier } from '../shared/problems.ts';
import { webCryptoParams } from '../test/support/software-ca-signer.ts';
import { DAY, leafKey, now, sharedCa, verifiesWith } from '../test/support/x509.ts';
import { type CeilingRequest, checkCeiling, checkCeilingKeyTypes } from './ceiling.ts';
import { keyType as keyTypeOption, UsageError } from './cli-common.ts';
import type { Ceiling } from './config.ts';
import { keyGenTemplates } from './hsm/keys.ts';
import { keyGenMechanism, signMechanism } from './hsm/mechanisms.ts';
import { caKeyTypeOfSpki, caSignatureHash, signatureAlgorithm } from './x509/common.ts';
import { createLeafBuilder, randomSerial } from './x509/leaf.ts';

const ids: Identifier[] = [{ type: 'dns', value: 'kt.internal.test' }];

function ceiling(keyTypes: Ceiling['keyTypes']): Ceiling {
  return {
    dnsSuffixes: ['internal.test'],
    ipRanges: [],
    allowWildcards: false,
    maxLifetimeSeconds: 30 * 86_400,
    keyTypes,
    profiles: { default: { ekus: ['serverAuth'], maxLifetimeSeconds: 7 * 86_400 } },
  };
}

describe('every leaf key type in the list', () => {
  for (const type of LEAF_KEY_TYPES) {
    test(`${type}: read from a CSR, allowed by the ceiling that lists it, certified by the leaf builder`, async () => {
      const params = webCryptoParams(type);
      const keys = (await crypto.subtle.generateKey(params.generate, false, [
        'sign',
        'verify',
      ])) as CryptoKeyPair;
      const csrDer = new Uint8Array(
        (
          await x509.Pkcs10CertificateRequestGenerator.create({
            keys,
            signingAlgorithm: { ...(params.sign as Algorithm), hash: keyTypeRow(type).hash },
            extensions: [
              new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: ids[0]?.value ?? '' }]),
            ],
          })
        ).rawData,
      );
      const csr = await parseCsr(csrDer);
      assert.equal(csr.keyType, type);

      checkCeilingKeyTypes({ keyTypes: [type] });
      const request: CeilingRequest = {
        identifiers: ids,
        profile: 'default',
        notBefore: new Date(),
        notAfter: new Date(Date.now() + DAY),
        csr,
      };
      assert.equal(checkCeiling(ceiling([...LEAF_KEY_TYPES]), request, new Date()), null);
      const others = LEAF_KEY_TYPES.filter((t) => t !== type);
      assert.equal(checkCeiling(ceiling(others), request, new Date())?.rule, 'keyType');

      const ca = await sharedCa('EC-P256');
      const builder = createLeafBuilder({ certDer: ca.issuerDer, keyType: 'EC-P256' });
      const leaf = {
        serial: randomSerial(),
        spki: csr.spki,
        identifiers: ids,
        notBefore: now,
        notAfter: new Date(now.getTime() + DAY),
        ekus: ['serverAuth' as const],
      };
      const tbs = builder.buildTbs({ ...leaf, leafKeyType: type });
      const cert = new X509Certificate(builder.assemble(tbs, await ca.issuer.sign(tbs)));
      assert.equal(cert.publicKey.asymmetricKeyType, keyTypeRow(type).family === 'EC' ? 'ec' : 'rsa');
      // Another family, or another curve, is not this key.
      const mismatched = LEAF_KEY_TYPES.filter((t) => {
        const r = keyTypeRow(t);
        const mine = keyTypeRow(type);
        return (
          r.family !== mine.family || (r.family === 'EC' && mine.family === 'EC' && r.curve !== mine.curve)
        );
      });
      assert.ok(mismatched.length > 0);
      for (const t of mismatched) {
        assert.throws(
          () => builder.buildTbs({ ...leaf, leafKeyType: t }),
          /does not match the SubjectPublicKeyInfo/,
          t,
        );
      }
    });
  }
});

describe('every CA key type in the list', () => {
  test('the CA key types are the rows marked ca, and --key-type takes exactly them', () => {
    assert.deepEqual(CA_KEY_TYPES, ['EC-P256', 'EC-P384', 'RSA-3072', 'RSA-4096']);
    for (const t of CA_KEY_TYPES) assert.equal(keyTypeOption({ 'key-type': t }), t);
    for (const t of ['RSA-2048', 'Ed25519', 'ec-p256']) {
      assert.throws(
        () => keyTypeOption({ 'key-type': t }),
        (e: unknown) => {
          assert.ok(e instanceof UsageError);
          assert.match(e.message, new RegExp(`one of ${CA_KEY_TYPES.join(', ')}$`));
          return true;
        },
      );
    }
  });

  for (const type of CA_KEY_TYPES) {
    test(`${type}: PKCS#11 templates and mechanisms, and a CA certificate it signs`, async () => {
      const row = keyTypeRow(type);
      const t = keyGenTemplates('k', type);
      assert.equal(t.mechanism, keyGenMechanism(type));
      if (row.family === 'EC') {
        assert.equal(t.mechanism, pkcs11js.CKM_EC_KEY_PAIR_GEN);
        assert.equal(signMechanism(type), pkcs11js.CKM_ECDSA);
        const params = new Uint8Array(t.publicTemplate.paramsEC as Buffer);
        const tlv = readTlv(params);
        assert.equal(oidText(params.subarray(tlv.contentStart, tlv.end)), row.curveOid);
      } else {
        assert.equal(t.mechanism, pkcs11js.CKM_RSA_PKCS_KEY_PAIR_GEN);
        assert.equal(signMechanism(type), pkcs11js.CKM_SHA256_RSA_PKCS);
        assert.equal(t.publicTemplate.modulusBits, row.bits);
      }

      const ca = await sharedCa(type);
      assert.equal(caKeyTypeOfSpki(ca.issuer.spki), type);
      const cert = new x509.X509Certificate(ca.issuerDer);
      assert.ok(await verifiesWith(cert, ca.root, type));
      const sigAlg = readTlv(signatureAlgorithm(type));
      const oid = readTlv(signatureAlgorithm(type), sigAlg.contentStart);
      assert.equal(oidText(signatureAlgorithm(type).subarray(oid.contentStart, oid.end)), row.signatureOid);
      assert.equal(caSignatureHash(type), row.hash === 'SHA-384' ? 'sha384' : 'sha256');
      if (row.family === 'RSA') assert.equal(spkiParts(ca.issuer.spki).modulusBits, row.bits);
      else assert.equal(spkiParts(ca.issuer.spki).curve, row.curveOid);
    });
  }

  test('a leaf-only key type is no CA key: RSA-2048 is not recognised as one', async () => {
    assert.equal(caKeyTypeOfSpki(await leafKey('RSA-2048')), undefined);
    assert.equal(spkiParts(await leafKey('RSA-2048')).algorithm, OID.rsaEncryption);
  });
});
