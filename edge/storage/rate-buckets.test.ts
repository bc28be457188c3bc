// GCRA buckets in libSQL: bursts up to the limit, refusals with the right wait, recovery, refunds,
// and one bucket shared by two instances (two connections to one database file).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Client, createClient } from '@libsql/client';
import { openDatabase } from './db.ts';
import { type Bucket, createBucket } from './rate-buckets.ts';

describe('GCRA buckets in the shared database', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgeca-gcra-'));
  const clients: Client[] = [];
  let a: Bucket;
  let b: Bucket;
  before(async () => {
    for (let i = 0; i < 2; i++) clients.push(createClient({ url: `file:${join(dir, 'edge.db')}` }));
    a = createBucket((await openDatabase(clients[0]!)).db);
    b = createBucket((await openDatabase(clients[1]!)).db);
  });
  after(() => {
    for (const c of clients) c.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const limit = { count: 3, windowSeconds: 60 };

  it('admits a burst of the limit and refuses the next with the time until a token is back', async () => {
    const t0 = 1_000_000;
    for (let i = 0; i < 3; i++) assert.deepEqual(await a.take('k1', limit, t0), { ok: true }, `request ${i}`);
    assert.deepEqual(await a.take('k1', limit, t0), { ok: false, retryAfterSeconds: 20 });
  });
  it('admits again once the interval has passed, and only one', async () => {
    const t1 = 1_000_000 + 20_000;
    assert.deepEqual(await a.take('k1', limit, t1), { ok: true });
    assert.equal((await a.take('k1', limit, t1)).ok, false);
  });
  it('shares the bucket between instances', async () => {
    const t = 5_000_000;
    for (let i = 0; i < 3; i++) assert.equal((await (i % 2 ? a : b).take('k2', limit, t)).ok, true);
    assert.equal((await b.take('k2', limit, t)).ok, false);
    assert.equal((await a.take('k2', limit, t)).ok, false);
  });
  it('gives a token back on refund', async () => {
    const t = 9_000_000;
    for (let i = 0; i < 3; i++) await a.take('k3', limit, t);
    await a.refund('k3', limit);
    assert.equal((await a.take('k3', limit, t)).ok, true);
  });
  it('keeps separate keys apart', async () => {
    assert.equal((await a.take('k4', limit, 1_000_000)).ok, true);
  });
  it('refuses everything under a limit of zero', async () => {
    assert.equal((await a.take('k5', { count: 0, windowSeconds: 10 })).ok, false);
  });
  it('prunes buckets that are full again', async () => {
    assert.ok((await a.prune(Number.MAX_SAFE_INTEGER)) >= 4);
  });
});
