// `npm start`: a complete development CA on this machine. Installs what is missing (npm deps,
// SoftHSM), bootstraps the signer's dev CA in .edgeca/dev (idempotent), runs the signer and the
// edge as child processes, waits until both are healthy, writes .edgeca/dev/endpoints.json and
// prints how to point certbot / lego at it. Ctrl-C or SIGTERM stops everything and exits 0. A
// service that fails to come up stops everything (exit non-zero); once all are up, a service that
// dies (a crash, kill -9) is restarted — at most 10 times a minute (scripts/lib/procs.ts).
// Run through scripts/bootstrap.mjs (`npm start`), which installs the npm dependencies first.
//
// Environment: the variables this script reads itself are the rows of scripts/lib/start-settings.ts
// (README.md lists them): EDGECA_PORT (edge, default 14000), EDGECA_SIGNER_PORT (default:
// signer.json's port, 14100), EDGECA_START_TIMEOUT_S (default 60), ...; every other EDGECA_* variable
// (e.g. EDGECA_DNS_RESOLVER, EDGECA_HTTP01_PORT, EDGECA_EAB_REQUIRED) is passed to the edge unchanged.
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
//
// This file is the order of the start; its parts are in scripts/lib/: start-env.ts (the variables
// above, read through their table start-settings.ts), dev-ca.ts (signer init --dev), dev-signers.ts (each signer's config), procs.ts
// (the supervisor and services.pid.json), dev-endpoints.ts (endpoints.json and the ready banner).
import { readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from './lib/build.ts';
import { CLI, checkDevFiles, DEV_DIR, initSigner, readJson } from './lib/dev-ca.ts';
import { type Endpoints, printReady } from './lib/dev-endpoints.ts';
import { type SignerRun, signerConfigs } from './lib/dev-signers.ts';
import { edgeLaunch, isRuntime, RUNTIMES } from './lib/edge-runtimes.ts';
import { ensureDebianPackages, ensureNpmDeps, orExit, ROOT, START_PACKAGES } from './lib/ensure.ts';
import { createSupervisor, reapStale, type Service, waitHealthy } from './lib/procs.ts';
import {
  edgeSetting,
  fail,
  isLocalPostgres,
  signerCount,
  signerDatabase,
  startSetting,
} from './lib/start-env.ts';
import { NOT_FOR_OTHERS } from './lib/start-settings.ts';
import { writeWhole } from './lib/write-whole.ts';

const env = process.env;

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
  checkDevFiles();
  const runtime = startSetting('EDGECA_RUNTIME');
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

  const edgePort = startSetting('EDGECA_PORT');
  const http01Port = edgeSetting('EDGECA_HTTP01_PORT');
  // The edge takes any non-negative number here; the validator this script starts needs a port.
  if (http01Port < 1 || http01Port > 65_535)
    fail(`EDGECA_HTTP01_PORT must be a TCP port (1 to 65535) under npm start, got "${http01Port}"`);
  const baseUrl = (edgeSetting('EDGECA_BASE_URL') ?? `https://127.0.0.1:${edgePort}`).replace(/\/+$/, '');
  const othersEnv = Object.fromEntries(Object.entries(env).filter(([k]) => !NOT_FOR_OTHERS.includes(k)));
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
  const timeoutMs = startSetting('EDGECA_START_TIMEOUT_S') * 1000;
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
  const validatorPort = startSetting('EDGECA_VALIDATOR_PORT');
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
  const validatorResolver = startSetting('EDGECA_VALIDATOR_DNS_RESOLVER');
  if (validatorResolver) validatorArgs.push('--dns-resolver', validatorResolver);
  const validatorProc = sup.launch('validator', validatorArgs, { cwd: ROOT, env: othersEnv });
  await healthy(`${validatorUrl}/v1/health`, validatorProc, timeoutMs);
  if (!edgeSetting('EDGECA_VALIDATOR_URL')) {
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
      const dohPort = startSetting('EDGECA_DOH_BRIDGE_PORT') ?? edgePort + 4;
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
