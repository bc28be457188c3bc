import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type CaSigner, HsmUnavailableError } from './ca-signer.ts';
import { createSignerMetrics, instrumentCaSigner, withSignerObservability } from './metrics.ts';

const relayApp = {
  fetch: (req: Request) => new Response(`relay ${new URL(req.url).pathname}`, { status: 200 }),
};

test('times HSM signatures and counts failures by kind', async () => {
  const m = createSignerMetrics();
  let fail: Error | undefined;
  const raw: CaSigner = {
    keyType: 'EC-P256',
    spki: new Uint8Array([1]),
    sign: async () => {
      if (fail) throw fail;
      return new Uint8Array([2]);
    },
  };
  const s = instrumentCaSigner(raw, m);
  assert.equal(s.keyType, 'EC-P256');
  await s.sign(new Uint8Array());
  fail = new HsmUnavailableError('token removed');
  await assert.rejects(s.sign(new Uint8Array()), HsmUnavailableError);
  fail = new Error('CKR_FUNCTION_FAILED');
  await assert.rejects(s.sign(new Uint8Array()), /CKR_FUNCTION_FAILED/);
  const text = await m.registry.render();
  assert.match(text, /^edgeca_signer_hsm_sign_duration_seconds_count\{outcome="ok"\} 1$/m);
  assert.match(text, /^edgeca_signer_hsm_sign_duration_seconds_count\{outcome="error"\} 2$/m);
  assert.match(text, /^edgeca_signer_hsm_sign_errors_total\{kind="unavailable"\} 1$/m);
  assert.match(text, /^edgeca_signer_hsm_sign_errors_total\{kind="error"\} 1$/m);
});

test('ready with the HSM up and the database answering; 503 naming the HSM when it is down', async () => {
  let hsm = true;
  const db = { run: async () => ({}) };
  const app = withSignerObservability(relayApp, {
    metrics: createSignerMetrics(),
    hsmOk: async () => hsm,
    db,
  });
  const ok = await app.request('/ready');
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.json(), {
    status: 'ready',
    service: 'signer',
    checks: [
      { name: 'database', ok: true, detail: 'answers' },
      { name: 'hsm', ok: true, detail: 'session open' },
    ],
  });
  hsm = false;
  const down = await app.request('/ready');
  assert.equal(down.status, 503);
  assert.equal(((await down.json()) as { status: string }).status, 'not ready');
  assert.equal((await app.request('/health')).status, 200);
});

test('passes relay paths through, counts them, and folds unknown paths into one label', async () => {
  const app = withSignerObservability(relayApp, {
    metrics: createSignerMetrics(),
    hsmOk: async () => true,
  });
  assert.equal(await (await app.request('/v1/crl')).text(), 'relay /v1/crl');
  await app.request('/wp-admin/x');
  await app.request('/another/scan');
  const text = await (await app.request('/metrics')).text();
  assert.match(text, /^edgeca_signer_requests_total\{method="GET",path="\/v1\/crl",status="200"\} 1$/m);
  assert.match(text, /^edgeca_signer_requests_total\{method="GET",path="other",status="200"\} 2$/m);
  assert.match(text, /^edgeca_signer_hsm_up 1$/m);
});
