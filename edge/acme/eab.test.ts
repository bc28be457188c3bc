import assert from 'node:assert/strict';
import { test } from 'node:test';
import { b64uDecode } from '../../shared/encoding.ts';
import { newEabCredentials } from './eab.ts';

test('new EAB credentials never start with "-" (certbot would read the HMAC key as an option)', () => {
  // P(a base64url string starts with "-") = 1/64: 5,000 draws would all but surely hit it unguarded.
  const seen = new Set<string>();
  for (let i = 0; i < 5000; i++) {
    const { kid, hmacKey } = newEabCredentials();
    assert.ok(!hmacKey.startsWith('-') && !kid.slice(4).startsWith('-'), `${kid} ${hmacKey}`);
    assert.equal(b64uDecode(hmacKey).length, 32);
    seen.add(hmacKey);
  }
  assert.equal(seen.size, 5000);
});
