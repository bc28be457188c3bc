// The edge's request id, request log line, /health, /ready and /metrics, driven in-process over a
// real libSQL file with signer stand-ins.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createClient } from '@libsql/client';
import { exportJWK, generateKeyPair } from 'jose';
import { createApp } from '../app.ts';
import { defaultEdgeConfig } from '../config.ts';
import { createNodeRuntime } from '../platform/node.ts';
import type { SignerClient } from '../relay/signer-client.ts';
import { createServices } from '../services.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function edge(signer: SignerClient, publicMetrics = true, sqlStatementMetrics = false) {
  const dir = mkdtempSync(join(tmpdir(), 'edgeca-obs-'));
  dirs.push(dir);
  const dbUrl = `file:${join(dir, 'edge.db')}`;
  const relay = await generateKeyPair('ES256', { extractable: true });
  const config = defaultEdgeConfig({
    baseUrl: 'https://acme.test',
    dbUrl,
    signerUrl: 'http://127.0.0.1:9',
    relayKeyJwk: { ...(await exportJWK(relay.privateKey)), kid: 'edge-test' },
    sqlStatementMetrics,
  });
  const logs: Record<string, unknown>[] = [];
  const svc = await createServices({
    config,
    runtime: createNodeRuntime(),
    dbClient: createClient({ url: dbUrl }),
    signer,
    log: (l) => logs.push(l),
  });
  return { app: createApp(svc, { publicMetrics }), logs };
}

const healthySigner = (ok: boolean): SignerClient => ({
  sign: async () => ({ status: 'unavailable', detail: 'stand-in' }),
  revoke: async () => ({ status: 'unavailable', detail: 'stand-in' }),
  crl: async () => new Uint8Array(),
  health: async () => ({ ok, detail: ok ? 'signer ok, HSM session open' : 'hsm: unavailable' }),
});

test('answers with the client request id when it is a short token, and logs one line with it', async () => {
  const { app, logs } = await edge(healthySigner(true));
  const res = await app.request('https://acme.test/directory', {
    headers: { 'X-Request-Id': 'abc-12345678' },
  });
  assert.equal(res.headers.get('x-request-id'), 'abc-12345678');
  const lines = logs.filter((l) => l.event === 'request');
  assert.equal(lines.length, 1);
  assert.deepEqual(
    { ...lines[0], ms: 0 },
    {
      event: 'request',
      rid: 'abc-12345678',
      method: 'GET',
      path: '/directory',
      route: '/directory',
      status: 200,
      ms: 0,
    },
  );
});

test('replaces a request id that is too long or has odd characters', async () => {
  const { app } = await edge(healthySigner(true));
  for (const bad of ['x'.repeat(65), 'a b c d e f g h', 'short', 'tok"en<script>']) {
    const res = await app.request('https://acme.test/health', { headers: { 'X-Request-Id': bad } });
    const rid = res.headers.get('x-request-id') ?? '';
    assert.notEqual(rid, bad);
    assert.match(rid, /^[A-Za-z0-9_-]{16}$/);
  }
});

test('logs the problem type of a failed request, never its query string', async () => {
  const { app, logs } = await edge(healthySigner(true));
  const res = await app.request('https://acme.test/no/such?token=edgeca_admin_secret');
  assert.equal(res.status, 404);
  const line = logs.find((l) => l.event === 'request');
  assert.equal(line?.problem, 'notFound');
  assert.equal(line?.route, 'other');
  assert.doesNotMatch(JSON.stringify(logs), /edgeca_admin_secret/);
});

test('ready when the database answers and the signer has its HSM; 503 naming the signer otherwise', async () => {
  const up = await edge(healthySigner(true));
  const ok = await up.app.request('https://acme.test/ready');
  assert.equal(ok.status, 200);
  const body = (await ok.json()) as { status: string; checks: { name: string; ok: boolean }[] };
  assert.deepEqual(
    body.checks.map((c) => [c.name, c.ok]),
    [
      ['database', true],
      ['signer', true],
    ],
  );
  const down = await edge(healthySigner(false));
  const bad = await down.app.request('https://acme.test/ready');
  assert.equal(bad.status, 503);
  const doc = (await bad.json()) as {
    status: string;
    checks: { name: string; ok: boolean; detail: string }[];
  };
  assert.equal(doc.status, 'not ready');
  assert.deepEqual(
    doc.checks.find((c) => c.name === 'signer'),
    { ...doc.checks.find((c) => c.name === 'signer'), ok: false, detail: 'hsm: unavailable' },
  );
  assert.equal((await down.app.request('https://acme.test/health')).status, 200);
});

test('/metrics counts requests by route and status, problems by type, and reads gauges from the database', async () => {
  const { app } = await edge(healthySigner(true));
  await app.request('https://acme.test/directory');
  await app.request('https://acme.test/directory');
  await app.request('https://acme.test/nope');
  const res = await app.request('https://acme.test/metrics');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  assert.match(text, /^edgeca_http_requests_total\{method="GET",route="\/directory",status="200"\} 2$/m);
  assert.match(text, /^edgeca_http_requests_total\{method="GET",route="other",status="404"\} 1$/m);
  assert.match(text, /^edgeca_acme_problems_total\{type="notFound"\} 1$/m);
  assert.match(text, /^edgeca_orders\{status="valid"\} 0$/m);
  assert.match(text, /^edgeca_nonces_used \d+$/m);
  assert.match(text, /^edgeca_collector_errors 0$/m);
  assert.match(text, /^edgeca_http_request_duration_seconds_bucket\{route="\/directory",le="\+Inf"\} 2$/m);
});

test('with statement metrics on, /metrics counts SQL statements by verb and table; off, not at all', async () => {
  const on = await edge(healthySigner(true), true, true);
  await on.app.request('https://acme.test/metrics');
  // The first scrape's collectors read orders, certificates and nonces: the second scrape shows them.
  const text = await (await on.app.request('https://acme.test/metrics')).text();
  assert.match(text, /^# TYPE edgeca_sql_statements_total counter$/m);
  assert.match(text, /^edgeca_sql_statements_total\{kind="select orders"\} 1$/m);
  assert.match(text, /^edgeca_sql_statements_total\{kind="select certificates"\} 1$/m);
  assert.match(text, /^edgeca_sql_statements_total\{kind="select nonces"\} 1$/m);
  // the migrations at start-up ran as batches
  assert.match(text, /^edgeca_sql_statements_total\{kind="batch"\} [1-9]\d*$/m);

  const off = await edge(healthySigner(true));
  await off.app.request('https://acme.test/metrics');
  assert.doesNotMatch(
    await (await off.app.request('https://acme.test/metrics')).text(),
    /edgeca_sql_statements/,
  );
});

test('without public metrics, /metrics is not found and /admin/metrics needs a token', async () => {
  const { app } = await edge(healthySigner(true), false);
  assert.equal((await app.request('https://acme.test/metrics')).status, 404);
  assert.equal((await app.request('https://acme.test/admin/metrics')).status, 401);
});
