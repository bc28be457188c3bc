// CPU per SQL statement on the edge's embedded libSQL file, by the way it is run: drizzle building
// the query each time, a drizzle prepared query (rowBy), the raw @libsql/client call (which
// prepares the statement natively on every execute), the edge's own file client
// (edge/platform/libsql-file-client.ts: statements prepared once) under drizzle and alone, the
// `libsql` driver with the statement prepared once, and the writes an issuance makes (autocommit
// insert, a 3-statement batch) through both clients. The
// variants run interleaved, round after round, and the median is kept: on a shared machine the
// ratios hold even when the absolute figures move.
//   node --import tsx bench/sql-costs.ts [rounds=9]
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { eq } from 'drizzle-orm';
import { openFileClient } from '../edge/platform/libsql-file-client.ts';
import { FILE_PRAGMAS, openDatabase, rowBy } from '../edge/storage/db.ts';
import { type AccountRow, accounts } from '../edge/storage/schema.ts';

/** The better-sqlite3-style driver under @libsql/client (a dependency of it, not of ours). */
interface NativeDb {
  prepare(sql: string): {
    get(...a: unknown[]): unknown;
    run(...a: unknown[]): unknown;
    raw(on: boolean): unknown;
  };
  exec(sql: string): void;
  close(): void;
}

const rounds = Number(
  process.argv
    .slice(2)
    .find((a) => /^rounds=\d+$/.test(a))
    ?.slice(7) ?? 9,
);
const N = 2000;
const dir = mkdtempSync(join(tmpdir(), 'edgeca-sqlcost-'));
const file = join(dir, 'edge.db');
try {
  const client = createClient({ url: `file:${file}` });
  for (const p of FILE_PRAGMAS) await client.execute(p);
  const { db } = await openDatabase(client);
  const ids = Array.from({ length: 1000 }, (_, i) => `acct-${i}`);
  await db.insert(accounts).values(
    ids.map((id, i) => ({
      id,
      thumbprint: `tp-${i}`,
      jwk: JSON.stringify({ kty: 'EC', crv: 'P-256', x: 'x'.repeat(43), y: 'y'.repeat(43) }),
      status: 'valid' as const,
      contact: '[]',
      tosAgreed: true,
      eabKid: null,
      createdAt: Date.now(),
    })),
  );
  const prepared = rowBy<AccountRow>(db, accounts, accounts.id);
  const fileClient = openFileClient(file, { pragmas: FILE_PRAGMAS });
  const fileDb = (await openDatabase(fileClient)).db;
  const filePrepared = rowBy<AccountRow>(fileDb, accounts, accounts.id);
  const require = createRequire(import.meta.url);
  const Database = require('libsql') as new (path: string) => NativeDb;
  const native = new Database(file);
  native.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000');
  const nativeGet = native.prepare('SELECT * FROM accounts WHERE id = ? LIMIT 1');
  const nativeInsert = native.prepare('INSERT OR IGNORE INTO nonces (value, expires_at) VALUES (?, ?)');
  let seq = 0;

  const variants: [string, (i: number) => Promise<unknown> | unknown][] = [
    [
      'select accounts by id: drizzle, query built per call',
      (i) =>
        db
          .select()
          .from(accounts)
          .where(eq(accounts.id, ids[i % 1000] as string))
          .limit(1),
    ],
    ['select accounts by id: drizzle prepared (rowBy)', (i) => prepared(ids[i % 1000] as string)],
    [
      'select accounts by id: @libsql/client execute (native prepare each time)',
      (i) =>
        client.execute({
          sql: 'SELECT * FROM accounts WHERE id = ? LIMIT 1',
          args: [ids[i % 1000] as string],
        }),
    ],
    [
      'select accounts by id: drizzle, query built per call, edge file client',
      (i) =>
        fileDb
          .select()
          .from(accounts)
          .where(eq(accounts.id, ids[i % 1000] as string))
          .limit(1),
    ],
    [
      'select accounts by id: drizzle prepared (rowBy), edge file client',
      (i) => filePrepared(ids[i % 1000] as string),
    ],
    [
      'select accounts by id: edge file client execute (statement cached)',
      (i) =>
        fileClient.execute({
          sql: 'SELECT * FROM accounts WHERE id = ? LIMIT 1',
          args: [ids[i % 1000] as string],
        }),
    ],
    ['select accounts by id: libsql driver, statement prepared once', (i) => nativeGet.get(ids[i % 1000])],
    [
      'insert nonces, autocommit: @libsql/client',
      () =>
        client.execute({
          sql: 'INSERT OR IGNORE INTO nonces (value, expires_at) VALUES (?, ?)',
          args: [`n-${seq++}`, Date.now() + 3_600_000],
        }),
    ],
    [
      'insert nonces, autocommit: edge file client',
      () =>
        fileClient.execute({
          sql: 'INSERT OR IGNORE INTO nonces (value, expires_at) VALUES (?, ?)',
          args: [`n-${seq++}`, Date.now() + 3_600_000],
        }),
    ],
    [
      'insert nonces, autocommit: libsql driver, prepared once',
      () => nativeInsert.run(`n-${seq++}`, Date.now() + 3_600_000),
    ],
    [
      'batch of 3 inserts (one transaction): @libsql/client',
      () =>
        client.batch(
          [0, 1, 2].map(() => ({
            sql: 'INSERT OR IGNORE INTO nonces (value, expires_at) VALUES (?, ?)',
            args: [`n-${seq++}`, Date.now() + 3_600_000],
          })),
          'write',
        ),
    ],
    [
      'batch of 3 inserts (one transaction): edge file client',
      () =>
        fileClient.batch(
          [0, 1, 2].map(() => ({
            sql: 'INSERT OR IGNORE INTO nonces (value, expires_at) VALUES (?, ?)',
            args: [`n-${seq++}`, Date.now() + 3_600_000],
          })),
          'write',
        ),
    ],
  ];
  const cpuUs = async (run: (i: number) => Promise<unknown> | unknown): Promise<number> => {
    const t0 = process.cpuUsage();
    for (let i = 0; i < N; i++) await run(i);
    const d = process.cpuUsage(t0);
    return (d.user + d.system) / N;
  };
  for (const [, run] of variants) await cpuUs(run); // warm-up
  const results = variants.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++)
    for (const [k, [, run]] of variants.entries()) results[k]?.push(await cpuUs(run));
  const median = (x: number[]) => [...x].sort((a, b) => a - b)[x.length >> 1] ?? 0;
  process.stdout.write(
    `CPU µs per statement (median of ${rounds} rounds of ${N}; this process, all threads):\n`,
  );
  for (const [k, [name]] of variants.entries())
    process.stdout.write(
      `  ${median(results[k] ?? [])
        .toFixed(1)
        .padStart(7)}  ${name}\n`,
    );
  native.close();
  fileClient.close();
  client.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
