import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createClient } from '@libsql/client';
import { countingClient } from './libsql.ts';
import { exportStatementCounts, Registry } from './metrics.ts';
import { StatementCounts, statementKind } from './sql-statements.ts';

const KINDS: [string, string][] = [
  // drizzle's spelling (quoted identifiers, qualified columns)
  ['select "id", "thumbprint" from "accounts" where "accounts"."id" = ? limit ?', 'select accounts'],
  [
    'select "id", "account_id" from "authorizations" "authorizations" where ("authorizations"."account_id" = ?) limit ?',
    'select authorizations',
  ],
  ['select count(*) from "orders" where ("orders"."status" in (?, ?))', 'select orders'],
  ['insert into "orders" ("id", "account_id") values (?, ?)', 'insert orders'],
  ['update "orders" set "status" = ? where ("orders"."id" = ?)', 'update orders'],
  ['delete from "nonces" where "nonces"."expires_at" < ?', 'delete nonces'],
  // hand-written statements: the table of the statement, not of its subqueries
  ['INSERT OR IGNORE INTO nonces (value, expires_at) VALUES (?, ?)', 'insert nonces'],
  [
    "UPDATE challenges SET status = 'processing' WHERE id = ? AND EXISTS (SELECT 1 FROM authorizations WHERE id = ?)",
    'update challenges',
  ],
  [
    'SELECT (SELECT max(seq) FROM audit_log) AS a FROM audit_head WHERE id = 1 FOR UPDATE',
    'select audit_head',
  ],
  [
    'WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 9) INSERT INTO orders (id) SELECT i FROM n',
    'insert orders',
  ],
  ['  -- why\n select * from public.issuance', 'select issuance'],
  ["SELECT 'from x' AS t FROM crl_state", 'select crl_state'],
  // no table
  ['SELECT 1 AS ok', 'select'],
  ['PRAGMA journal_mode = WAL', 'pragma'],
  ['BEGIN IMMEDIATE', 'begin'],
  ['VACUUM', 'other'],
  ['', 'other'],
];

for (const [sql, kind] of KINDS) {
  test(`names "${sql.slice(0, 60).replace(/\s+/g, ' ')}" as "${kind}"`, () => {
    assert.equal(statementKind(sql), kind);
  });
}

test('a wide select still finds its table past a long column list', () => {
  const cols = Array.from({ length: 80 }, (_, i) => `"orders"."c${i}"`).join(', ');
  assert.equal(statementKind(`select ${cols} from "orders" where "orders"."id" = ?`), 'select orders');
});

test('a counting libSQL client counts statements, batch items and batches by kind', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgeca-sqlcount-'));
  const counts = new StatementCounts();
  const client = countingClient(createClient({ url: `file:${join(dir, 'x.db')}` }), counts);
  try {
    await client.execute('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    await client.batch(
      [
        { sql: 'INSERT INTO t (v) VALUES (?)', args: ['a'] },
        { sql: 'INSERT INTO t (v) VALUES (?)', args: ['b'] },
        'UPDATE t SET v = upper(v)',
      ],
      'write',
    );
    const rs = await client.execute({ sql: 'SELECT count(*) AS n FROM t', args: [] });
    assert.equal(Number(rs.rows[0]?.n), 2, 'the wrapped client still runs every statement');
    const tx = await client.transaction('write');
    await tx.execute('DELETE FROM t WHERE id = 1');
    await tx.commit();
    tx.close();
    assert.deepEqual(Object.fromEntries(counts.snapshot()), {
      create: 1,
      batch: 1,
      'insert t': 2,
      'update t': 1,
      'select t': 1,
      transaction: 1,
      'delete t': 1,
    });
  } finally {
    client.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('exportStatementCounts shows the totals as a counter at every scrape', async () => {
  const counts = new StatementCounts();
  const r = new Registry();
  exportStatementCounts(r, 't_sql_statements_total', counts);
  counts.count('select "id" from "accounts"');
  counts.count('select "id" from "accounts"');
  assert.match(await r.render(), /^t_sql_statements_total\{kind="select accounts"\} 2$/m);
  counts.count('insert into "orders" ("id") values (?)', 3);
  const text = await r.render();
  assert.match(text, /^t_sql_statements_total\{kind="select accounts"\} 2$/m);
  assert.match(text, /^t_sql_statements_total\{kind="insert orders"\} 3$/m);
  assert.match(text, /^# TYPE t_sql_statements_total counter$/m);
});
