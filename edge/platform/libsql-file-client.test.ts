// The embedded-file libSQL client (statements prepared once) against @libsql/client on the same
// file: the same values and row shapes, batches all-or-nothing, the cache reused and bounded,
// the connection's pragmas, and a closed client that says so.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type Client, createClient, LibsqlBatchError, LibsqlError } from '@libsql/client';
import { sql } from 'drizzle-orm';
import { isDatabaseBusy } from '../../shared/libsql.ts';
import { createAccountRepo } from '../storage/accounts.ts';
import { FILE_PRAGMAS, openDatabase } from '../storage/db.ts';
import { openFileClient } from './libsql-file-client.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgeca-fileclient-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshFile = () => join(dir, `t${n++}.db`);

/** A row as plain data: its indexed values, its enumerable keys and its JSON. */
const shape = (row: unknown) => ({
  values: Array.prototype.slice.call(row),
  length: (row as { length: number }).length,
  keys: Object.keys(row as object),
  json: JSON.stringify(row),
});

async function both(file: string): Promise<[Client, Client]> {
  const ours = openFileClient(file, { pragmas: FILE_PRAGMAS });
  const theirs = createClient({ url: `file:${file}` });
  return [ours, theirs];
}

describe('the embedded-file libSQL client', () => {
  it('reads back every SQLite type as @libsql/client does (integers, reals, text, null, blobs)', async () => {
    const file = freshFile();
    const [ours, theirs] = await both(file);
    try {
      await ours.execute(
        'CREATE TABLE v (i INTEGER, r REAL, t TEXT, n TEXT, b BLOB, flag INTEGER, at INTEGER)',
      );
      const at = new Date(1_764_000_000_123);
      const rows = [
        [Number.MAX_SAFE_INTEGER, 1.5, 'é ✓ \u0000x', null, new Uint8Array([0, 1, 255]).buffer, true, at],
        [-42, -0.25, '', null, new Uint8Array([7]), false, 0],
      ];
      for (const args of rows)
        await ours.execute({ sql: 'INSERT INTO v VALUES (?, ?, ?, ?, ?, ?, ?)', args: args as never });
      const q = 'SELECT i, r, t, n, b, flag, at, i AS again FROM v ORDER BY rowid';
      const a = await ours.execute(q);
      const b = await theirs.execute(q);
      assert.deepEqual(a.columns, b.columns);
      assert.deepEqual(a.columnTypes, b.columnTypes);
      assert.equal(a.rows.length, 2);
      for (const [k, row] of a.rows.entries()) assert.deepEqual(shape(row), shape(b.rows[k]));
      const first = a.rows[0]!;
      assert.equal(first.i, Number.MAX_SAFE_INTEGER);
      assert.equal(typeof first[0], 'number');
      assert.ok(first.b instanceof ArrayBuffer);
      assert.deepEqual([...new Uint8Array(first.b as ArrayBuffer)], [0, 1, 255]);
      assert.equal(first.flag, 1);
      assert.equal(first.at, at.valueOf());
      assert.equal(first.n, null);
      assert.deepEqual(a.toJSON().rows[1], [-42, -0.25, '', null, [7], 0, 0, -42]);
    } finally {
      ours.close();
      theirs.close();
    }
  });

  it('refuses what @libsql/client refuses: an unsafe integer read, undefined, NaN', async () => {
    const c = openFileClient(freshFile());
    try {
      await assert.rejects(c.execute('SELECT 9007199254740993 AS big'), RangeError);
      await assert.rejects(c.execute({ sql: 'SELECT ?', args: [undefined as never] }), TypeError);
      await assert.rejects(c.execute({ sql: 'SELECT ?', args: [Number.NaN] }), RangeError);
      // named arguments, with any of SQLite's prefixes
      const r = await c.execute({ sql: 'SELECT :a AS a, @b AS b', args: { a: 1, '@b': 'x' } });
      assert.deepEqual(shape(r.rows[0]).values, [1, 'x']);
    } finally {
      c.close();
    }
  });

  it('reports changes and the last rowid of a write, and none for a statement that returns rows', async () => {
    const c = openFileClient(freshFile());
    try {
      await c.execute('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
      const ins = await c.execute({ sql: 'INSERT INTO t (v) VALUES (?), (?)', args: ['a', 'b'] });
      assert.equal(ins.rowsAffected, 2);
      assert.equal(ins.lastInsertRowid, 2n);
      const upd = await c.execute({ sql: 'UPDATE t SET v = ? WHERE id = ?', args: ['z', 9] });
      assert.equal(upd.rowsAffected, 0);
      const ret = await c.execute({ sql: 'INSERT INTO t (v) VALUES (?) RETURNING id', args: ['c'] });
      assert.deepEqual(shape(ret.rows[0]).values, [3]);
    } finally {
      c.close();
    }
  });

  it('applies a batch all or nothing: a failing statement rolls back the ones before it', async () => {
    const c = openFileClient(freshFile());
    try {
      await c.execute('CREATE TABLE t (id TEXT PRIMARY KEY)');
      await c.execute({ sql: 'INSERT INTO t VALUES (?)', args: ['taken'] });
      const err = await c
        .batch(
          [
            { sql: 'INSERT INTO t VALUES (?)', args: ['first'] },
            { sql: 'INSERT INTO t VALUES (?)', args: ['taken'] },
            { sql: 'INSERT INTO t VALUES (?)', args: ['third'] },
          ],
          'write',
        )
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.ok(err instanceof LibsqlBatchError, String(err));
      assert.equal(err.statementIndex, 1);
      assert.equal(err.code, 'SQLITE_CONSTRAINT');
      assert.equal(err.extendedCode, 'SQLITE_CONSTRAINT_PRIMARYKEY');
      assert.match(err.message, /^SQLITE_CONSTRAINT: UNIQUE constraint failed: t\.id/);
      const ids = async () => (await c.execute('SELECT id FROM t ORDER BY id')).rows.map((r) => r.id);
      assert.deepEqual(await ids(), ['taken']);
      // the connection is left usable, outside any transaction
      const res = await c.batch(['INSERT INTO t VALUES (1)', ['INSERT INTO t VALUES (?)', ['2']]]);
      assert.equal(res.length, 2);
      assert.deepEqual(await ids(), ['1', '2', 'taken']);
    } finally {
      c.close();
    }
  });

  it('fails a batch on a database another connection keeps locked, writes nothing, and works once it is free', async () => {
    const file = freshFile();
    const c = openFileClient(file, { pragmas: ['PRAGMA journal_mode = WAL', 'PRAGMA busy_timeout = 50'] });
    const other = openFileClient(file);
    try {
      await c.execute('CREATE TABLE t (id TEXT PRIMARY KEY)');
      await other.execute('BEGIN IMMEDIATE');
      const err = await c
        .batch(
          [
            { sql: 'SELECT count(*) AS n FROM t', args: [] },
            { sql: 'INSERT INTO t VALUES (?)', args: ['a'] },
          ],
          'deferred',
        )
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.ok(isDatabaseBusy(err), String(err));
      await other.execute('ROLLBACK');
      await c.batch([{ sql: 'INSERT INTO t VALUES (?)', args: ['b'] }], 'write');
      assert.deepEqual(
        (await other.execute('SELECT id FROM t')).rows.map((r) => r.id),
        ['b'],
      );
    } finally {
      c.close();
      other.close();
    }
  });

  it('prepares each statement once, and keeps no more than its bound', async () => {
    const c = openFileClient(freshFile(), { cacheSize: 3 });
    try {
      await c.execute('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
      const before = c.prepares;
      for (let i = 0; i < 50; i++) {
        await c.execute({ sql: 'INSERT INTO t (v) VALUES (?)', args: [`v${i}`] });
        await c.execute({ sql: 'SELECT v FROM t WHERE id = ?', args: [i + 1] });
      }
      assert.equal(c.prepares - before, 2);
      for (let i = 0; i < 10; i++) await c.execute(`SELECT ${i} AS k`);
      assert.equal(c.cachedStatements, 3);
      // a statement evicted is prepared again and still answers
      const r = await c.execute({ sql: 'SELECT v FROM t WHERE id = ?', args: [50] });
      assert.equal(r.rows[0]?.v, 'v49');
    } finally {
      c.close();
    }
  });

  it('sees columns added by another connection in a cached SELECT *', async () => {
    const file = freshFile();
    const c = openFileClient(file);
    const other = openFileClient(file);
    try {
      await c.execute('CREATE TABLE t (a TEXT)');
      await c.execute("INSERT INTO t VALUES ('x')");
      assert.deepEqual((await c.execute('SELECT * FROM t')).columns, ['a']);
      await other.execute("ALTER TABLE t ADD COLUMN b TEXT DEFAULT 'y'");
      const r = await c.execute('SELECT * FROM t');
      assert.deepEqual(r.columns, ['a', 'b']);
      assert.deepEqual(shape(r.rows[0]).keys, ['a', 'b']);
      assert.equal(r.rows[0]?.b, 'y');
    } finally {
      c.close();
      other.close();
    }
  });

  it('sets WAL, synchronous=NORMAL and the busy timeout on its connection', async () => {
    const c = openFileClient(freshFile(), { pragmas: FILE_PRAGMAS });
    try {
      const one = async (p: string) => shape((await c.execute(`PRAGMA ${p}`)).rows[0]).values[0];
      assert.equal(await one('journal_mode'), 'wal');
      assert.equal(await one('synchronous'), 1);
      assert.equal(await one('busy_timeout'), 5000);
    } finally {
      c.close();
    }
  });

  it('is refused once closed, and closing twice is harmless', async () => {
    const c = openFileClient(freshFile());
    await c.execute('SELECT 1');
    c.close();
    c.close();
    assert.equal(c.closed, true);
    await assert.rejects(
      c.execute('SELECT 1'),
      (e: unknown) => e instanceof LibsqlError && e.code === 'CLIENT_CLOSED',
    );
    await assert.rejects(
      c.batch(['SELECT 1']),
      (e: unknown) => e instanceof LibsqlError && e.code === 'CLIENT_CLOSED',
    );
  });

  it('offers no interactive transaction, and says to use a batch', async () => {
    const c = openFileClient(freshFile());
    try {
      await assert.rejects(c.transaction('write'), /use batch\(\)/);
    } finally {
      c.close();
    }
  });

  it('carries drizzle and the repositories: migrations, prepared reads, raw rows by name', async () => {
    const file = freshFile();
    const { db, close } = await openDatabase(openFileClient(file, { pragmas: FILE_PRAGMAS }));
    const theirs = await openDatabase(createClient({ url: `file:${file}` }));
    try {
      const accounts = createAccountRepo(db);
      const made = await accounts.create({
        id: 'acct-1',
        thumbprint: 'tp-1',
        jwk: '{}',
        status: 'valid',
        contact: '["mailto:a@example.org"]',
        tosAgreed: true,
        eabKid: null,
        keyDigest: 'kd-1',
      });
      assert.equal(made.status, 'created');
      const again = await accounts.create({
        id: 'acct-2',
        thumbprint: 'tp-1',
        jwk: '{}',
        status: 'valid',
        contact: '[]',
        tosAgreed: false,
        eabKid: null,
        keyDigest: 'kd-2',
      });
      assert.equal(again.status, 'exists', 'a UNIQUE violation is recognised through this client too');
      const mine = await accounts.get('acct-1');
      assert.deepEqual(mine, await createAccountRepo(theirs.db).get('acct-1'));
      assert.equal(mine?.tosAgreed, true);
      const raw = await db.all(sql`SELECT id, created_at AS createdAt FROM accounts`);
      assert.deepEqual(raw, await theirs.db.all(sql`SELECT id, created_at AS createdAt FROM accounts`));
      assert.deepEqual(Object.keys(raw[0] as object), ['id', 'createdAt']);
    } finally {
      close();
      theirs.close();
    }
  });
});
