// The servers under test, each as child processes: edgeca on Node (signer + HTTPS edge with its
// embedded libSQL file), the same edge on Deno (same signer), and Pebble. Each target names the
// root pids whose CPU counts as "server" and the root its chains must verify against.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { denoRunArgs } from '../harness/deno-run.ts';
import { freePort } from '../harness/ports.ts';
import type { DevInit } from '../signer/bootstrap.ts';
import type { ServerProcess } from './per-kind.ts';
import { type Child, spawnChild, waitReady } from './proc.ts';
import type { SqlSource } from './sql.ts';

export const REPO = resolve(import.meta.dirname, '..');
const CLI = join(REPO, 'bin', 'edgeca.mjs');
const DENO = join(REPO, 'node_modules', '.bin', 'deno');

export interface Target {
  name: string;
  directoryUrl: string;
  /** processes whose CPU is the server's */
  pids(): number[];
  /** the same processes by role (edge, signer, postgres, pebble) */
  processes(): ServerProcess[];
  /** the servers' SQL statement counters, where they have them */
  sqlSources: SqlSource[];
  /** PEM of the root the issued chains end at */
  rootPem(): Promise<string>;
  stop(): Promise<void>;
}

export interface Common {
  init: DevInit;
  /** "127.0.0.1:PORT" of the mock DNS (every name → 127.0.0.1) */
  dns: string;
  http01Port: number;
  tlsCa: Buffer;
}

export interface SignerProc {
  url: string;
  child: Child;
  /** the signer and, when its store is PostgreSQL, the postmaster */
  processes: ServerProcess[];
  sqlSource: SqlSource;
}

/** Every server counts its SQL statements (bench/sql.ts reads the counters). */
const SQL_COUNTS = { EDGECA_SQL_STATEMENT_METRICS: 'true' };

/**
 * `edgeca signer serve` as a child; `nodeArgs` e.g. ['--cpu-prof', '--cpu-prof-dir=DIR'] to profile
 * it. `store` puts its store elsewhere than the dev config's libSQL file: a PostgreSQL URL, with
 * the postmaster's pid so its CPU and memory count as the signer's store's.
 */
export async function startSignerProc(
  c: Common,
  nodeArgs: string[] = [],
  store?: { url: string; postmasterPid: number },
): Promise<SignerProc> {
  let configFile = c.init.signerConfigFile;
  const cfg = JSON.parse(readFileSync(configFile, 'utf8')) as { listen: { port: number }; database: string };
  if (store) {
    // beside the dev config: its relative paths (token PIN, certificates) stay valid
    cfg.listen.port = await freePort();
    cfg.database = store.url;
    configFile = join(dirname(c.init.signerConfigFile), 'signer-bench-pg.json');
    writeFileSync(configFile, JSON.stringify(cfg, null, 2));
  }
  const url = `http://127.0.0.1:${cfg.listen.port}`;
  const child = spawnChild(
    store ? 'signer (PostgreSQL)' : 'signer',
    process.execPath,
    [...nodeArgs, CLI, 'signer', 'serve', '--config', configFile],
    {
      cwd: REPO,
      env: { ...SQL_COUNTS, ...(c.init.softhsmConf ? { SOFTHSM2_CONF: c.init.softhsmConf } : {}) },
    },
  );
  await waitReady(child, `${url}/v1/health`, c.tlsCa);
  return {
    url,
    child,
    processes: [
      { role: 'signer', pid: child.pid },
      ...(store ? [{ role: 'postgres', pid: store.postmasterPid }] : []),
    ],
    sqlSource: { role: 'signer', url: `${url}/metrics`, metric: 'edgeca_signer_sql_statements_total' },
  };
}

function edgeEnv(c: Common, signerUrl: string, port: number, db: string): Record<string, string> {
  return {
    EDGECA_HOST: '127.0.0.1',
    EDGECA_PORT: String(port),
    EDGECA_BASE_URL: `https://127.0.0.1:${port}`,
    EDGECA_TLS_CERT_FILE: c.init.edgeTlsCertFile,
    EDGECA_TLS_KEY_FILE: c.init.edgeTlsKeyFile,
    EDGECA_DB_URL: `file:${db}`,
    EDGECA_SIGNER_URL: signerUrl,
    EDGECA_RELAY_KEY_FILE: c.init.relayKeyFile,
    EDGECA_SIGNER_KEY_FILE: c.init.signerAnswerPublicKeyFile,
    EDGECA_DNS_RESOLVER: c.dns,
    EDGECA_HTTP01_PORT: String(c.http01Port),
    EDGECA_ALLOW_LOOPBACK: 'true',
    EDGECA_EAB_REQUIRED: 'false',
    ...SQL_COUNTS,
  };
}

const edgeSqlSources = (base: string, signer: SignerProc): SqlSource[] => [
  { role: 'edge', url: `${base}/metrics`, metric: 'edgeca_sql_statements_total' },
  signer.sqlSource,
];

const rootOf = (c: Common) => async () => readFileSync(c.init.rootCertFile, 'utf8');

/** The Node edge as `edgeca edge serve`; `nodeArgs` e.g. ['--cpu-prof', ...] for profiling. */
export async function startNodeEdge(
  c: Common,
  signer: SignerProc,
  db: string,
  nodeArgs: string[] = [],
  name = 'edgeca (Node)',
): Promise<Target & { child: Child }> {
  const port = await freePort();
  const child = spawnChild('edge (Node)', process.execPath, [...nodeArgs, CLI, 'edge', 'serve'], {
    cwd: REPO,
    env: edgeEnv(c, signer.url, port, db),
  });
  const base = `https://127.0.0.1:${port}`;
  await waitReady(child, `${base}/directory`, c.tlsCa);
  return {
    name,
    directoryUrl: `${base}/directory`,
    child,
    pids: () => [child.pid, ...signer.processes.map((p) => p.pid)],
    processes: () => [{ role: 'edge', pid: child.pid }, ...signer.processes],
    sqlSources: edgeSqlSources(base, signer),
    rootPem: rootOf(c),
    stop: () => child.stop(),
  };
}

export async function startDenoEdge(c: Common, signer: SignerProc, db: string): Promise<Target> {
  const port = await freePort();
  const child = spawnChild(
    'edge (Deno)',
    DENO,
    // the database's directory too: the edge creates its file (mode 0600) through Deno's file API
    denoRunArgs({ readPaths: [c.init.dir, dirname(db)], writePaths: [c.init.dir, dirname(db)] }),
    { cwd: REPO, env: edgeEnv(c, signer.url, port, db) },
  );
  const base = `https://127.0.0.1:${port}`;
  await waitReady(child, `${base}/directory`, c.tlsCa, 90_000);
  return {
    name: 'edgeca (Deno)',
    directoryUrl: `${base}/directory`,
    pids: () => [child.pid, ...signer.processes.map((p) => p.pid)],
    processes: () => [{ role: 'edge', pid: child.pid }, ...signer.processes],
    sqlSources: edgeSqlSources(base, signer),
    rootPem: rootOf(c),
    stop: () => child.stop(),
  };
}

/** Pebble (Debian package) with no validation sleep, no nonce rejection, no authz reuse. */
export async function startPebble(c: Common, workDir: string): Promise<Target> {
  const port = await freePort();
  const mgmt = await freePort();
  const cfgFile = join(workDir, 'pebble.json');
  writeFileSync(
    cfgFile,
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${port}`,
        managementListenAddress: `127.0.0.1:${mgmt}`,
        certificate: c.init.edgeTlsCertFile,
        privateKey: c.init.edgeTlsKeyFile,
        httpPort: c.http01Port,
        tlsPort: 5001,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
      },
    }),
  );
  const child = spawnChild('pebble', 'pebble', ['-config', cfgFile, '-dnsserver', c.dns], {
    cwd: workDir,
    env: { PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0' },
  });
  const base = `https://127.0.0.1:${port}`;
  await waitReady(child, `${base}/dir`, c.tlsCa);
  return {
    name: 'Pebble',
    directoryUrl: `${base}/dir`,
    pids: () => [child.pid],
    processes: () => [{ role: 'pebble', pid: child.pid }],
    sqlSources: [],
    rootPem: async () => {
      const res = await fetchText(`https://127.0.0.1:${mgmt}/roots/0`, c.tlsCa);
      return res;
    },
    stop: () => child.stop(),
  };
}

async function fetchText(url: string, ca: Buffer): Promise<string> {
  const { Http } = await import('./client.ts');
  const http = new Http(ca, 1);
  try {
    const r = await http.send(url, 'GET');
    if (r.status !== 200) throw new Error(`${url}: ${r.status}`);
    return r.body;
  } finally {
    http.close();
  }
}
