// The local D1 database of an edge running under `wrangler dev` (npm start with
// EDGECA_RUNTIME=workerd), as a drizzle database the edge's own stores run on. wrangler owns that
// SQLite file, so statements go through `wrangler d1 execute --local`, which runs all statements of
// one call as one D1 batch (atomic). They are written to a 0600 file in a private temp directory
// (never on the command line: they may carry an EAB HMAC key), with the parameters inlined as SQL
// literals (wrangler takes no parameters). Development only; a deployed Worker is managed through
// the admin API.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { drizzle } from 'drizzle-orm/sqlite-proxy';
import type { Db } from '../edge/storage/db.ts';
import * as schema from '../edge/storage/schema.ts';

export interface LocalD1 {
  persistDir: string;
}

/**
 * The checkout this CLI runs from: its wrangler and wrangler.toml name the D1 binding. From source
 * this file is cli/d1-local.ts, compiled it is dist/cli/d1-local.js: the nearest folder above it
 * that holds wrangler.toml.
 */
export function checkoutRoot(from = import.meta.dirname): string {
  let dir = resolve(from, '..');
  for (let i = 0; i < 3; i++) {
    if (existsSync(join(dir, 'wrangler.toml'))) return dir;
    dir = resolve(dir, '..');
  }
  throw new Error(
    `the local D1 is reached through the edgeca checkout's wrangler, and no wrangler.toml was found above ${from}; run edgeca from the checkout that runs npm start`,
  );
}

/** The local D1 named by .edgeca/dev/endpoints.json when the dev edge runs on workerd, else undefined. */
export function localD1FromEndpoints(root = process.cwd()): LocalD1 | undefined {
  const file = join(root, '.edgeca', 'dev', 'endpoints.json');
  if (!existsSync(file)) return undefined;
  const ep = JSON.parse(readFileSync(file, 'utf8')) as { edgeRuntime?: string; d1PersistDir?: string };
  if (ep.edgeRuntime !== 'workerd' || !ep.d1PersistDir) return undefined;
  return { persistDir: resolve(root, ep.d1PersistDir) };
}

/** One SQL literal. Values here are ids, names, base64url keys, JSON and integers. */
export function sqlLiteral(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`cannot write ${v} to SQL`);
    return String(v);
  }
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'string') {
    // A NUL would end the statement early in some SQLite front ends; nothing here has one.
    if (v.includes('\0')) throw new Error('a value holds a NUL character');
    return `'${v.replace(/'/g, "''")}'`;
  }
  throw new Error(`cannot write a ${typeof v} to SQL`);
}

/** `sql` with each `?` placeholder outside quotes replaced by its parameter as a literal. */
export function inlineParams(sql: string, params: readonly unknown[]): string {
  let out = '';
  let next = 0;
  let quote: string | undefined;
  for (const ch of sql) {
    if (quote) {
      out += ch;
      if (ch === quote) quote = undefined;
    } else if (ch === "'" || ch === '"' || ch === '`') {
      quote = ch;
      out += ch;
    } else if (ch === '?') {
      if (next >= params.length) throw new Error('more placeholders than parameters');
      out += sqlLiteral(params[next++]);
    } else out += ch;
  }
  if (next !== params.length) throw new Error('more parameters than placeholders');
  return out;
}

type Method = 'run' | 'all' | 'values' | 'get';
type Query = { sql: string; params: unknown[]; method: Method };
type Answer = { rows: unknown[]; rowsAffected?: number };

/** Runs the statements as one D1 batch; each `run` is followed by SELECT changes() for its count. */
async function execute(d1: LocalD1, queries: Query[]): Promise<Answer[]> {
  const parts: string[] = [];
  for (const q of queries) {
    parts.push(inlineParams(q.sql, q.params));
    if (q.method === 'run') parts.push('SELECT changes() AS changes');
  }
  const dir = mkdtempSync(join(tmpdir(), 'edgeca-d1-'));
  const file = join(dir, 'batch.sql');
  let stdout: string;
  try {
    writeFileSync(file, `${parts.join(';\n')};\n`, { mode: 0o600 });
    const root = checkoutRoot();
    const wrangler = join(root, 'node_modules', 'wrangler', 'bin', 'wrangler.js');
    ({ stdout } = await promisify(execFile)(
      process.execPath,
      [
        wrangler,
        'd1',
        'execute',
        'DB',
        '--local',
        '-c',
        'wrangler.toml',
        '--persist-to',
        d1.persistDir,
        '--json',
        '--file',
        file,
      ],
      {
        cwd: root,
        env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_SEND_METRICS: 'false' },
        timeout: 60_000,
        maxBuffer: 64 * 1024 * 1024,
      },
    ).catch((e: { stderr?: string; message?: string }) => {
      const why = (e.stderr ?? '').trim().split('\n').slice(-3).join(' ') || e.message;
      throw new Error(`wrangler d1 execute on the local D1 at ${d1.persistDir} failed: ${why}`);
    }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const results = JSON.parse(stdout) as { results?: Record<string, unknown>[] }[];
  const answers: Answer[] = [];
  let i = 0;
  for (const q of queries) {
    const rows = (results[i++]?.results ?? []).map((r) => Object.values(r));
    if (q.method === 'run') {
      const changes = Number(results[i++]?.results?.[0]?.changes ?? 0);
      answers.push({ rows: [], rowsAffected: changes });
    } else if (q.method === 'get') answers.push({ rows: rows[0] as unknown[] });
    else answers.push({ rows });
  }
  return answers;
}

/**
 * The local D1 as the edge's Db type: the drizzle SQLite dialect is the same, only the transport
 * differs (as for D1 itself in edge/storage/db.ts, the proxy driver's type is cast to the one the
 * repositories take). Batches stay atomic.
 */
export function localD1Database(d1: LocalD1): Db {
  const db = drizzle(
    async (sql, params, method) => (await execute(d1, [{ sql, params, method }]))[0] as { rows: unknown[] },
    async (queries) => (await execute(d1, queries)) as { rows: unknown[] }[],
    { schema },
  );
  return db as unknown as Db;
}
