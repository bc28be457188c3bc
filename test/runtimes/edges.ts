// Starting the same edge on Deno (the npm `deno` binary) and on workerd (`wrangler dev --local`
// with its local D1) as child processes, next to the in-process signer of startSystem. Every wait
// is bounded; a runtime that cannot start fails the test with its own output, never a silent skip.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createClient } from '@libsql/client';
import { newEabCredentials } from '../../edge/acme/eab.ts';
import { createEabRepo } from '../../edge/storage/accounts.ts';
import { openDatabase } from '../../edge/storage/db.ts';
import { type ChallTestSrv, startChallTestSrv } from '../../harness/challtestsrv.ts';
import { type Child, spawnChild } from '../../harness/child.ts';
import { denoRunArgs } from '../../harness/deno-run.ts';
import { type Http01Server, startHttp01Server } from '../../harness/http01.ts';
import { freePort } from '../../harness/ports.ts';
import { httpAnswers, waitFor } from '../../harness/wait.ts';
import {
  WRANGLER_OFFLINE_ENV,
  wranglerDevArgs,
  wranglerScript,
  writeWorkerVars,
} from '../../harness/wrangler-dev.ts';
import { type System, startSystem } from '../support/system.ts';

export const REPO = resolve(import.meta.dirname, '../..');
const DENO = join(REPO, 'node_modules/.bin/deno');
const WRANGLER = wranglerScript(REPO);
const START_TIMEOUT_MS = 90_000;

export interface EabKey {
  kid: string;
  hmacKey: string;
}

export interface RunningEdge {
  /** origin the edge serves and names in its URLs */
  baseUrl: string;
  /** where it actually listens (differs from baseUrl only for an instance behind a shared name) */
  listenUrl: string;
  output(): string;
  stop(): Promise<void>;
}

const newEab = (): EabKey => newEabCredentials();

/** A new EAB key in a libSQL edge database (Node and Deno edges). */
export async function seedEabLibsql(dbUrl: string): Promise<EabKey> {
  const client = createClient({ url: dbUrl });
  try {
    const { db } = await openDatabase(client);
    const key = newEab();
    await createEabRepo(db).create({ ...key, name: 'runtime matrix' });
    return key;
  } finally {
    client.close();
  }
}

/** One SQL statement on a libSQL edge database, from outside the edge. */
export async function execLibsql(dbUrl: string, sql: string): Promise<void> {
  const client = createClient({ url: dbUrl });
  try {
    await client.execute(sql);
  } finally {
    client.close();
  }
}

/** Waits (bounded) until `url` answers 200; the child's exit ends the wait, which stops it on failure. */
async function waitReady(
  what: string,
  url: string,
  proc: Child,
  fetchFn: (u: string) => Promise<Response>,
): Promise<void> {
  try {
    const res = await waitFor(`${what} answering ${url}`, httpAnswers(url, { fetch: fetchFn }), {
      timeoutMs: START_TIMEOUT_MS,
      intervalMs: 250,
      giveUp: () => (proc.exited() ? `${what} exited during start-up` : undefined),
      context: () => proc.output().slice(-4000),
    });
    await res.body?.cancel();
  } catch (e) {
    await proc.stop();
    throw e;
  }
}

export interface EdgeSettings {
  sys: System;
  dbUrl: string;
  /** DNS server "127.0.0.1:PORT" (Deno) or a DoH URL */
  dnsResolver: string;
  http01Port: number;
  /** the origin clients use; default: this instance's own https://127.0.0.1:PORT */
  baseUrl?: string;
  fetch: (url: string, init?: RequestInit) => Promise<Response>;
  /** further EDGECA_* settings (e.g. the on-prem validator's URL, key and routes); they win */
  env?: Record<string, string>;
}

/** The edge on Deno, over HTTPS with the dev edge certificate, with the minimum permissions. */
export async function startDenoEdge(s: EdgeSettings): Promise<RunningEdge> {
  if (!existsSync(DENO)) {
    throw new Error(`the deno binary is missing at ${DENO}: run \`npm install\` (devDependency "deno")`);
  }
  const port = await freePort();
  const listenUrl = `https://127.0.0.1:${port}`;
  const baseUrl = s.baseUrl ?? listenUrl;
  const env = {
    EDGECA_HOST: '127.0.0.1',
    EDGECA_PORT: String(port),
    EDGECA_BASE_URL: baseUrl,
    EDGECA_TLS_CERT_FILE: s.sys.init.edgeTlsCertFile,
    EDGECA_TLS_KEY_FILE: s.sys.init.edgeTlsKeyFile,
    EDGECA_DB_URL: s.dbUrl,
    EDGECA_SIGNER_URL: s.sys.signerUrl,
    EDGECA_RELAY_KEY_FILE: s.sys.init.relayKeyFile,
    EDGECA_SIGNER_KEY_FILE: s.sys.init.signerAnswerPublicKeyFile,
    EDGECA_DNS_RESOLVER: s.dnsResolver,
    EDGECA_HTTP01_PORT: String(s.http01Port),
    EDGECA_ALLOW_LOOPBACK: 'true',
    EDGECA_EAB_REQUIRED: 'true',
    ...s.env,
  };
  const proc = spawnChild(
    'the edge on Deno',
    DENO,
    denoRunArgs({ readPaths: [s.sys.dir], writePaths: [s.sys.dir] }),
    {
      env,
      cwd: REPO,
    },
  );
  await waitReady('the edge on Deno', `${listenUrl}/directory`, proc, s.fetch);
  return { baseUrl, listenUrl, output: proc.output, stop: proc.stop };
}

export interface WorkerdEdge extends RunningEdge {
  /** one SQL statement on the local D1 (through `wrangler d1 execute --local`) */
  exec(sql: string): Promise<void>;
  /** the rows of one SELECT on the local D1 */
  query(sql: string): Promise<Record<string, unknown>[]>;
  /** a new EAB key in the local D1 */
  seedEab(): Promise<EabKey>;
}

/** The edge on workerd: `wrangler dev --local` with the repository's wrangler.toml and a local D1. */
export async function startWorkerdEdge(
  s: Omit<EdgeSettings, 'dbUrl'> & {
    /** further `wrangler dev` arguments (e.g. --test-scheduled, which serves /__scheduled) */
    wranglerArgs?: string[];
  },
): Promise<WorkerdEdge> {
  if (!existsSync(WRANGLER)) {
    throw new Error(`wrangler is missing at ${WRANGLER}: run \`npm install\` (devDependency "wrangler")`);
  }
  const port = await freePort();
  const inspector = await freePort();
  const listenUrl = `http://127.0.0.1:${port}`;
  const persist = join(s.sys.dir, 'wrangler-state');
  const envFile = join(s.sys.dir, 'workerd.env');
  const vars: Record<string, string> = {
    EDGECA_BASE_URL: listenUrl,
    EDGECA_SIGNER_URL: s.sys.signerUrl,
    EDGECA_RELAY_KEY: readFileSync(s.sys.init.relayKeyFile, 'utf8').trim(),
    EDGECA_SIGNER_KEY: readFileSync(s.sys.init.signerAnswerPublicKeyFile, 'utf8').trim(),
    EDGECA_DNS_RESOLVER: s.dnsResolver,
    EDGECA_HTTP01_PORT: String(s.http01Port),
    EDGECA_ALLOW_LOOPBACK: 'true',
    EDGECA_EAB_REQUIRED: 'true',
    ...s.env,
  };
  writeWorkerVars(envFile, vars);
  const wranglerEnv = { ...WRANGLER_OFFLINE_ENV, WRANGLER_LOG_PATH: join(s.sys.dir, 'wrangler-logs') };
  const proc = spawnChild(
    'the edge on workerd',
    process.execPath,
    [
      WRANGLER,
      ...wranglerDevArgs({ port, inspectorPort: inspector, persistTo: persist, envFile }),
      '--log-level',
      'info',
      ...(s.wranglerArgs ?? []),
    ],
    { env: wranglerEnv, cwd: REPO },
  );
  await waitReady('the edge on workerd (wrangler dev)', `${listenUrl}/directory`, proc, s.fetch);
  const d1 = async (sql: string, json = false) => {
    const args = [
      'd1',
      'execute',
      'DB',
      '--local',
      '-c',
      'wrangler.toml',
      '--persist-to',
      persist,
      '--command',
      sql,
      ...(json ? ['--json'] : []),
    ];
    const { stdout } = await promisify(execFile)(process.execPath, [WRANGLER, ...args], {
      cwd: REPO,
      env: { ...process.env, ...wranglerEnv },
      timeout: 60_000,
    });
    return stdout;
  };
  const exec = async (sql: string) => void (await d1(sql));
  const query = async (sql: string) => {
    const out = JSON.parse(await d1(sql, true)) as { results?: Record<string, unknown>[] }[];
    return out[0]?.results ?? [];
  };
  return {
    baseUrl: listenUrl,
    listenUrl,
    output: proc.output,
    stop: proc.stop,
    exec,
    query,
    async seedEab() {
      const key = newEab();
      await exec(
        `INSERT INTO eab_keys (kid, hmac_key, name, created_at) VALUES ('${key.kid}', '${key.hmacKey}', 'runtime matrix', ${Date.now()})`,
      );
      return key;
    },
  };
}

export interface Deps {
  sys: System;
  dns: ChallTestSrv;
  http01: Http01Server;
  stop(): Promise<void>;
}

/** The mock DNS, an http-01 responder, and the system (signer on SoftHSM + Node edge, EAB required). */
export async function startDeps(): Promise<Deps> {
  const dns = await startChallTestSrv();
  const http01 = await startHttp01Server(await freePort());
  let sys: System;
  try {
    sys = await startSystem({ eabRequired: true, dnsResolver: dns.dnsAddress, http01Port: http01.port });
  } catch (err) {
    await http01.close();
    await dns.close();
    throw err;
  }
  return {
    sys,
    dns,
    http01,
    async stop() {
      await sys.stop();
      await http01.close();
      await dns.close();
    },
  };
}
