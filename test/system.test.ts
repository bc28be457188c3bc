// Proves the integration harness itself: the dev bootstrap, the signer and the HTTPS edge come up
// together, the edge's certificate verifies against the dev root, and both survive a restart.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { after, before, test } from 'node:test';
import { type System, startSystem } from './support/system.ts';

let sys: System;

before(async () => {
  sys = await startSystem();
});
after(async () => {
  await sys?.stop();
});

/** GET over HTTPS, trusting only the dev root. */
function getJson(url: string, caFile: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    // agent: false — a pooled keep-alive socket to the edge we just restarted would hang up.
    const req = request(url, { ca: readFileSync(caFile), timeout: 10_000, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON: keep the text
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

test('startSystem serves the ACME directory over HTTPS that verifies against the dev root', async () => {
  const { status, body } = await getJson(sys.directoryUrl, sys.caFile);
  assert.equal(status, 200);
  const dir = body as Record<string, unknown>;
  for (const key of ['newNonce', 'newAccount', 'newOrder']) {
    assert.match(String(dir[key]), new RegExp(`^${sys.edgeUrl}/`), key);
  }
});

test('startSystem runs a healthy signer', async () => {
  const res = await fetch(`${sys.signerUrl}/v1/health`);
  assert.equal(res.status, 200);
});

test('restartEdge brings the edge back on the same URL', async () => {
  await sys.restartEdge();
  const { status } = await getJson(sys.directoryUrl, sys.caFile);
  assert.equal(status, 200);
});

test('restartSigner brings the signer back on the same URL', async () => {
  await sys.restartSigner();
  const res = await fetch(`${sys.signerUrl}/v1/health`);
  assert.equal(res.status, 200);
});

test('a second startSystem in the same process is refused', async () => {
  await assert.rejects(startSystem(), /one system per test process/);
});
