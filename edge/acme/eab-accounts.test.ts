// EAB keys that bind several accounts (maxAccounts): one account by default, a number, or no limit;
// set through the admin API; enforced by the account insert itself, so parallel newAccount requests
// with one key — on one edge or on two edges sharing the database — never bind more than the limit.
// Migration 5 gives existing keys the one-account limit.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createClient } from '@libsql/client';
import { newKey, TestAcme } from '../../test/support/acme.ts';
import { type InprocEdge, startInprocEdge } from '../../test/support/edge-app.ts';
import { openDatabase } from '../storage/db.ts';
import { MIGRATIONS } from '../storage/migrations.ts';

let edge: InprocEdge;
let second: InprocEdge;
let token: string;

async function adminCall(method: string, path: string, body?: unknown): Promise<Response> {
  return edge.app.request(`https://acme.test:14000/admin${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function newEabKey(body: Record<string, unknown>): Promise<{ kid: string; hmacKey: string }> {
  const res = await adminCall('POST', '/eab-keys', body);
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()) as { kid: string; hmacKey: string };
}

/** `n` newAccount requests with the key, all at once, split over the given edges. */
async function burst(key: { kid: string; hmacKey: string }, n: number, edges: InprocEdge[]) {
  const clients = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const e = edges[i % edges.length]!;
      const c = await new TestAcme(e.fetch, e.directoryUrl, await newKey()).init();
      const payload = {
        termsOfServiceAgreed: true,
        externalAccountBinding: await c.eab(key.kid, key.hmacKey),
      };
      return { c, payload };
    }),
  );
  const answers = await Promise.all(clients.map(({ c, payload }) => c.newAccount(payload)));
  const docs = await Promise.all(answers.map(async (r) => ({ status: r.status, body: await r.text() })));
  for (const d of docs)
    if (d.status !== 201)
      assert.match(d.body, /urn:ietf:params:acme:error:unauthorized/, `refusals are unauthorized: ${d.body}`);
  return docs.filter((d) => d.status === 201).length;
}

async function bound(kid: string): Promise<number> {
  const rows = await edge.svc.database.client!.execute({
    sql: 'SELECT count(*) AS n FROM accounts WHERE eab_kid = ?',
    args: [kid],
  });
  return Number(rows.rows[0]?.n);
}

describe('EAB keys binding several accounts', () => {
  before(async () => {
    edge = await startInprocEdge({ config: { eabRequired: true } });
    second = await startInprocEdge({ config: { eabRequired: true, dbUrl: edge.svc.config.dbUrl } });
    const { admin } = await edge.svc.stores();
    const t = await admin.newToken('eab-test', 'write');
    await admin.commit([t.stmt], {
      tokenId: 'cli',
      action: 'token.create',
      target: 'token',
      before: null,
      after: null,
    });
    token = t.token;
  });
  after(() => {
    second.close();
    edge.close();
  });

  it('binds one account by default, however many newAccount requests race for it', async () => {
    const key = await newEabKey({ name: 'one' });
    const view = (await (await adminCall('GET', `/eab-keys/${key.kid}`)).json()) as Record<string, unknown>;
    assert.equal(view.maxAccounts, 1);
    assert.equal(await burst(key, 6, [edge]), 1);
    assert.equal(await bound(key.kid), 1);
  });

  it('binds up to maxAccounts accounts under a parallel burst on one edge', async () => {
    const key = await newEabKey({ name: 'fleet', maxAccounts: 3 });
    assert.equal(await burst(key, 10, [edge]), 3);
    assert.equal(await bound(key.kid), 3);
    const view = (await (await adminCall('GET', `/eab-keys/${key.kid}`)).json()) as Record<string, unknown>;
    assert.deepEqual([view.boundAccounts, view.maxAccounts], [3, 3]);
  });

  it('binds up to maxAccounts accounts under a parallel burst on two edges sharing the database', async () => {
    const key = await newEabKey({ name: 'fleet-2', maxAccounts: 4 });
    assert.equal(await burst(key, 12, [edge, second]), 4);
    assert.equal(await bound(key.kid), 4);
  });

  it('binds any number with maxAccounts null (unlimited)', async () => {
    const key = await newEabKey({ name: 'unlimited', maxAccounts: null });
    assert.equal(await burst(key, 7, [edge, second]), 7);
    const { keys } = (await (await adminCall('GET', '/eab-keys')).json()) as {
      keys: { kid: string; maxAccounts: number | null; boundAccounts: number }[];
    };
    const listed = keys.find((k) => k.kid === key.kid);
    assert.deepEqual([listed?.boundAccounts, listed?.maxAccounts], [7, null]);
  });

  it('binds more once an admin raises the limit, and records the change', async () => {
    const key = await newEabKey({ name: 'grow', maxAccounts: 1 });
    assert.equal(await burst(key, 2, [edge]), 1);
    const res = await adminCall('PATCH', `/eab-keys/${key.kid}`, { maxAccounts: 3 });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(
      ((await res.json()) as { maxAccounts: number }).maxAccounts,
      3,
      'the answer shows the new limit',
    );
    assert.equal(await burst(key, 4, [edge]), 2);
    const { changes } = (await (await adminCall('GET', `/changes?target=eab:${key.kid}`)).json()) as {
      changes: { action: string; before: { maxAccounts: number }; after: { maxAccounts: number } }[];
    };
    assert.equal(changes[0]?.action, 'eab.update');
    assert.deepEqual([changes[0]?.before.maxAccounts, changes[0]?.after.maxAccounts], [1, 3]);
  });

  for (const bad of [0, -1, 1.5, '3', true, 10_000_000]) {
    it(`refuses maxAccounts ${JSON.stringify(bad)} with a 400 naming the field, creating nothing`, async () => {
      const before = (await edge.svc.eab.list()).length;
      const res = await adminCall('POST', '/eab-keys', { name: 'bad', maxAccounts: bad });
      assert.equal(res.status, 400);
      assert.equal(((await res.json()) as { field?: string }).field, 'maxAccounts');
      assert.equal((await edge.svc.eab.list()).length, before);
    });
  }
});

describe('migration 5 (maxAccounts)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgeca-migration-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A database as the edge left it before migration 5, with one key bound to one account. */
  async function oldDatabase(name: string): Promise<string> {
    const url = `file:${join(dir, name)}`;
    const c = createClient({ url });
    await c.execute(
      'CREATE TABLE schema_migrations (id INTEGER PRIMARY KEY NOT NULL, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
    );
    for (const m of MIGRATIONS.filter((x) => x.id <= 4)) {
      for (const s of m.statements) await c.execute(s);
      await c.execute({ sql: 'INSERT INTO schema_migrations VALUES (?, ?, 0)', args: [m.id, m.name] });
    }
    await c.execute(
      "INSERT INTO eab_keys (kid, hmac_key, name, account_id, created_at) VALUES ('k-old', 'x', '', 'acct-1', 0)",
    );
    await c.execute(
      "INSERT INTO accounts (id, thumbprint, jwk, status, eab_kid, created_at) VALUES ('acct-1', 't', '{}', 'valid', 'k-old', 0)",
    );
    c.close();
    return url;
  }

  it('gives keys that existed before it the one-account limit', async () => {
    const url = await oldDatabase('old.db');
    const c = createClient({ url });
    try {
      await openDatabase(c);
      const r = await c.execute("SELECT max_accounts FROM eab_keys WHERE kid = 'k-old'");
      assert.equal(r.rows[0]?.max_accounts, 1);
    } finally {
      c.close();
    }
  });

  it('lets two instances that start at once both open the database', async () => {
    const url = await oldDatabase('race.db');
    const clients = [createClient({ url }), createClient({ url })];
    try {
      await Promise.all(clients.map((c) => openDatabase(c)));
      const r = await clients[0]!.execute('SELECT count(*) AS n FROM schema_migrations WHERE id = 5');
      assert.equal(Number(r.rows[0]?.n), 1);
    } finally {
      for (const c of clients) c.close();
    }
  });
});
