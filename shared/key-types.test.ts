import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ecLeafKeyType, isLeafKeyType, LEAF_KEY_TYPES, rsaLeafKeyType } from './key-types.ts';

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
