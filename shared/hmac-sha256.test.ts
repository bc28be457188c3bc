// The plain-JavaScript SHA-256 and HMAC-SHA-256 against RFC 4231's test vectors and against
// WebCrypto on keys and messages of every length around the block and padding boundaries.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromHex, toHex } from './encoding.ts';
import { HmacSha256, sha256Sync } from './hmac-sha256.ts';

const utf8 = (s: string) => new TextEncoder().encode(s);

test('HMAC-SHA-256 gives RFC 4231 test cases 1, 2, 4, 6 and 7', () => {
  const cases: [Uint8Array, Uint8Array, string][] = [
    [
      new Uint8Array(20).fill(0x0b),
      utf8('Hi There'),
      'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
    ],
    [
      utf8('Jefe'),
      utf8('what do ya want for nothing?'),
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    ],
    [
      fromHex('0102030405060708090a0b0c0d0e0f10111213141516171819'),
      new Uint8Array(50).fill(0xcd),
      '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b',
    ],
    [
      new Uint8Array(131).fill(0xaa),
      utf8('Test Using Larger Than Block-Size Key - Hash Key First'),
      '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
    ],
    [
      new Uint8Array(131).fill(0xaa),
      utf8(
        'This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.',
      ),
      '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2',
    ],
  ];
  for (const [key, data, mac] of cases) assert.equal(toHex(new HmacSha256(key).mac(data)), mac);
});

test('SHA-256 and HMAC-SHA-256 agree with WebCrypto for every length from 0 to 200 bytes', async () => {
  for (let len = 0; len <= 200; len++) {
    const data = crypto.getRandomValues(new Uint8Array(len));
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', data));
    assert.equal(toHex(sha256Sync(data)), toHex(digest), `digest of ${len} bytes`);
    const rawKey = crypto.getRandomValues(new Uint8Array((len * 7) % 150));
    if (rawKey.length === 0) continue;
    const key = await crypto.subtle.importKey('raw', rawKey, { name: 'HMAC', hash: 'SHA-256' }, false, [
      'sign',
    ]);
    const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, data));
    assert.equal(toHex(new HmacSha256(rawKey).mac(data)), toHex(mac), `MAC of ${len} bytes`);
  }
});
