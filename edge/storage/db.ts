// Opens the edge database through drizzle and brings its schema up to date. The libSQL client
// itself is created by the runtime adapter (embedded file on Node/Deno, HTTP at the edge).
import type { Client } from '@libsql/client';
import { drizzle, type LibSQLDatabase } from 'drizzle-orm/libsql';
import { MIGRATIONS } from './migrations.ts';
import * as schema from './schema.ts';

export type Db = LibSQLDatabase<typeof schema>;

export interface Database {
  db: Db;
  client: Client;
  close(): void;
}

export async function openDatabase(client: Client): Promise<Database> {
  await migrate(client);
  const db = drizzle(client, { schema });
  return { db, client, close: () => client.close() };
}

async function migrate(client: Client): Promise<void> {
  await client.execute(
    'CREATE TABLE IF NOT EXISTS schema_migrations (id INTEGER PRIMARY KEY NOT NULL, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
  );
  const done = await client.execute('SELECT id FROM schema_migrations');
  const applied = new Set(done.rows.map((r) => Number(r.id)));
  for (const m of MIGRATIONS) {
    if (applied.has(m.id)) continue;
    // CREATE ... IF NOT EXISTS plus INSERT OR IGNORE: two instances starting at once both succeed.
    await client.batch(
      [
        ...m.statements,
        {
          sql: 'INSERT OR IGNORE INTO schema_migrations (id, name, applied_at) VALUES (?, ?, ?)',
          args: [m.id, m.name, Date.now()],
        },
      ],
      'write',
    );
  }
}

/** Rows changed by one statement's result, whichever driver produced it. */
export function rowsAffected(result: unknown): number {
  const r = result as { rowsAffected?: number; meta?: { changes?: number } };
  return r.rowsAffected ?? r.meta?.changes ?? 0;
}
