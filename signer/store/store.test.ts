// The store's behaviour, one table of cases run on both engines: an embedded libSQL file and a
// throwaway PostgreSQL server (test/support/postgres.ts), each case on a fresh database. Two
// SignerStore objects on one database stand for two signers. PostgreSQL-only cases follow: the
// URL and password rules, an unreachable store, an outage, and a failover to a promoted standby.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createClient } from '@libsql/client';
import { StatementCounts } from '../../shared/sql-statements.ts';
import { type PgHarness, skipWithoutPostgres, startPostgres } from '../../test/support/postgres.ts';
import { runTool } from '../../test/support/tools.ts';
import { auditRowHash, GENESIS_HASH } from './audit.ts';
import { SCHEMA_VERSION } from './migrations.ts';
import { StoreUnavailableError } from './sql.ts';
import { type NewIntent, SignerStore } from './store.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgeca-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const ISSUER = 'a'.repeat(64);
const OTHER_ISSUER = 'b'.repeat(64);

/** One fresh database: its URL, raw SQL beside the store (to tamper), and a backup/restore pair. */
interface Fresh {
  url: string;
  exec(sql: string): Promise<void>;
  scalar(sql: string): Promise<string>;
  /** copies the database as it is now; restore() brings that copy back and gives its URL */
  backup(): Promise<{ restore(): Promise<string> }>;
}

interface EngineCase {
  name: string;
  skip: string | false;
  setUp(): Promise<void>;
  tearDown(): Promise<void>;
  fresh(): Promise<Fresh>;
}

let n = 0;
const libsql: EngineCase = {
  name: 'libSQL file',
  skip: false,
  async setUp() {},
  async tearDown() {},
  async fresh() {
    const file = join(dir, `s${++n}.db`);
    const url = `file:${file}`;
    const raw = async (sql: string) => {
      const c = createClient({ url });
      try {
        return await c.execute(sql);
      } finally {
        c.close();
      }
    };
    return {
      url,
      exec: async (sql) => void (await raw(sql)),
      scalar: async (sql) => String((await raw(sql)).rows[0]?.[0]),
      async backup() {
        // What an operator does: an online copy with VACUUM INTO (consistent, WAL included).
        const copy = `${file}.backup`;
        await raw(`VACUUM INTO '${copy}'`);
        return {
          async restore() {
            // The operator copies it over signer.db with every signer stopped. This process cannot
            // let go of the original (libSQL 0.18 keeps a closed database's files open, and SQLite's
            // locks are per process), so the copy goes beside it: the same bytes, a fresh file.
            const restored = `${file}.restored`;
            copyFileSync(copy, restored);
            return `file:${restored}`;
          },
        };
      },
    };
  },
};

const pgSkip = skipWithoutPostgres();
const PG_USER = { user: 'edgeca_signer', password: 'store-test-pw' };
/** One server for the whole file (the failover case, which kills its primary, comes last). */
let pg: PgHarness | undefined;
after(() => pg?.destroy());

async function pgHarness(): Promise<PgHarness> {
  if (!pg) {
    pg = await startPostgres();
    await pg.primary.psql(`CREATE ROLE ${PG_USER.user} LOGIN PASSWORD '${PG_USER.password}'`);
  }
  return pg;
}

const postgres: EngineCase = {
  name: 'PostgreSQL',
  skip: pgSkip,
  async setUp() {
    await pgHarness();
  },
  async tearDown() {},
  async fresh() {
    const db = `s${++n}`;
    const server = (await pgHarness()).primary;
    await server.psql(`CREATE DATABASE ${db} OWNER ${PG_USER.user} STRATEGY FILE_COPY`);
    const tool = async (name: string, args: string[]) => {
      const { postgresBinDir } = await import('../../scripts/lib/ensure.ts');
      const r = await runTool(join(postgresBinDir() ?? '', name), args, { timeoutMs: 60_000 });
      if (r.code !== 0) throw new Error(`${name}: ${r.stderr}`);
    };
    const conn = ['-h', '127.0.0.1', '-p', String(server.port), '-U', 'postgres'];
    return {
      url: server.url(db, PG_USER.user),
      exec: async (sql) => void (await server.psql(sql, db)),
      scalar: (sql) => server.psql(sql, db),
      async backup() {
        // What an operator does: pg_dump in its custom format, pg_restore into an empty database.
        const file = join(dir, `${db}.dump`);
        await tool('pg_dump', [...conn, '-Fc', '-f', file, db]);
        return {
          async restore() {
            await server.psql(`DROP DATABASE ${db} WITH (FORCE)`);
            await server.psql(`CREATE DATABASE ${db} OWNER ${PG_USER.user} STRATEGY FILE_COPY`);
            await tool('pg_restore', [...conn, '--no-owner', '--role', PG_USER.user, '-d', db, file]);
            return server.url(db, PG_USER.user);
          },
        };
      },
    };
  },
};

const open = (url: string, o: { issuer?: string; log?: (l: Record<string, unknown>) => void } = {}) =>
  SignerStore.open(url, {
    issuer: ISSUER,
    ...o,
    ...(url.startsWith('postgres') ? { password: PG_USER.password } : {}),
  });

const intentFor = (i: number, over: Partial<NewIntent> = {}): NewIntent => ({
  orderId: `g${i}`,
  serial: (0x1000 + i).toString(16),
  issuer: ISSUER,
  csrHash: 'h',
  tbs: new Uint8Array([i & 0xff, 1, 2]),
  identifiers: [{ type: 'dns', value: `g${i}.test` }],
  profile: 'default',
  accountId: 'acct',
  notBefore: new Date(),
  notAfter: new Date(Date.now() + 3600_000),
  ...over,
});

async function storeWithAudit(rows: number): Promise<{ f: Fresh; store: SignerStore }> {
  const f = await current.fresh();
  const store = await open(f.url);
  for (let i = 0; i < rows; i++) await store.auditEvent('refuse', { i, rule: 'dnsSuffixes' });
  return { f, store };
}

async function insertRow(f: Fresh, seq: number, prev: string): Promise<void> {
  const row = { seq, time: Date.now(), event: 'sign', details: '{}' };
  const hash = auditRowHash(prev, row);
  await f.exec(
    `INSERT INTO audit_log (seq, time, event, details, prev_hash, hash)
     VALUES (${row.seq}, ${row.time}, 'sign', '{}', '${prev}', '${hash}')`,
  );
}

const tampering: [string, (f: Fresh) => Promise<void>, number | null][] = [
  ['verifies a clean chain', async () => {}, null],
  ['detects an edited row', (f) => f.exec(`UPDATE audit_log SET details = '{"i":99}' WHERE seq = 3`), 3],
  ['detects a deleted middle row', (f) => f.exec('DELETE FROM audit_log WHERE seq = 2'), 2],
  ['detects a deleted last row', (f) => f.exec('DELETE FROM audit_log WHERE seq = 5'), 5],
  [
    'detects a row inserted in the middle by renumbering',
    async (f) => {
      await f.exec('UPDATE audit_log SET seq = seq + 100 WHERE seq >= 3');
      await f.exec('UPDATE audit_log SET seq = seq - 99 WHERE seq >= 100');
      await insertRow(f, 3, await f.scalar('SELECT hash FROM audit_log WHERE seq = 2'));
    },
    4,
  ],
  [
    'detects a well-hashed row appended behind the head',
    async (f) => insertRow(f, 6, await f.scalar('SELECT hash FROM audit_log WHERE seq = 5')),
    6,
  ],
];

let current: EngineCase = libsql;

for (const engine of [libsql, postgres]) {
  describe(`signer store on ${engine.name}`, { skip: engine.skip }, () => {
    before(async () => {
      current = engine;
      await engine.setUp();
    });
    after(() => engine.tearDown());

    for (const [name, tamper, badSeq] of tampering) {
      test(`audit chain ${name}`, async () => {
        const { f, store } = await storeWithAudit(5);
        await tamper(f);
        const got = await store.verifyAudit();
        await store.close();
        assert.equal(got.ok, badSeq === null, got.reason);
        assert.equal(got.firstBadSeq, badSeq ?? undefined);
        if (badSeq !== null) assert.ok(got.reason);
      });
    }

    test('audit chain stays linear under 50 concurrent appends', async () => {
      const { store } = await storeWithAudit(0);
      await Promise.all(Array.from({ length: 50 }, (_, i) => store.auditEvent('replay', { i })));
      assert.deepEqual(await store.verifyAudit(), { ok: true, rows: 50 });
      await store.close();
    });

    test('two signers on one store append to one chain that verifies whole', async () => {
      const f = await engine.fresh();
      const [a, b] = await Promise.all([open(f.url), open(f.url)]);
      for (let i = 0; i < 10; i++)
        await Promise.all([
          a.auditEvent('sign', { i }),
          b.auditEvent('crl', { i }),
          a.auditEvent('refuse', { i }),
        ]);
      assert.deepEqual(await b.verifyAudit(), { ok: true, rows: 30 });
      await Promise.all([a.close(), b.close()]);
    });

    test('audit-verify run while another signer appends sees one consistent chain', async () => {
      const f = await engine.fresh();
      const [writer, auditor] = await Promise.all([open(f.url), open(f.url)]);
      let appending = true;
      const appends = (async () => {
        for (let i = 0; i < 400 && appending; i++) await writer.auditEvent('refuse', { i });
      })();
      const results = [];
      for (let i = 0; i < 15; i++) results.push(await auditor.verifyAudit());
      appending = false;
      await appends;
      for (const r of results) assert.equal(r.ok, true, r.reason);
      await Promise.all([writer.close(), auditor.close()]);
    });

    test('a replayed jti is refused by the same signer, after reopening, and by another signer', async () => {
      const f = await engine.fresh();
      const exp = Math.floor(Date.now() / 1000) + 60;
      const a = await open(f.url);
      const b = await open(f.url);
      assert.equal(await a.recordJti('jti-00000001', exp), true);
      assert.equal(await a.recordJti('jti-00000001', exp), false);
      assert.equal(await b.recordJti('jti-00000001', exp), false);
      await a.close();
      const again = await open(f.url);
      assert.equal(await again.recordJti('jti-00000001', exp), false);
      assert.equal(await again.recordJti('jti-00000002', exp), true);
      await Promise.all([again.close(), b.close()]);
    });

    test('an intent is recorded once, issued once, revoked once, each audited', async () => {
      const store = await open((await engine.fresh()).url);
      const intent = intentFor(1, { orderId: 'o1', serial: '01ab' });
      assert.equal(await store.insertIntent(intent), true);
      assert.equal(await store.insertIntent({ ...intent, serial: '02' }), false);
      assert.equal((await store.byOrder('o1'))?.status, 'intent');
      assert.equal(await store.markRevoked('01ab', 1, new Date(), {}), false, 'an intent cannot be revoked');
      assert.equal(await store.markIssued('o1', new Uint8Array([9]), 'PEM', { serial: '01ab' }), true);
      assert.equal(await store.markIssued('o1', new Uint8Array([8]), 'PEM2', { serial: '01ab' }), false);
      const row = await store.bySerial('01ab');
      assert.equal(row?.status, 'issued');
      assert.equal(row?.issuer, ISSUER);
      assert.equal(row?.chainPem, 'PEM');
      assert.deepEqual([...(row?.certDer ?? [])], [9]);
      assert.deepEqual([...(row?.tbs ?? [])], [1, 1, 2]);
      assert.equal(await store.markRevoked('01ab', 1, new Date(), {}), true);
      assert.equal(await store.markRevoked('01ab', 1, new Date(), {}), false);
      assert.equal((await store.revokedUnexpired(ISSUER, new Date())).length, 1);
      assert.deepEqual(await store.verifyAudit(), { ok: true, rows: 2 });
      await store.close();
    });

    test('a taken serial inserts no intent and writes nothing', async () => {
      const store = await open((await engine.fresh()).url);
      assert.equal(await store.insertIntent(intentFor(1)), true);
      const exp = Math.floor(Date.now() / 1000) + 60;
      const clash = intentFor(2, { serial: intentFor(1).serial });
      assert.deepEqual(await store.recordJtiAndIntent('j-clash', exp, clash), {
        jtiFresh: true,
        intentInserted: false,
      });
      assert.equal(await store.byOrder('g2'), undefined);
      assert.equal(await store.insertIntent({ ...clash, serial: 'beef' }), true, 'a new serial goes in');
      await store.close();
    });

    test('a jti and an intent are recorded together; a replayed jti records no intent', async () => {
      const store = await open((await engine.fresh()).url);
      const exp = Math.floor(Date.now() / 1000) + 60;
      assert.deepEqual(await store.recordJtiAndIntent('j1', exp, intentFor(1)), {
        jtiFresh: true,
        intentInserted: true,
      });
      assert.deepEqual(await store.recordJtiAndIntent('j1', exp, intentFor(2)), {
        jtiFresh: false,
        intentInserted: false,
      });
      assert.equal(await store.byOrder('g2'), undefined);
      assert.deepEqual(await store.recordJtiAndIntent('j2', exp, { ...intentFor(1), serial: 'ff' }), {
        jtiFresh: true,
        intentInserted: false,
      });
      assert.equal((await store.byOrder('g1'))?.serial, intentFor(1).serial);
      await store.close();
    });

    test('concurrent jti + intent records share one commit and are each answered as if alone', async () => {
      const statements = new StatementCounts();
      const url = (await engine.fresh()).url;
      const store = await SignerStore.open(url, {
        issuer: ISSUER,
        statements,
        ...(url.startsWith('postgres') ? { password: PG_USER.password } : {}),
      });
      const exp = Math.floor(Date.now() / 1000) + 60;
      // The first record also prunes old jtis; the group below is then nothing but its records.
      await store.recordJtiAndIntent('warm', exp, intentFor(0));
      const transactions = () => statements.snapshot().get('transaction') ?? 0;
      const before = transactions();
      const got = await Promise.all([
        store.recordJtiAndIntent('c1', exp, intentFor(1)),
        store.recordJtiAndIntent('c2', exp, intentFor(2)),
        store.recordJtiAndIntent('c1', exp, intentFor(3)),
        store.recordJtiAndIntent('c4', exp, intentFor(4, { serial: intentFor(1).serial })),
        store.recordJtiAndIntent('c5', exp, intentFor(5)),
      ]);
      assert.deepEqual(got, [
        { jtiFresh: true, intentInserted: true },
        { jtiFresh: true, intentInserted: true },
        { jtiFresh: false, intentInserted: false },
        { jtiFresh: true, intentInserted: false },
        { jtiFresh: true, intentInserted: true },
      ]);
      assert.equal(transactions() - before, 1, 'five records, one transaction');
      assert.deepEqual(
        await Promise.all([1, 2, 3, 4, 5].map(async (i) => (await store.byOrder(`g${i}`))?.status)),
        ['intent', 'intent', undefined, undefined, 'intent'],
      );
      await store.close();
    });

    test('a record that fails in a shared commit fails alone: the others are recorded', async () => {
      const store = await open((await engine.fresh()).url);
      const exp = Math.floor(Date.now() / 1000) + 60;
      await store.recordJtiAndIntent('warm', exp, intentFor(0));
      // tbs is NOT NULL: this intent's insert throws and rolls back the group it joined.
      const broken = intentFor(2, { tbs: null as unknown as Uint8Array });
      const got = await Promise.allSettled([
        store.recordJtiAndIntent('f1', exp, intentFor(1)),
        store.recordJtiAndIntent('f2', exp, broken),
        store.recordJtiAndIntent('f3', exp, intentFor(3)),
      ]);
      assert.deepEqual(
        got.map((r) => r.status),
        ['fulfilled', 'rejected', 'fulfilled'],
      );
      assert.equal((await store.byOrder('g1'))?.status, 'intent');
      assert.equal(await store.byOrder('g2'), undefined);
      assert.equal((await store.byOrder('g3'))?.status, 'intent');
      // The failed record's jti was rolled back with it: the edge's retry is not taken for a replay.
      assert.deepEqual(await store.recordJtiAndIntent('f2', exp, intentFor(2)), {
        jtiFresh: true,
        intentInserted: true,
      });
      await store.close();
    });

    test('two signers racing on one order: one intent, one certificate, one audit row', async () => {
      const f = await engine.fresh();
      const [a, b] = await Promise.all([open(f.url), open(f.url)]);
      const exp = Math.floor(Date.now() / 1000) + 60;
      const got = await Promise.all([
        a.recordJtiAndIntent('ja', exp, intentFor(7, { serial: 'aa07' })),
        b.recordJtiAndIntent('jb', exp, intentFor(7, { serial: 'bb07' })),
      ]);
      assert.deepEqual(got.map((r) => r.intentInserted).sort(), [false, true]);
      const issued = await Promise.all([
        a.markIssued('g7', new Uint8Array([1]), 'A', {}),
        b.markIssued('g7', new Uint8Array([2]), 'B', {}),
      ]);
      assert.deepEqual(issued.sort(), [false, true]);
      assert.deepEqual(await a.verifyAudit(), { ok: true, rows: 1 });
      await Promise.all([a.close(), b.close()]);
    });

    test('concurrent issuances share commits and still leave one unbroken audit chain', async () => {
      const store = await open((await engine.fresh()).url);
      for (let i = 0; i < 40; i++) assert.equal(await store.insertIntent(intentFor(i)), true);
      const applied = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          store.markIssued(`g${i}`, new Uint8Array([i]), `PEM${i}`, { serial: intentFor(i).serial }),
        ),
      );
      assert.deepEqual(applied, Array(40).fill(true));
      assert.deepEqual(await store.verifyAudit(), { ok: true, rows: 40 });
      await store.close();
    });

    test('a guarded change that lost its race in a group records nothing, and the others are recorded', async () => {
      const store = await open((await engine.fresh()).url);
      for (let i = 0; i < 6; i++) assert.equal(await store.insertIntent(intentFor(i)), true);
      assert.equal(await store.markIssued('g3', new Uint8Array([3]), 'PEM3', {}), true);
      const applied = await Promise.all(
        Array.from({ length: 6 }, (_, i) => store.markIssued(`g${i}`, new Uint8Array([i]), `again${i}`, {})),
      );
      assert.deepEqual(applied, [true, true, true, false, true, true]);
      assert.equal((await store.byOrder('g3'))?.chainPem, 'PEM3');
      assert.deepEqual(await store.verifyAudit(), { ok: true, rows: 6 });
      await store.close();
    });

    test('CRL numbers come from the clock, grow strictly across signers, and an older CRL is not published', async () => {
      const f = await engine.fresh();
      const [a, b] = await Promise.all([open(f.url), open(f.url)]);
      const before = Date.now();
      const numbers = (
        await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).allocateCrlNumber(ISSUER)))
      ).sort((x, y) => x - y);
      assert.equal(new Set(numbers).size, 10, 'no number is handed out twice');
      // Derived from the database clock in ms (the database runs on this machine).
      assert.ok((numbers[0] ?? 0) >= before - 60_000 && (numbers[0] ?? 0) <= Date.now() + 60_000);
      const crl = (crlNumber: number) => ({
        crlNumber,
        thisUpdate: 1,
        nextUpdate: 2,
        der: Uint8Array.of(crlNumber & 0xff),
      });
      const [low, high] = [numbers[3] ?? 0, numbers[8] ?? 0];
      assert.equal(await a.saveCrl(ISSUER, crl(high), { n: high }), true);
      assert.equal(await b.saveCrl(ISSUER, crl(low), { n: low }), false, 'older than the published one');
      assert.equal(await b.saveCrl(ISSUER, crl(high), { n: high }), false, 'the same number twice');
      assert.equal((await b.currentCrl(ISSUER))?.crlNumber, high);
      const next = await b.allocateCrlNumber(ISSUER);
      assert.ok(next > (numbers[9] ?? 0));
      assert.deepEqual(await a.verifyAudit(), { ok: true, rows: 1 });
      await Promise.all([a.close(), b.close()]);
    });

    test('each issuer has its own CRL state and its own revoked serials', async () => {
      const store = await open((await engine.fresh()).url);
      for (const [i, issuer] of [ISSUER, OTHER_ISSUER, ISSUER].entries()) {
        assert.equal(await store.insertIntent(intentFor(i, { issuer })), true);
        assert.equal(await store.markIssued(`g${i}`, Uint8Array.of(i), `PEM${i}`, {}), true);
        assert.equal(await store.markRevoked(intentFor(i).serial, 4, new Date(), {}), true);
      }
      const serials = async (issuer: string) =>
        (await store.revokedUnexpired(issuer, new Date())).map((r) => r.serial);
      assert.deepEqual(await serials(ISSUER), [intentFor(0).serial, intentFor(2).serial]);
      assert.deepEqual(await serials(OTHER_ISSUER), [intentFor(1).serial]);
      assert.equal(
        (await store.revokedUnexpired(ISSUER, new Date(Date.now() + 7200_000))).length,
        0,
        'expired',
      );
      const n1 = await store.allocateCrlNumber(ISSUER);
      await store.saveCrl(ISSUER, { crlNumber: n1, thisUpdate: 1, nextUpdate: 2, der: Uint8Array.of(1) }, {});
      assert.equal(await store.currentCrl(OTHER_ISSUER), undefined);
      assert.equal((await store.currentCrl(ISSUER))?.crlNumber, n1);
      await store.close();
    });

    test('restored from an older backup, CRL numbers still never go backwards', async () => {
      const f = await engine.fresh();
      let store = await open(f.url);
      await store.allocateCrlNumber(ISSUER);
      const backup = await f.backup();
      const published: number[] = [];
      for (let i = 0; i < 5; i++) published.push(await store.allocateCrlNumber(ISSUER));
      await store.close();
      store = await open(await backup.restore());
      const after = await store.allocateCrlNumber(ISSUER);
      assert.ok(after > Math.max(...published), `${after} must exceed ${Math.max(...published)}`);
      assert.equal((await store.verifyAudit()).ok, true);
      await store.close();
    });

    test('signers that start together migrate the schema once', async () => {
      const f = await engine.fresh();
      const stores = await Promise.all(Array.from({ length: 4 }, () => open(f.url)));
      assert.equal(await f.scalar('SELECT COUNT(*) FROM schema_migrations'), String(SCHEMA_VERSION));
      assert.equal(await f.scalar('SELECT seq FROM audit_head'), '0');
      await Promise.all(stores.map((s) => s.close()));
    });

    test('a store migrated by a newer signer still opens, and says so', async () => {
      const f = await engine.fresh();
      await (await open(f.url)).close();
      await f.exec(
        `INSERT INTO schema_migrations (version, applied_at, description) VALUES (${SCHEMA_VERSION + 1}, 0, 'future')`,
      );
      const lines: Record<string, unknown>[] = [];
      const store = await open(f.url, { log: (l) => lines.push(l) });
      assert.equal(lines[0]?.event, 'store-schema-newer');
      await store.close();
    });
  });
}

/** The schema and rows of a signer.db written by the release before schema versions existed. */
async function firstReleaseFile(): Promise<string> {
  const url = `file:${join(dir, `v1-${++n}.db`)}`;
  const c = createClient({ url });
  await c.executeMultiple(`
    CREATE TABLE issuance (order_id TEXT PRIMARY KEY, serial TEXT NOT NULL UNIQUE, csr_hash TEXT NOT NULL,
      tbs BLOB NOT NULL, cert_der BLOB, chain_pem TEXT,
      status TEXT NOT NULL CHECK (status IN ('intent', 'issued')), identifiers TEXT NOT NULL,
      profile TEXT NOT NULL, account_id TEXT NOT NULL, not_before INTEGER NOT NULL, not_after INTEGER NOT NULL,
      created_at INTEGER NOT NULL, issued_at INTEGER, revoked_at INTEGER, revocation_reason INTEGER);
    CREATE INDEX issuance_revoked ON issuance (revoked_at) WHERE revoked_at IS NOT NULL;
    CREATE TABLE relay_jti (jti TEXT PRIMARY KEY, exp INTEGER NOT NULL);
    CREATE INDEX relay_jti_exp ON relay_jti (exp);
    CREATE TABLE audit_log (seq INTEGER PRIMARY KEY, time INTEGER NOT NULL, event TEXT NOT NULL,
      details TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
    CREATE TABLE audit_head (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL);
    CREATE TABLE crl_state (id INTEGER PRIMARY KEY CHECK (id = 1), crl_number INTEGER NOT NULL,
      this_update INTEGER NOT NULL, next_update INTEGER NOT NULL, der BLOB NOT NULL);
  `);
  const far = Date.now() + 86400_000;
  await c.execute({
    sql: `INSERT INTO issuance VALUES ('old-1', '0abc', 'h', x'01', x'02', 'PEM', 'issued', '[]', 'default', 'a',
      0, ?, 0, 1, 5, 1)`,
    args: [far],
  });
  await c.execute(`INSERT INTO crl_state VALUES (1, 7, 100, 200, x'3000')`);
  const row = { seq: 1, time: 5, event: 'revoke', details: '{"serial":"0abc"}' };
  const hash = auditRowHash(GENESIS_HASH, row);
  await c.execute({
    sql: 'INSERT INTO audit_log VALUES (1, 5, ?, ?, ?, ?)',
    args: [row.event, row.details, GENESIS_HASH, hash],
  });
  await c.execute({ sql: 'INSERT INTO audit_head VALUES (1, 1, ?)', args: [hash] });
  c.close();
  return url;
}

describe('a signer.db from the first release', () => {
  test('is migrated in place: its certificates and CRL state are filed under the configured issuer', async () => {
    const url = await firstReleaseFile();
    const store = await SignerStore.open(url, { issuer: ISSUER });
    assert.equal((await store.bySerial('0abc'))?.issuer, ISSUER);
    assert.deepEqual(
      (await store.revokedUnexpired(ISSUER, new Date())).map((r) => r.serial),
      ['0abc'],
    );
    assert.equal((await store.currentCrl(ISSUER))?.crlNumber, 7);
    assert.ok((await store.allocateCrlNumber(ISSUER)) > 7);
    assert.deepEqual(await store.verifyAudit(), { ok: true, rows: 1 });
    await store.auditEvent('refuse', {});
    assert.deepEqual(await store.verifyAudit(), { ok: true, rows: 2 }, 'the old chain goes on');
    await store.close();
  });

  test('is not migrated without knowing its issuer, and says how to fix it', async () => {
    const url = await firstReleaseFile();
    await assert.rejects(SignerStore.open(url), /open it with the signer config/);
    const store = await SignerStore.open(url, { issuer: ISSUER });
    await store.close();
  });
});

describe('signer store on PostgreSQL: connection rules and failures', { skip: pgSkip }, () => {
  let h: PgHarness;
  before(async () => {
    h = await pgHarness();
    await h.primary.psql(`CREATE DATABASE edgeca OWNER ${PG_USER.user}`);
  });

  const urlCases: [string, string, RegExp][] = [
    [
      'a password in the URL',
      'postgres://u:secret@127.0.0.1:5432/db',
      /contains a password.*EDGECA_SIGNER_DATABASE_PASSWORD/,
    ],
    ['a password parameter', 'postgres://u@127.0.0.1:5432/db?password=x', /password parameter/],
    ['no user', 'postgres://127.0.0.1:5432/db', /names no user/],
    ['no database', 'postgresql://u@127.0.0.1:5432', /names no database/],
    ['a standby target', 'postgres://u@h1,h2/db?target_session_attrs=standby', /cannot write/],
    ['a bad port', 'postgres://u@127.0.0.1:99999/db', /bad host/],
  ];
  for (const [name, url, message] of urlCases) {
    test(`refuses a store URL with ${name}`, async () => {
      await assert.rejects(SignerStore.open(url), message);
    });
  }

  test('an unreachable store fails the open with one line naming it and the cause', async () => {
    const closed = `postgres://edgeca_signer@127.0.0.1:1/edgeca`;
    const err = await SignerStore.open(closed, { password: 'x' }).then(
      () => assert.fail('opened'),
      (e: Error) => e,
    );
    assert.match(
      err.message,
      /^cannot connect to the signer's store postgres:\/\/edgeca_signer@127\.0\.0\.1:1\/edgeca: .*ECONNREFUSED/,
    );
    assert.doesNotMatch(err.message, /\n/);
  });

  test('a wrong password fails the open saying so, without the password', async () => {
    const err = await SignerStore.open(h.primary.url('edgeca', PG_USER.user), { password: 'wrong-pw' }).then(
      () => assert.fail('opened'),
      (e: Error) => e,
    );
    assert.match(err.message, /password authentication failed/);
    assert.doesNotMatch(err.message, /wrong-pw/);
  });

  test('no password where one is needed fails the open saying where the password goes', async () => {
    await assert.rejects(
      SignerStore.open(h.primary.url('edgeca', PG_USER.user)),
      /no password was given: set EDGECA_SIGNER_DATABASE_PASSWORD or databasePasswordFile/,
    );
  });

  test('an outage is a StoreUnavailableError (503, Retry-After) within the deadline, and the store comes back by itself', async (t) => {
    const lines: Record<string, unknown>[] = [];
    const store = await SignerStore.open(h.primary.url('edgeca', PG_USER.user), {
      password: PG_USER.password,
      issuer: ISSUER,
      deadlineMs: 2000,
      log: (l) => lines.push(l),
    });
    await store.auditEvent('refuse', { before: true });
    await h.primary.stop();
    const exp = Math.floor(Date.now() / 1000) + 60;
    const err = await store.recordJtiAndIntent('down-1', exp, intentFor(1)).then(
      () => assert.fail('wrote with the store down'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof StoreUnavailableError, String(err));
    assert.equal(err.status, 503);
    assert.equal(err.retryAfter, 5);
    await assert.rejects(store.auditEvent('refuse', { during: true }), StoreUnavailableError);
    await h.primary.start();
    const started = performance.now();
    let back = false;
    for (let i = 0; i < 100 && !back; i++) {
      back = await store.ping().then(
        () => true,
        () => new Promise<boolean>((r) => setTimeout(() => r(false), 100)),
      );
    }
    t.diagnostic(
      `store answered again ${Math.round(performance.now() - started)} ms after the server restarted`,
    );
    assert.ok(back);
    assert.deepEqual(await store.recordJtiAndIntent('down-2', exp, intentFor(1)), {
      jtiFresh: true,
      intentInserted: true,
    });
    assert.deepEqual(
      lines.map((l) => l.event),
      ['store-unavailable', 'store-reachable'],
    );
    assert.deepEqual(await store.verifyAudit(), { ok: true, rows: 1 }, 'nothing written during the outage');
    await store.close();
  });

  test('follows a failover: kill -9 of the primary, the standby promoted, writes go on', async (t) => {
    const standby = await h.addStandby();
    const url = `postgres://${PG_USER.user}@127.0.0.1:${h.primary.port},127.0.0.1:${standby.port}/edgeca?target_session_attrs=read-write`;
    const store = await SignerStore.open(url, {
      password: PG_USER.password,
      issuer: ISSUER,
      deadlineMs: 3000,
    });
    for (let i = 0; i < 3; i++) await store.auditEvent('refuse', { i });
    const rowsBefore = (await store.verifyAudit()).rows;
    const numberBefore = await store.allocateCrlNumber(ISSUER);
    // Replication is asynchronous: wait until the standby has what the primary committed.
    for (let i = 0; i < 100; i++) {
      if ((await standby.psql('SELECT COUNT(*) FROM audit_log', 'edgeca')) === String(rowsBefore)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await h.primary.kill9();
    const killedAt = performance.now();
    // With no primary at all, an operation ends with a 503 after its deadline, and commits nothing.
    await assert.rejects(store.auditEvent('refuse', { orphan: true }), StoreUnavailableError);
    await standby.promote();
    const promotedAt = performance.now();
    let ok = false;
    for (let i = 0; i < 100 && !ok; i++) {
      ok = await store.auditEvent('refuse', { after: i }).then(
        () => true,
        () => new Promise<boolean>((r) => setTimeout(() => r(false), 100)),
      );
    }
    const doneAt = performance.now();
    t.diagnostic(
      `first write on the new primary ${Math.round(doneAt - promotedAt)} ms after pg_ctl promote returned ` +
        `(${Math.round(doneAt - killedAt)} ms after kill -9, the 3 s deadline included)`,
    );
    assert.ok(ok, 'no write reached the promoted standby');
    assert.ok((await store.allocateCrlNumber(ISSUER)) > numberBefore);
    const got = await store.verifyAudit();
    assert.deepEqual(got, { ok: true, rows: rowsBefore + 1 }, 'the orphaned append was never committed');
    assert.equal(
      await standby.psql(`SELECT COUNT(*) FROM audit_log WHERE details LIKE '%orphan%'`, 'edgeca'),
      '0',
    );
    await store.close();
  });
});
