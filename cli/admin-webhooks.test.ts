import assert from 'node:assert/strict';
import { test } from 'node:test';
import { webhookCreateBody, webhookSettingsBody, webhookUpdateBody } from './admin-webhooks.ts';

test('webhook create builds the API body from --target and --events', () => {
  assert.deepEqual(
    webhookCreateBody({
      target: 'https://h.example/x',
      events: 'certificate.issued, order.failed',
      description: 'ops',
    }),
    { url: 'https://h.example/x', events: ['certificate.issued', 'order.failed'], description: 'ops' },
  );
});

test('refuses what the API would refuse, naming the fix', () => {
  assert.throws(() => webhookCreateBody({ events: 'order.failed' }), /--target/);
  assert.throws(
    () => webhookCreateBody({ target: 'https://h/', events: 'cert.made' }),
    /unknown cert\.made.*certificate\.issued/,
  );
  assert.throws(() => webhookUpdateBody({}), /needs one of/);
  assert.throws(() => webhookUpdateBody({ enable: true, disable: true }), /exclude/);
  assert.throws(() => webhookSettingsBody({ 'allow-private': 'yes' }), /true or false/);
});

test('webhook update and settings send only what was given', () => {
  assert.deepEqual(webhookUpdateBody({ disable: true }), { enabled: false });
  assert.deepEqual(webhookSettingsBody({ 'allow-private': 'true', interval: '5' }), {
    allowPrivateTargets: true,
    intervalSeconds: 5,
  });
});
