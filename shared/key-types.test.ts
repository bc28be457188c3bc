import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OID, oidDer } from './der.ts';
import { toHex } from './encoding.ts';
import {
  CA_KEY_TYPES,
  caKeyTypeOfSpkiParts,
  ecLeafKeyType,
  isCaKeyType,
  isLeafKeyType,
  keyTypeRow,
  LEAF_KEY_ROWS,
  LEAF_KEY_TYPES,
  rsaLeafKeyType,
  spkiFitsKeyType,
} from './key-types.ts';

test('RSA moduli count as the largest listed size at or below them; outside the range none', () => {
  const cases: [number, string | undefined][] = [
    [1024, undefined],
    [2047, undefined],
    [2048, 'RSA-2048'],
    [3000, 'RSA-2048'],
    [3072, 'RSA-3072'],
    [4095, 'RSA-3072'],
    [4096, 'RSA-4096'],
    [4097, undefined],
    [8192, undefined],
  ];
  for (const [bits, want] of cases) assert.equal(rsaLeafKeyType(bits), want, `${bits} bits`);
});

test('EC keys on P-256 and P-384 are leaf key types; other curves are not', () => {
  assert.equal(ecLeafKeyType('P-256'), 'EC-P256');
  assert.equal(ecLeafKeyType('P-384'), 'EC-P384');
  assert.equal(ecLeafKeyType('P-521'), undefined);
});

test('the list names each type once and validation accepts exactly it', () => {
  assert.deepEqual(LEAF_KEY_TYPES, ['EC-P256', 'EC-P384', 'RSA-2048', 'RSA-3072', 'RSA-4096']);
  for (const t of LEAF_KEY_TYPES) assert.ok(isLeafKeyType(t));
  for (const t of ['unsupported', 'Ed25519', 'ec-p256', 42]) assert.ok(!isLeafKeyType(t));
});

test('the CA key types are the rows marked ca; RSA-2048 is a leaf key type only', () => {
  assert.deepEqual(CA_KEY_TYPES, ['EC-P256', 'EC-P384', 'RSA-3072', 'RSA-4096']);
  assert.ok(isLeafKeyType('RSA-2048') && !isCaKeyType('RSA-2048'));
  for (const t of CA_KEY_TYPES) assert.ok(isCaKeyType(t) && keyTypeRow(t).ca);
});

test("an EC row's curve OID encodes as the ECParameters a PKCS#11 token takes", () => {
  // CKA_EC_PARAMS for P-256 and P-384 as pkcs11-tool and SoftHSM write them
  const want: Record<string, string> = { 'EC-P256': '06082a8648ce3d030107', 'EC-P384': '06052b81040022' };
  for (const row of LEAF_KEY_ROWS)
    if (row.family === 'EC') assert.equal(toHex(oidDer(row.curveOid)), want[row.name], row.name);
});

test('a public key fits the key types of its family and curve, and is a CA key type only at a CA size', () => {
  const ec = (curve: string) => ({ algorithm: OID.ecPublicKey, curve });
  const rsa = (modulusBits: number) => ({ algorithm: OID.rsaEncryption, modulusBits });
  assert.ok(spkiFitsKeyType('EC-P256', ec(OID.p256)));
  assert.ok(!spkiFitsKeyType('EC-P384', ec(OID.p256)));
  assert.ok(!spkiFitsKeyType('EC-P256', rsa(2048)));
  assert.ok(spkiFitsKeyType('RSA-3072', rsa(2048)));
  assert.ok(!spkiFitsKeyType('RSA-2048', ec(OID.p256)));
  assert.equal(caKeyTypeOfSpkiParts(ec(OID.p384)), 'EC-P384');
  assert.equal(caKeyTypeOfSpkiParts(ec(OID.p521)), undefined);
  assert.equal(caKeyTypeOfSpkiParts(rsa(4096)), 'RSA-4096');
  assert.equal(caKeyTypeOfSpkiParts(rsa(2048)), undefined);
  assert.equal(caKeyTypeOfSpkiParts(rsa(3000)), undefined);
});
