// The whole system for integration tests, in this process: the signer's dev bootstrap (SoftHSM
// token, root, intermediate, relay, validator and signer answer keys, edge TLS certificate) in a
// fresh temp directory, the signer over HTTP (or HTTPS with `signerTls`, the edge pinning the relay
// CA) and the edge over HTTPS, both on free 127.0.0.1 ports.
//
// With `validator`, the on-prem validator (validator/) runs too, on its own resolver, and the edge
// pins its key (EDGECA_VALIDATOR_URL / EDGECA_VALIDATOR_KEY_FILE); routes go in `env`.
//
// With `token`, the CA keys go into that initialised token of another PKCS#11 module (a TPM, see
// test/support/tpm.ts) instead of a new SoftHSM token.
//
// SoftHSM reads SOFTHSM2_CONF once, when the PKCS#11 module is initialised: one system per test
// process (node's runner gives each test file its own process). stop() removes the temp directory.
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadEdgeConfigFromEnv, startNodeEdge } from '../../edge/main/node.ts';
import { freePort } from '../../harness/ports.ts';
import { type DevInit, type GivenToken, initDev } from '../../signer/bootstrap.ts';
import { loadSignerConfig, startSigner } from '../../signer/server.ts';
import { fromSignerConfig, type ValidatorConfig } from '../../validator/config.ts';
import { startValidator } from '../../validator/server.ts';

export interface SystemOptions {
  eabRequired?: boolean;
  /** DNS server the edge validates through, "127.0.0.1:8053" (e.g. a ChallTestSrv's dnsAddress) */
  dnsResolver?: string;
  /** port the edge connects to for http-01 */
  http01Port?: number;
  /** further EDGECA_* settings for the edge; they win over the harness's own */
  env?: Record<string, string>;
  /** also run the on-prem validator (true: on the system resolver, http-01 on `http01Port`) */
  validator?: true | ValidatorOptions;
  /** where the signer's and the edge's log lines go (default: kept in System.logs) */
  log?: (line: Record<string, unknown>) => void;
  /** put the CA keys in this token (any PKCS#11 module) instead of a new SoftHSM token */
  token?: GivenToken;
  /** the signer serves HTTPS with the dev relay TLS certificate; the edge pins its CA */
  signerTls?: boolean;
}

export interface ValidatorOptions {
  /** the validator's own (internal) DNS server, e.g. a second ChallTestSrv's dnsAddress */
  dnsResolver?: string;
  /** TEST ONLY ports the validator dials (default: SystemOptions.http01Port; 443) */
  http01Port?: number;
  tlsAlpnPort?: number;
}

export interface System {
  dir: string;
  /** https://127.0.0.1:PORT/directory */
  directoryUrl: string;
  /** root PEM: trust anchor of the edge's HTTPS certificate and of issued chains */
  caFile: string;
  signerUrl: string;
  edgeUrl: string;
  dbUrl: string;
  /** the validator's URL and the public JWK file the edge pins, when SystemOptions.validator */
  validatorUrl?: string;
  validatorPublicKeyFile?: string;
  init: DevInit;
  /** log lines of the signer and the edge (when no SystemOptions.log was given), oldest first */
  logs: Record<string, unknown>[];
  stop(): Promise<void>;
  /** stop and start the edge on the same port and database (state must survive); `env` overrides settings from now on */
  restartEdge(env?: Record<string, string>): Promise<void>;
  /** stop and start the signer on the same port, token and database */
  restartSigner(): Promise<void>;
  /** stop the signer only (the edge keeps running and sees it unreachable) */
  stopSigner(): Promise<void>;
  /** start the signer again after stopSigner, on the same port */
  startSigner(): Promise<void>;
  /** the signer reads its store's issuers now (what SIGHUP does to `edgeca signer serve`) */
  reloadSigner(): Promise<void>;
  /** stop / start the validator (same port and jti database) */
  stopValidator(): Promise<void>;
  startValidator(): Promise<void>;
}

interface Running {
  url: string;
  close(): Promise<void>;
}

type RunningSignerHere = Running & { reload(): Promise<void> };

let started = 0;

type Log = (line: Record<string, unknown>) => void;

async function startSignerAt(init: DevInit, port: number, log: Log, tls = false): Promise<RunningSignerHere> {
  const { config, baseDir } = loadSignerConfig(init.signerConfigFile);
  config.listen = {
    ...config.listen,
    host: '127.0.0.1',
    port,
    ...(tls ? { tlsCertFile: init.signerTlsCertFile, tlsKeyFile: init.signerTlsKeyFile } : {}),
  };
  return startSigner({ config, baseDir, deps: { log } });
}

/** The validator's config as `validator serve --signer-config` builds it, with test-only ports. */
function validatorConfig(init: DevInit, dir: string, port: number, o: ValidatorOptions, sys: SystemOptions) {
  const { config, baseDir } = loadSignerConfig(init.signerConfigFile);
  const inherited = fromSignerConfig(config, baseDir);
  const http01Port = o.http01Port ?? sys.http01Port;
  const cfg: ValidatorConfig = {
    listen: { host: '127.0.0.1', port },
    edgeKeys: inherited.edgeKeys,
    ceiling: inherited.ceiling,
    validatorKeyFile: init.validatorKeyFile,
    database: `file:${join(dir, 'validator.db')}`,
    timeoutMs: 3000,
    testOnly: {
      allowLoopback: true,
      ...(http01Port !== undefined ? { http01Port } : {}),
      ...(o.tlsAlpnPort !== undefined ? { tlsAlpnPort: o.tlsAlpnPort } : {}),
    },
  };
  if (o.dnsResolver) cfg.dnsResolver = o.dnsResolver;
  return cfg;
}

/** The edge's settings as `edge serve` would read them from its environment. */
function edgeEnv(
  init: DevInit,
  edgePort: number,
  signerUrl: string,
  dbUrl: string,
  opts: SystemOptions,
): Record<string, string> {
  const env: Record<string, string> = {
    EDGECA_HOST: '127.0.0.1',
    EDGECA_PORT: String(edgePort),
    EDGECA_BASE_URL: `https://127.0.0.1:${edgePort}`,
    EDGECA_TLS_CERT_FILE: init.edgeTlsCertFile,
    EDGECA_TLS_KEY_FILE: init.edgeTlsKeyFile,
    EDGECA_DB_URL: dbUrl,
    EDGECA_SIGNER_URL: signerUrl,
    EDGECA_RELAY_KEY_FILE: init.relayKeyFile,
    EDGECA_SIGNER_KEY_FILE: init.signerAnswerPublicKeyFile,
    EDGECA_ALLOW_LOOPBACK: 'true',
    EDGECA_EAB_REQUIRED: opts.eabRequired ? 'true' : 'false',
  };
  if (opts.dnsResolver) env.EDGECA_DNS_RESOLVER = opts.dnsResolver;
  if (opts.http01Port !== undefined) env.EDGECA_HTTP01_PORT = String(opts.http01Port);
  return { ...env, ...opts.env };
}

async function startEdgeWith(env: Record<string, string>, log: Log): Promise<Running> {
  const config = loadEdgeConfigFromEnv(env);
  return startNodeEdge(config, {
    host: env.EDGECA_HOST ?? '127.0.0.1',
    port: Number(env.EDGECA_PORT),
    ...(env.EDGECA_TLS_CERT_FILE ? { tlsCertFile: env.EDGECA_TLS_CERT_FILE } : {}),
    ...(env.EDGECA_TLS_KEY_FILE ? { tlsKeyFile: env.EDGECA_TLS_KEY_FILE } : {}),
    log,
  });
}

const CLI = join(import.meta.dirname, '../../bin/edgeca.mjs');

/** A new EAB key in the system's edge database, made by the CLI as an operator makes one. */
export async function createEab(sys: Pick<System, 'dbUrl'>): Promise<{ kid: string; hmacKey: string }> {
  const { stdout } = await promisify(execFile)(process.execPath, [
    CLI,
    'eab',
    'create',
    '--json',
    '--db',
    sys.dbUrl,
  ]);
  return JSON.parse(stdout) as { kid: string; hmacKey: string };
}

export async function startSystem(opts: SystemOptions = {}): Promise<System> {
  if (started++ > 0) {
    throw new Error('startSystem: one system per test process (SoftHSM reads SOFTHSM2_CONF once)');
  }
  const dir = await mkdtemp(join(tmpdir(), 'edgeca-system-'));
  const logs: Record<string, unknown>[] = [];
  const log: Log = opts.log ?? ((line) => void (logs.length < 10_000 && logs.push(line)));
  let signer: RunningSignerHere | undefined;
  let edge: Running | undefined;
  let validator: Running | undefined;
  const cleanup = async () => {
    await edge?.close().catch(() => {});
    await validator?.close().catch(() => {});
    await signer?.close().catch(() => {});
    edge = undefined;
    validator = undefined;
    signer = undefined;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const signerPort = await freePort();
    const init = await initDev({ dir, signerPort, ...(opts.token ? { token: opts.token } : {}) });
    if (init.softhsmConf) process.env.SOFTHSM2_CONF = init.softhsmConf;
    const tls = opts.signerTls === true;
    signer = await startSignerAt(init, signerPort, log, tls);
    const signerUrl = signer.url.replace(/\/+$/, '');
    let vConfig: ValidatorConfig | undefined;
    let validatorPublicKeyFile: string | undefined;
    let validatorUrl: string | undefined;
    if (opts.validator) {
      vConfig = validatorConfig(
        init,
        dir,
        await freePort(),
        opts.validator === true ? {} : opts.validator,
        opts,
      );
      validator = await startValidator({ config: vConfig, log });
      validatorUrl = validator.url;
      // The edge pins the public part only.
      const { d: _d, ...pub } = JSON.parse(readFileSync(init.validatorKeyFile, 'utf8')) as Record<
        string,
        unknown
      >;
      validatorPublicKeyFile = join(dir, 'validator-public.json');
      writeFileSync(validatorPublicKeyFile, JSON.stringify(pub));
    }
    const edgePort = await freePort();
    const dbUrl = `file:${join(dir, 'edge.db')}`;
    const env = edgeEnv(init, edgePort, signerUrl, dbUrl, {
      ...opts,
      env: {
        ...(validatorUrl && validatorPublicKeyFile
          ? { EDGECA_VALIDATOR_URL: validatorUrl, EDGECA_VALIDATOR_KEY_FILE: validatorPublicKeyFile }
          : {}),
        ...(tls ? { EDGECA_SIGNER_CA_FILE: init.signerTlsCaFile } : {}),
        ...opts.env,
      },
    });
    edge = await startEdgeWith(env, log);
    const edgeUrl = env.EDGECA_BASE_URL!;
    return {
      dir,
      directoryUrl: `${edgeUrl}/directory`,
      caFile: init.rootCertFile,
      signerUrl,
      edgeUrl,
      dbUrl,
      init,
      logs,
      ...(validatorUrl ? { validatorUrl } : {}),
      ...(validatorPublicKeyFile ? { validatorPublicKeyFile } : {}),
      stop: cleanup,
      async restartEdge(over?: Record<string, string>) {
        if (over) Object.assign(env, over);
        await edge?.close();
        edge = await startEdgeWith(env, log);
      },
      async restartSigner() {
        await signer?.close();
        signer = await startSignerAt(init, signerPort, log, tls);
      },
      async stopSigner() {
        await signer?.close();
        signer = undefined;
      },
      async startSigner() {
        signer ??= await startSignerAt(init, signerPort, log, tls);
      },
      async reloadSigner() {
        if (!signer) throw new Error('the signer is stopped');
        await signer.reload();
      },
      async stopValidator() {
        await validator?.close();
        validator = undefined;
      },
      async startValidator() {
        if (!vConfig) throw new Error('startSystem was not asked for a validator');
        validator ??= await startValidator({ config: vConfig, log });
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
