import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createServiceMetrics, withObservability } from './observability.ts';

const relayApp = {
  fetch: (req: Request) => new Response(`relay ${new URL(req.url).pathname}`, { status: 200 }),
};

test('a service without readiness checks is ready, says its name and counts its requests under its prefix', async () => {
  const app = withObservability(relayApp, { metrics: createServiceMetrics('edgeca_test'), service: 'test' });
  assert.deepEqual(await (await app.request('/health')).json(), { status: 'ok', service: 'test' });
  const ready = await app.request('/ready');
  assert.equal(ready.status, 200);
  assert.deepEqual(await ready.json(), { status: 'ready', service: 'test', checks: [] });
  assert.equal(await (await app.request('/v1/validate', { method: 'POST' })).text(), 'relay /v1/validate');
  await app.request('/scan/me');
  const text = await (await app.request('/metrics')).text();
  assert.match(text, /^edgeca_test_requests_total\{method="POST",path="\/v1\/validate",status="200"\} 1$/m);
  assert.match(text, /^edgeca_test_requests_total\{method="GET",path="other",status="200"\} 1$/m);
  assert.doesNotMatch(text, /hsm/);
});

test('not ready (503) when a check fails, with every check in its order', async () => {
  const app = withObservability(relayApp, {
    metrics: createServiceMetrics('edgeca_test'),
    service: 'test',
    readiness: [
      async () => ({ name: 'a', ok: true, detail: 'fine' }),
      async () => ({ name: 'b', ok: false, detail: 'down' }),
    ],
  });
  const res = await app.request('/ready');
  assert.equal(res.status, 503);
  assert.deepEqual(await res.json(), {
    status: 'not ready',
    service: 'test',
    checks: [
      { name: 'a', ok: true, detail: 'fine' },
      { name: 'b', ok: false, detail: 'down' },
    ],
  });
});
