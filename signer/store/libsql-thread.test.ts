// The worker-thread libSQL driver: which URLs it opens, and that a statement's error keeps
// SQLite's code across the thread (the engine maps SQLITE_BUSY to a 503 by it).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { filePathOf, LibsqlThread, LibsqlThreadError } from './libsql-thread.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgeca-libsql-thread-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('file URLs name their file; URLs with parameters, hosts or in memory stay with @libsql/client', () => {
  const cases: [string, string | undefined][] = [
    ['file:signer.db', 'signer.db'],
    ['file:/var/lib/edgeca/signer.db', '/var/lib/edgeca/signer.db'],
    ['file:///var/lib/edgeca/signer.db', '/var/lib/edgeca/signer.db'],
    ['file://localhost/var/lib/a%20b.db', '/var/lib/a b.db'],
    ['file://host/var/lib/signer.db', undefined],
    ['file:signer.db?mode=ro', undefined],
    ['file::memory:', undefined],
    ['libsql://db.example.test', undefined],
  ];
  for (const [url, path] of cases) assert.equal(filePathOf(url), path, url);
});

test('a transaction reads its own writes, commits durably, and a rolled back one leaves nothing', async () => {
  const t = new LibsqlThread(join(dir, 'a.db'), { timeoutMs: 1000, pragmas: ['PRAGMA journal_mode = WAL'] });
  try {
    await t.step({ op: 'exec', conn: 0, sql: 'CREATE TABLE t (k TEXT PRIMARY KEY, v BLOB)', args: [] });
    const { conn } = await t.step({ op: 'begin', mode: 'write' });
    assert.ok(conn);
    const put = { op: 'exec' as const, conn, sql: 'INSERT INTO t (k, v) VALUES (?, ?)' };
    assert.equal((await t.step({ ...put, args: ['a', new Uint8Array([1, 2])] })).changes, 1);
    const seen = await t.step({ op: 'exec', conn, sql: 'SELECT k, v FROM t', args: [] });
    assert.deepEqual(
      seen.rows?.map((r) => [r.k, [...new Uint8Array(r.v as ArrayBuffer)]]),
      [['a', [1, 2]]],
    );
    await t.step({ op: 'commit', conn });
    const other = await t.step({ op: 'begin', mode: 'write' });
    await t.step({ op: 'exec', conn: other.conn ?? -1, sql: "INSERT INTO t (k) VALUES ('b')", args: [] });
    await t.step({ op: 'rollback', conn: other.conn ?? -1 });
    const rows = await t.step({ op: 'exec', conn: 0, sql: 'SELECT k FROM t ORDER BY k', args: [] });
    assert.deepEqual(rows.rows, [{ k: 'a' }]);
    const err = await t.step({ op: 'exec', conn: 0, sql: "INSERT INTO t (k) VALUES ('a')", args: [] }).then(
      () => assert.fail('a duplicate key was inserted'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof LibsqlThreadError);
    assert.match(String(err.code), /SQLITE_CONSTRAINT/);
  } finally {
    await t.close();
  }
});
