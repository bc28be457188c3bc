// `npm start`: a complete development CA on this machine. Installs what is missing (npm deps,
// SoftHSM), bootstraps the signer's dev CA in .edgeca/dev (idempotent), runs the signer and the
// edge as child processes, waits until both are healthy, writes .edgeca/dev/endpoints.json and
// prints how to point certbot / lego at it. Ctrl-C or SIGTERM stops everything and exits 0. A
// service that fails to come up stops everything (exit non-zero); once all are up, a service that
// dies (a crash, kill -9) is restarted — at most 10 times a minute (scripts/lib/procs.ts).
// Run through scripts/bootstrap.mjs (`npm start`), which installs the npm dependencies first.
//
// Environment: EDGECA_PORT (edge, default 14000), EDGECA_SIGNER_PORT (default: signer.json's port,
// 14100), EDGECA_START_TIMEOUT_S (default 60); every other EDGECA_* variable (e.g.
// EDGECA_DNS_RESOLVER, EDGECA_HTTP01_PORT, EDGECA_EAB_REQUIRED) is passed to the edge unchanged.
// EDGECA_RUNTIME=node (default) | deno | workerd runs the same edge on that runtime.
// EDGECA_SIGNERS=N (default 1) runs N signers, `signer-1`..`signer-N`, on EDGECA_SIGNER_PORT and the
// ports above it, sharing the store and the token; the edge gets all their URLs (it fails over).
// EDGECA_SIGNER_DATABASE_URL (e.g. postgres://edgeca@127.0.0.1:5432/edgeca) replaces signer.json's
// `database` for the signers it starts; their password comes from EDGECA_SIGNER_DATABASE_PASSWORD or
// from the file EDGECA_SIGNER_DATABASE_PASSWORD_FILE names (mode 0600), never from a command line
// or signer.json; none of these reaches the edge or the validator.
//
// Files for outside tools: .edgeca/dev/services.pid.json names the supervisor and each service's
// process group ({"supervisor": PID, "services": {"signer-1": PGID, ..., "validator": PGID,
// "edge": PGID}}), so one service can be stopped or killed from outside (the supervisor then
// restarts it); .edgeca/dev/endpoints.json says where everything is. Both are written whole
// (a temporary file renamed over the old), endpoints.json once, when every service is up; a stale
// one from an earlier start is removed first.
// The edge reaches the signer over HTTPS with the signer's relay TLS CA pinned (EDGECA_SIGNER_CA_FILE;
// plain HTTP under workerd, whose fetch cannot pin a CA) and pins the signer's answer key
// (EDGECA_SIGNER_KEY_FILE): both made by `signer init --dev`.
// The on-prem validator (docs/validator.md) runs beside the signer on EDGECA_VALIDATOR_PORT (14200),
// resolving through EDGECA_VALIDATOR_DNS_RESOLVER (default: the system resolver); the edge pins its
// key and routes by EDGECA_VALIDATION_ROUTES (default: tls-alpn-01 on-prem where the edge has no raw TLS).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { build } from './lib/build.ts';
import { edgeLaunch, isRuntime, RUNTIMES } from './lib/edge-runtimes.ts';
import { ensureDebianPackages, ensureNpmDeps, orExit, ROOT, START_PACKAGES } from './lib/ensure.ts';
import { createSupervisor, reapStale, type Service, waitHealthy } from './lib/procs.ts';

const DEV_DIR = join(ROOT, '.edgeca', 'dev');

/** What `edgeca signer init --dev` prints: where the token and the CA it made are. */
interface DevCa {
  softhsmConf?: string;
  pkcs11Module: string;
  tokenLabel: string;
  pinFile: string;
  rootCertFile?: string;
}

/** The parts of signer.json this script reads or changes; the rest is copied as it is. */
interface SignerConfig {
  listen?: { port?: number; tlsCertFile?: string; tlsKeyFile?: string };
  database?: unknown;
  databasePasswordFile?: string;
  [other: string]: unknown;
}

/** One signer this start runs: its service name, the config it serves and its port. */
interface SignerRun {
  name: string;
  file: string;
  config: SignerConfig;
  port: number;
}

/** .edgeca/dev/endpoints.json: where everything is, for people and outside tools. */
interface Endpoints {
  directoryUrl: string;
  edgeUrl: string;
  adminUrl: string;
  edgeRuntime: string;
  signerUrl: string | undefined;
  signerUrls: string[];
  signerConfigFile: string;
  signerCaFile?: string;
  signerKeyFile: string;
  validatorUrl: string | undefined;
  tlsCaFile: string;
  issuingRootFile: string;
  dbUrl?: string | undefined;
  softhsmConf?: string;
  pkcs11Module: string;
  tokenLabel: string;
  pinFile: string;
  [extra: string]: unknown;
}
const CLI = join(ROOT, 'bin', 'edgeca.mjs');
const env = process.env;

function fail(message: string): never {
  process.stderr.write(`[edgeca] ${message}\n`);
  process.exit(1);
}

function readJson<T>(file: string): T {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (err) {
    fail(`cannot read ${relative(ROOT, file)}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function portFrom(name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`${name}=${raw} is not a TCP port`);
  return port;
}

/** Writes through a temporary file and a rename: a reader sees the old file, no file, or the new one whole. */
function writeWhole(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/**
 * Runs the signer's dev bootstrap (idempotent: reuses the token, keys and certificates it finds)
 * and returns the paths it prints (softhsmConf, pkcs11Module, tokenLabel, pinFile, rootCertFile...).
 */
function initSigner(): DevCa {
  process.stderr.write(
    '[edgeca] preparing the development CA in .edgeca/dev (SoftHSM token, root, intermediate)\n',
  );
  const r = spawnSync(process.execPath, [CLI, 'signer', 'init', '--dev', '--dir', DEV_DIR], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) fail(`signer init failed (exit ${r.status ?? r.signal})`);
  try {
    return JSON.parse(r.stdout) as DevCa;
  } catch {
    fail(`signer init printed no JSON: ${r.stdout.slice(0, 200)}`);
  }
}

/** Variables for the signers alone: the store's URL and password stay out of the other services. */
const SIGNER_ONLY_ENV = [
  'EDGECA_SIGNER_DATABASE_URL',
  'EDGECA_SIGNER_DATABASE_PASSWORD',
  'EDGECA_SIGNER_DATABASE_PASSWORD_FILE',
];
/** Read by this script only. */
const START_ONLY_ENV = ['EDGECA_SIGNERS'];
const MAX_SIGNERS = 16;

/** EDGECA_SIGNERS: how many signer processes share the store and the token (default 1). */
function signerCount(): number {
  const raw = env.EDGECA_SIGNERS;
  if (raw === undefined || raw === '') return 1;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_SIGNERS) {
    fail(`EDGECA_SIGNERS=${raw}: give a whole number of signers from 1 to ${MAX_SIGNERS}`);
  }
  return n;
}

/**
 * The file the store password is read from, when EDGECA_SIGNER_DATABASE_PASSWORD_FILE names one:
 * its path goes into the signers' configs (databasePasswordFile), the password itself never does.
 */
function signerPasswordFile(): string | undefined {
  const file = env.EDGECA_SIGNER_DATABASE_PASSWORD_FILE;
  if (file === undefined || file === '') return undefined;
  if (env.EDGECA_SIGNER_DATABASE_PASSWORD) {
    fail(
      'both EDGECA_SIGNER_DATABASE_PASSWORD and EDGECA_SIGNER_DATABASE_PASSWORD_FILE are set: keep one of them',
    );
  }
  if (!existsSync(file)) fail(`EDGECA_SIGNER_DATABASE_PASSWORD_FILE=${file}: no such file`);
  return resolve(file);
}

/** The signer's store from EDGECA_SIGNER_DATABASE_URL, checked before it is written to a file. */
function signerDatabase(): string | undefined {
  const url = env.EDGECA_SIGNER_DATABASE_URL;
  if (url === undefined || url === '') return undefined;
  if (/^postgres(ql)?:\/\/[^@/?#]*:[^@/?#]*@/i.test(url) || /[?&]password=/i.test(url)) {
    fail(
      'EDGECA_SIGNER_DATABASE_URL contains a password: remove it from the URL and export ' +
        'EDGECA_SIGNER_DATABASE_PASSWORD instead',
    );
  }
  return url;
}

/** True for a postgres:// URL whose every host is this machine: the server is then ours to install. */
function isLocalPostgres(url: string | undefined): boolean {
  const m = /^postgres(?:ql)?:\/\/(?:[^@/?#]*@)?([^/?#]*)/i.exec(url ?? '');
  if (!m) return false;
  return (m[1] ?? '').split(',').every((h) => /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/i.test(h));
}

/**
 * The config each of `count` signers serves. Signer 1: signer.json itself, or, when
 * EDGECA_SIGNER_PORT asks for another port, EDGECA_SIGNER_DATABASE_URL for another store,
 * EDGECA_SIGNER_DATABASE_PASSWORD_FILE for its password or `tls` for HTTPS with the development
 * relay TLS certificate (signer init --dev makes it; the edge pins its own CA, signer-tls-ca.pem),
 * a copy beside it, signer.start.json (same directory, so its relative paths still resolve), with
 * those. Signer i > 1: signer-i.start.json, the same on the next port up. All share the store (the
 * default libSQL file in WAL mode, or the PostgreSQL URL) and the token.
 */
function signerConfigs({ tls, count }: { tls: boolean; count: number }): SignerRun[] {
  const file = join(DEV_DIR, 'signer.json');
  const config = readJson<SignerConfig>(file);
  const base = portFrom('EDGECA_SIGNER_PORT', config.listen?.port ?? 14100);
  if (base + count - 1 > 65535) fail(`EDGECA_SIGNERS=${count} signers do not fit above port ${base}`);
  const database = signerDatabase() ?? config.database;
  const passwordFile = signerPasswordFile();
  const tlsFiles = tls ? { tlsCertFile: 'signer-tls-cert.pem', tlsKeyFile: 'signer-tls-key.pem' } : {};
  // Copies for more signers than this start runs would only mislead.
  for (const f of readdirSync(DEV_DIR)) {
    if (/^signer-\d+\.start\.json$/.test(f)) rmSync(join(DEV_DIR, f), { force: true });
  }
  const out: SignerRun[] = [];
  for (let i = 1; i <= count; i++) {
    const port = base + i - 1;
    const unchanged =
      i === 1 && port === config.listen?.port && database === config.database && !tls && !passwordFile;
    if (unchanged) {
      out.push({ name: `signer-${i}`, file, config, port });
      continue;
    }
    const patched: SignerConfig = {
      ...config,
      listen: { ...config.listen, port, ...tlsFiles },
      database,
      ...(passwordFile ? { databasePasswordFile: passwordFile } : {}),
    };
    const copy = join(DEV_DIR, i === 1 ? 'signer.start.json' : `signer-${i}.start.json`);
    writeWhole(copy, `${JSON.stringify(patched, null, 2)}\n`);
    out.push({ name: `signer-${i}`, file: copy, config: patched, port });
  }
  return out;
}

function quote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}

function printReady(endpoints: Endpoints, http01Port: number): void {
  const root = quote(endpoints.tlsCaFile);
  const dir = endpoints.directoryUrl;
  const name = env.EDGECA_DEMO_NAME ?? 'app.example.test';
  const eab = env.EDGECA_EAB_REQUIRED === 'true' || env.EDGECA_EAB_REQUIRED === '1';
  const lines = [
    '',
    'edgeca is running (Ctrl-C stops it)',
    '',
    `  ACME directory   ${dir}`,
    `  trust this root  ${endpoints.tlsCaFile}`,
    ...endpoints.signerUrls.map(
      (u, i) => `  signer-${i + 1}${' '.repeat(Math.max(1, 10 - String(i + 1).length))}${u}`,
    ),
    `  validator        ${endpoints.validatorUrl}`,
    `  admin API        ${endpoints.adminUrl}`,
    `  all of the above ${relative(ROOT, join(DEV_DIR, 'endpoints.json'))}`,
    '',
    `certbot (answers http-01 on port ${http01Port}; the edge checks that port, set by EDGECA_HTTP01_PORT):`,
    `  REQUESTS_CA_BUNDLE=${root} certbot certonly --server ${dir} --non-interactive --agree-tos \\`,
    `    --register-unsafely-without-email --standalone --http-01-port ${http01Port} \\`,
    `    --config-dir /tmp/edgeca-certbot --work-dir /tmp/edgeca-certbot --logs-dir /tmp/edgeca-certbot \\`,
    `    -d ${name}${eab ? ' --eab-kid <kid> --eab-hmac-key <hmac>' : ''}`,
    '',
    'lego:',
    `  LEGO_CA_CERTIFICATES=${root} lego --server ${dir} --accept-tos --email admin@example.test \\`,
    `    --path /tmp/edgeca-lego --http --http.port :${http01Port} -d ${name}${eab ? ' --eab --kid <kid> --hmac <hmac>' : ''} run`,
    '',
    `The name must resolve to this machine for the edge: point it at a test DNS server with`,
    '  EDGECA_DNS_RESOLVER=127.0.0.1:8053 npm start   (e.g. pebble-challtestsrv, see README "Use with certbot")',
    '',
    `External Account Binding${eab ? ' (required: EDGECA_EAB_REQUIRED is set)' : ' (optional; EDGECA_EAB_REQUIRED=true makes it mandatory)'}:`,
    '  npx edgeca eab create          prints a kid and an HMAC key once (--json for scripts)',
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function main() {
  const database = signerDatabase();
  const count = signerCount();
  const endpointsFile = join(DEV_DIR, 'endpoints.json');
  const pidFile = join(DEV_DIR, 'services.pid.json');
  try {
    await reapStale(pidFile);
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err));
  }
  // What an earlier start wrote names ports and services that may be gone: nobody reads it now.
  rmSync(endpointsFile, { force: true });
  await orExit(() => {
    ensureNpmDeps();
    // A store on this machine's PostgreSQL: the server comes from Debian like the HSM does.
    ensureDebianPackages(isLocalPostgres(database) ? [...START_PACKAGES, 'postgresql'] : START_PACKAGES);
    // The services below run the compiled dist/ (bin/edgeca.mjs), as an installed package does.
    build();
  });
  const hsm = initSigner();
  // A first bootstrap leaves an endpoints.json with the HSM's paths only; the whole one comes last.
  rmSync(endpointsFile, { force: true });

  const rootFile = join(DEV_DIR, 'root.pem');
  const devFiles = [
    'root.pem',
    'edge-tls-cert.pem',
    'edge-tls-key.pem',
    'relay-key.json',
    'signer.json',
    'signer-answer-public.json',
    'signer-tls-ca.pem',
    'signer-tls-cert.pem',
    'signer-tls-key.pem',
  ];
  for (const f of devFiles) {
    if (!existsSync(join(DEV_DIR, f))) fail(`signer init did not create .edgeca/dev/${f}`);
  }
  const runtime = env.EDGECA_RUNTIME ?? 'node';
  if (!isRuntime(runtime)) fail(`EDGECA_RUNTIME=${runtime}: choose one of ${RUNTIMES.join(', ')}`);
  // The relay goes over HTTPS with the signer's CA pinned at the edge, where the runtime can pin a
  // CA (Node, Deno); a Worker's fetch cannot (docs/runtimes.md), so under workerd it stays HTTP.
  const relayTls = runtime !== 'workerd';
  const signers = signerConfigs({ tls: relayTls, count });
  const first = signers[0] ?? fail('no signer to start');
  const signerScheme = first.config.listen?.tlsCertFile ? 'https' : 'http';
  const signerUrls = signers.map((s) => `${signerScheme}://127.0.0.1:${s.port}`);
  const signerUrl = signerUrls[0];
  const signerCaFile = join(DEV_DIR, 'signer-tls-ca.pem');
  const signerKeyFile = join(DEV_DIR, 'signer-answer-public.json');

  const edgePort = portFrom('EDGECA_PORT', 14000);
  const http01Port = portFrom('EDGECA_HTTP01_PORT', 80);
  const baseUrl = (env.EDGECA_BASE_URL ?? `https://127.0.0.1:${edgePort}`).replace(/\/+$/, '');
  const othersEnv = Object.fromEntries(
    Object.entries(env).filter(([k]) => !SIGNER_ONLY_ENV.includes(k) && !START_ONLY_ENV.includes(k)),
  );
  // Dev defaults; anything the caller exported wins (EDGECA_DNS_RESOLVER, EDGECA_HTTP01_PORT, ...).
  const edgeEnv: Record<string, string> = {
    EDGECA_HOST: '127.0.0.1',
    EDGECA_TLS_CERT_FILE: join(DEV_DIR, 'edge-tls-cert.pem'),
    EDGECA_TLS_KEY_FILE: join(DEV_DIR, 'edge-tls-key.pem'),
    EDGECA_DB_URL: `file:${join(DEV_DIR, 'edge.db')}`,
    // every signer, in order: the edge fails over to the next when one is down (edge/relay/)
    EDGECA_SIGNER_URL: signerUrls.join(','),
    EDGECA_SIGNER_KEY_FILE: signerKeyFile,
    EDGECA_RELAY_KEY_FILE: join(DEV_DIR, 'relay-key.json'),
    EDGECA_ALLOW_LOOPBACK: 'true',
    ...othersEnv,
    EDGECA_PORT: String(edgePort),
    EDGECA_BASE_URL: baseUrl,
  };
  // The pin belongs with an https:// signer URL (the edge refuses it beside an http:// one).
  if (
    !edgeEnv.EDGECA_SIGNER_CA_FILE &&
    !edgeEnv.EDGECA_SIGNER_CA &&
    /^https:/.test(edgeEnv.EDGECA_SIGNER_URL ?? '')
  ) {
    edgeEnv.EDGECA_SIGNER_CA_FILE = signerCaFile;
  }

  const sup = createSupervisor({ pidFile });
  const shutdown = async (signal: NodeJS.Signals) => {
    if (sup.stopping) return;
    process.stderr.write(`\n[edgeca] ${signal}: stopping the edge, the validator and the signers\n`);
    await sup.shutdown(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGHUP', () => void shutdown('SIGHUP'));
  // Last resort (an uncaught error): never leave a detached service behind.
  process.on('exit', () => sup.killAll());
  const healthy = async (url: string, service: Service, timeout: number, caFile = rootFile) => {
    const problem = await waitHealthy(url, service, { caFile, timeoutMs: timeout });
    if (problem && !sup.stopping) {
      process.stderr.write(`[edgeca] ${problem}\n`);
      await sup.shutdown(1);
    }
  };

  const softhsm = hsm.softhsmConf ? { SOFTHSM2_CONF: hsm.softhsmConf } : {};
  const timeoutMs = Number(env.EDGECA_START_TIMEOUT_S ?? 60) * 1000;
  // Each signer is a service of its own (its own process group, restarted on its own). The first
  // brings the store's schema up to date; the others then start together.
  const startSigner = (s: SignerRun, i: number) =>
    healthy(
      `${signerUrls[i] ?? fail(`no URL for ${s.name}`)}/v1/health`,
      sup.launch(s.name, [CLI, 'signer', 'serve', '--config', s.file], {
        cwd: ROOT,
        env: { ...env, ...softhsm },
      }),
      timeoutMs,
      signerCaFile,
    );
  await startSigner(first, 0);
  await Promise.all(signers.slice(1).map((s, i) => startSigner(s, i + 1)));

  // The validator: its edge keys, ceiling and key come from signer.json. Dev only: it may dial
  // loopback (dev names resolve to 127.0.0.1) and the http-01 port the edge uses.
  const validatorPort = portFrom('EDGECA_VALIDATOR_PORT', 14200);
  const validatorUrl = `http://127.0.0.1:${validatorPort}`;
  const validatorArgs = [
    CLI,
    'validator',
    'serve',
    '--signer-config',
    first.file,
    '--port',
    String(validatorPort),
  ];
  validatorArgs.push('--database', `file:${join(DEV_DIR, 'validator.db')}`, '--test-allow-loopback');
  if (http01Port !== 80) validatorArgs.push('--test-http01-port', String(http01Port));
  if (env.EDGECA_VALIDATOR_DNS_RESOLVER)
    validatorArgs.push('--dns-resolver', env.EDGECA_VALIDATOR_DNS_RESOLVER);
  const validatorProc = sup.launch('validator', validatorArgs, { cwd: ROOT, env: othersEnv });
  await healthy(`${validatorUrl}/v1/health`, validatorProc, timeoutMs);
  if (!env.EDGECA_VALIDATOR_URL) {
    const { d: _d, ...validatorPublicJwk } = readJson<Record<string, unknown>>(
      join(DEV_DIR, 'validator-key.json'),
    );
    edgeEnv.EDGECA_VALIDATOR_URL = validatorUrl;
    edgeEnv.EDGECA_VALIDATOR_KEY = JSON.stringify(validatorPublicJwk);
  }

  if (runtime === 'workerd') {
    edgeEnv.EDGECA_RELAY_KEY = readFileSync(
      edgeEnv.EDGECA_RELAY_KEY_FILE ?? fail('EDGECA_RELAY_KEY_FILE is not set'),
      'utf8',
    ).trim();
    edgeEnv.EDGECA_SIGNER_KEY ??= readFileSync(
      edgeEnv.EDGECA_SIGNER_KEY_FILE ?? fail('EDGECA_SIGNER_KEY_FILE is not set'),
      'utf8',
    ).trim();
    // Workers have no UDP: a plain DNS server (EDGECA_DNS_RESOLVER=host:port) is reached through a
    // local DNS-over-HTTPS bridge; a DoH URL is used as it is.
    const resolver = edgeEnv.EDGECA_DNS_RESOLVER;
    if (resolver && !/^https?:\/\//i.test(resolver)) {
      const dohPort = portFrom('EDGECA_DOH_BRIDGE_PORT', edgePort + 4);
      const bridgeArgs = [CLI, 'dev', 'doh-bridge', '--upstream', resolver, '--port', String(dohPort)];
      sup.launch('doh-bridge', bridgeArgs, { cwd: ROOT, env: othersEnv });
      edgeEnv.EDGECA_DNS_RESOLVER = `http://127.0.0.1:${dohPort}/dns-query`;
    }
    // wrangler.toml's vars describe a production Worker; the dev edge takes the caller's choice.
    edgeEnv.EDGECA_EAB_REQUIRED ??= 'false';
  }
  const launch = edgeLaunch(runtime, { root: ROOT, devDir: DEV_DIR, edgeEnv, edgePort });
  const edgeProc = sup.launch('edge', launch.args, {
    cwd: ROOT,
    env: launch.env,
    command: launch.command,
  });
  await healthy(
    `${launch.baseUrl}/health`,
    edgeProc,
    runtime === 'workerd' ? Math.max(timeoutMs, 120_000) : timeoutMs,
  );
  sup.steady();

  const endpoints: Endpoints = {
    directoryUrl: `${launch.baseUrl}/directory`,
    edgeUrl: launch.baseUrl,
    adminUrl: `${launch.baseUrl}/admin`,
    edgeRuntime: runtime,
    ...launch.extra,
    // the first signer, as before there were several; signerUrls: all, in the edge's order
    signerUrl,
    signerUrls,
    // the config the first signer serves (signer.start.json when a port or store was overridden),
    // for `edgeca signer audit-verify --config ...` and `crl`: every signer shares its store
    signerConfigFile: first.file,
    ...(signerScheme === 'https' ? { signerCaFile: resolve(signerCaFile) } : {}),
    signerKeyFile: resolve(signerKeyFile),
    validatorUrl: edgeEnv.EDGECA_VALIDATOR_URL,
    tlsCaFile: resolve(rootFile),
    issuingRootFile: resolve(hsm.rootCertFile ?? rootFile),
    ...(runtime === 'workerd' ? {} : { dbUrl: edgeEnv.EDGECA_DB_URL }),
    ...(hsm.softhsmConf ? { softhsmConf: hsm.softhsmConf } : {}),
    pkcs11Module: hsm.pkcs11Module,
    tokenLabel: hsm.tokenLabel,
    pinFile: hsm.pinFile,
  };
  writeWhole(endpointsFile, `${JSON.stringify(endpoints, null, 2)}\n`);
  printReady(endpoints, http01Port);
}

await main();
