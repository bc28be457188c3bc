import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newWebhookSecret, signWebhook, verifyWebhook } from './signature.ts';

// The test vector the Standard Webhooks reference libraries publish: a receiver's library verifies
// what we send only if this comes out byte for byte.
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

test('signs the Standard Webhooks test vector exactly', async () => {
  const h = await signWebhook(VECTOR.secret, {
    id: VECTOR.id,
    timestampSeconds: VECTOR.timestamp,
    body: VECTOR.body,
  });
  assert.deepEqual(h, {
    'webhook-id': VECTOR.id,
    'webhook-timestamp': String(VECTOR.timestamp),
    'webhook-signature': VECTOR.signature,
  });
});

test('verifies a good signature among several and refuses a changed body, an old timestamp or another key', async () => {
  const headers = {
    id: VECTOR.id,
    timestamp: String(VECTOR.timestamp),
    signature: `v1,bm9wZQ== ${VECTOR.signature}`,
  };
  assert.equal(await verifyWebhook(VECTOR.secret, headers, VECTOR.body, VECTOR.timestamp + 10), true);
  assert.equal(await verifyWebhook(VECTOR.secret, headers, `${VECTOR.body} `, VECTOR.timestamp), false);
  assert.equal(await verifyWebhook(VECTOR.secret, headers, VECTOR.body, VECTOR.timestamp + 301), false);
  assert.equal(await verifyWebhook(newWebhookSecret(), headers, VECTOR.body, VECTOR.timestamp), false);
});

test('new secrets carry the whsec_ prefix and 32 bytes of key, each one different', () => {
  const a = newWebhookSecret();
  assert.match(a, /^whsec_[A-Za-z0-9+/]{43}=$/);
  assert.notEqual(a, newWebhookSecret());
});
