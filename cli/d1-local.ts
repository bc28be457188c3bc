// SQL on the local D1 database of an edge running under `wrangler dev` (npm start with
// EDGECA_RUNTIME=workerd): wrangler owns that SQLite file, so statements go through
// `wrangler d1 execute --local`. Development only; a deployed Worker is managed through the admin API.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface LocalD1 {
  persistDir: string;
  /** rows of one statement */
  query(sql: string): Promise<{ rows: Record<string, unknown>[]; changes: number }>;
}

/** The local D1 named by .edgeca/dev/endpoints.json when the dev edge runs on workerd, else undefined. */
export function localD1FromEndpoints(root = process.cwd()): LocalD1 | undefined {
  const file = join(root, '.edgeca', 'dev', 'endpoints.json');
  if (!existsSync(file)) return undefined;
  const ep = JSON.parse(readFileSync(file, 'utf8')) as { edgeRuntime?: string; d1PersistDir?: string };
  if (ep.edgeRuntime !== 'workerd' || !ep.d1PersistDir) return undefined;
  const persistDir = ep.d1PersistDir;
  const wrangler = join(root, 'node_modules', 'wrangler', 'bin', 'wrangler.js');
  return {
    persistDir,
    async query(sql) {
      const args = [
        wrangler,
        'd1',
        'execute',
        'DB',
        '--local',
        '-c',
        'wrangler.toml',
        '--persist-to',
        persistDir,
        '--json',
        '--command',
        sql,
      ];
      const { stdout } = await promisify(execFile)(process.execPath, args, {
        cwd: root,
        env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_SEND_METRICS: 'false' },
        timeout: 60_000,
      });
      const out = JSON.parse(stdout) as {
        results?: Record<string, unknown>[];
        meta?: { changes?: number };
      }[];
      return { rows: out[0]?.results ?? [], changes: out[0]?.meta?.changes ?? 0 };
    },
  };
}

/** A SQL string literal (values here are ids, base64url keys and admin-given names). */
export function sqlString(v: string): string {
  return `'${v.replace(/'/g, "''")}'`;
}
