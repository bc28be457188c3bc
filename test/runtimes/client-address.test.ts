// The client address that per-address buckets are keyed on (admin login throttle, newAccountsPerIP)
// is the connection's, on Deno (the npm `deno` binary, Deno.serve's remoteAddr) as on Node: a client
// sending CF-Connecting-IP or X-Forwarded-For does not get a bucket of its own. Only with
// EDGECA_TRUSTED_PROXY_HEADER is that header read, and then only its last entry (the one the proxy
// wrote). On Deno the edge database is created 0600 too. Signer on SoftHSM (startSystem).
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createClient } from '@libsql/client';
import type { FetchLike } from '../support/acme.ts';
import { httpsFetch } from '../support/https-fetch.ts';
import { type System, startSystem } from '../support/system.ts';
import { type RunningEdge, startDenoEdge } from './edges.ts';

const LIMIT = 3;
let sys: System;
let fetch: FetchLike;
let plain: RunningEdge;
let proxied: RunningEdge;
const dbOf = (name: string) => join(sys.dir, name);

/** A wrong admin token from this process (always 127.0.0.1), with the headers given. */
async function wrongLogin(edgeUrl: string, headers: Record<string, string>): Promise<number> {
  const res = await fetch(`${edgeUrl}/admin/policies`, {
    headers: { authorization: 'Bearer edgeca_admin_wrong', ...headers },
  });
  await res.arrayBuffer();
  return res.status;
}

async function bucketKeys(dbFile: string): Promise<string[]> {
  const c = createClient({ url: `file:${dbFile}` });
  try {
    const r = await c.execute(
      "SELECT key FROM rate_buckets WHERE key LIKE 'adminAuthFailures:%' ORDER BY key",
    );
    return r.rows.map((x) => String(x.key));
  } finally {
    c.close();
  }
}

const spoofed = (i: number) => ({
  'cf-connecting-ip': `198.51.100.${i}`,
  'x-forwarded-for': `203.0.113.${i}`,
  'x-real-ip': `192.0.2.${i}`,
});

describe('the client address on Deno', { timeout: 300_000 }, () => {
  before(async () => {
    sys = await startSystem({ env: { EDGECA_ADMIN_AUTH_FAILURES_PER_MIN: String(LIMIT) } });
    fetch = httpsFetch(sys.caFile);
    const common = { sys, dnsResolver: '127.0.0.1:9', http01Port: 9, fetch };
    plain = await startDenoEdge({
      ...common,
      dbUrl: `file:${dbOf('deno-plain.db')}`,
      env: { EDGECA_ADMIN_AUTH_FAILURES_PER_MIN: String(LIMIT) },
    });
    proxied = await startDenoEdge({
      ...common,
      dbUrl: `file:${dbOf('deno-proxied.db')}`,
      env: {
        EDGECA_ADMIN_AUTH_FAILURES_PER_MIN: String(LIMIT),
        EDGECA_TRUSTED_PROXY_HEADER: 'X-Forwarded-For',
      },
    });
  });
  after(async () => {
    await plain?.stop();
    await proxied?.stop();
    await sys?.stop();
  });

  it('is the connection address: spoofed forwarding headers do not change the bucket', async () => {
    for (let i = 1; i <= LIMIT; i++)
      assert.equal(await wrongLogin(plain.listenUrl, spoofed(i)), 401, `attempt ${i}`);
    assert.equal(
      await wrongLogin(plain.listenUrl, spoofed(99)),
      429,
      'a new spoofed address is still throttled',
    );
    assert.equal(await wrongLogin(plain.listenUrl, {}), 429);
    assert.deepEqual(await bucketKeys(dbOf('deno-plain.db')), ['adminAuthFailures:127.0.0.1']);
  });

  it('is the same on Node (one rule on every runtime)', async () => {
    for (let i = 1; i <= LIMIT; i++)
      assert.equal(await wrongLogin(sys.edgeUrl, spoofed(i)), 401, `attempt ${i}`);
    assert.equal(await wrongLogin(sys.edgeUrl, spoofed(99)), 429);
  });

  it('is the last entry of the trusted proxy header when EDGECA_TRUSTED_PROXY_HEADER names one', async () => {
    const from = (xff: string) => wrongLogin(proxied.listenUrl, { 'x-forwarded-for': xff });
    for (let i = 1; i <= LIMIT; i++) assert.equal(await from('10.0.0.1'), 401, `attempt ${i}`);
    assert.equal(await from('10.0.0.1'), 429);
    // Another client behind the proxy has its own bucket ...
    assert.equal(await from('10.0.0.2'), 401);
    // ... and what a client puts in front of the proxy's entry is ignored.
    assert.equal(await from('10.0.0.2, 10.0.0.1'), 429);
    assert.equal(await from('10.0.0.1, 10.0.0.2'), 401);
    // CF-Connecting-IP is not the configured header: it changes nothing.
    assert.equal(
      await wrongLogin(proxied.listenUrl, { 'x-forwarded-for': '10.0.0.1', 'cf-connecting-ip': '10.9.9.9' }),
      429,
    );
    assert.deepEqual(await bucketKeys(dbOf('deno-proxied.db')), [
      'adminAuthFailures:10.0.0.1',
      'adminAuthFailures:10.0.0.2',
    ]);
  });

  it('falls back to the connection address when the trusted header is missing or not an address', async () => {
    assert.equal(await wrongLogin(proxied.listenUrl, {}), 401);
    assert.equal(await wrongLogin(proxied.listenUrl, { 'x-forwarded-for': 'not-an-address' }), 401);
    assert.ok((await bucketKeys(dbOf('deno-proxied.db'))).includes('adminAuthFailures:127.0.0.1'));
  });

  it('keeps the edge database 0600 on Deno too', () => {
    for (const f of ['deno-plain.db', 'deno-plain.db-wal', 'deno-plain.db-shm'])
      assert.equal((statSync(dbOf(f)).mode & 0o777).toString(8), '600', f);
  });
});
