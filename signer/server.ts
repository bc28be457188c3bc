// Starts the signer: reads its config, opens its store (a libSQL file, or PostgreSQL shared with
// other signers; an unreachable store stops the start with one line saying so, before the HSM is
// touched), the HSM token (PIN from a systemd credential, a file or an environment variable, never
// argv, never logged), its issuers (recorded in the store; read again on reload() — SIGHUP — and
// every issuers.refreshSeconds, so a CA key rotation is followed without a restart), the CRL and
// audit checkpoint timers, and serves the relay API over HTTP, or HTTPS when
// listen.tlsCertFile/tlsKeyFile are set.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { configPath, readConfigJson } from '../onprem/config.ts';
import { listen } from '../onprem/http.ts';
import { type LineLog, lineLog } from '../onprem/line-log.ts';
import { derToPem, pemToDers } from '../shared/encoding.ts';
import { exportStatementCounts } from '../shared/metrics.ts';
import { importRelayPrivateKey, importRelayPublicKey, type RelayKey } from '../shared/relay.ts';
import { StatementCounts } from '../shared/sql-statements.ts';
import type { CaSigner } from './ca-signer.ts';
import { checkCeilingKeyTypes } from './ceiling.ts';
import type { SignerConfig } from './config.ts';
import { createSignerMetrics, instrumentCaSigner, withSignerObservability } from './metrics.ts';
import { signerApp } from './service/app.ts';
import { CheckpointWriter } from './service/checkpoints.ts';
import {
  DEFAULT_ISSUER_REFRESH_S,
  type IssuerKeys,
  IssuerRegistry,
  type LoadedIssuer,
} from './service/issuers.ts';
import { StorePurger } from './service/retention.ts';
import { SignerService } from './service/service.ts';
import { certToolsFor, issuerId, openHsm } from './service/tools.ts';
import type { CertTools } from './service/types.ts';
import { readSignerSetting } from './settings.ts';
import { openConfiguredStore } from './store/configured.ts';
import { issuerFacts, sameKey } from './x509/common.ts';

export type StartSignerOptions = ({ configFile: string } | { config: SignerConfig; baseDir: string }) & {
  /** tests: a software CaSigner / certificate tools instead of the HSM and signer/x509 */
  deps?: { signer?: CaSigner; tools?: CertTools; log?: (line: Record<string, unknown>) => void };
};

export interface RunningSigner {
  url: string;
  service: SignerService;
  issuers: IssuerRegistry;
  /** reads the store's issuers again now (what SIGHUP does): follows a rotation at once */
  reload(): Promise<void>;
  close(): Promise<void>;
}

export function loadSignerConfig(configFile: string): { config: SignerConfig; baseDir: string } {
  return {
    config: readConfigJson<SignerConfig>(configFile, 'signer config'),
    baseDir: dirname(resolve(configFile)),
  };
}

/** The answer signing key named by `answerKeyFile` (a private JWK with kid). */
export async function loadAnswerKey(config: SignerConfig, baseDir: string): Promise<RelayKey> {
  if (!config.answerKeyFile) {
    throw new Error(
      'answerKeyFile is not set: the signer signs its relay answers with it. Make one with ' +
        '`edgeca signer answer-key --out FILE` and pin the public key it prints at the edge (EDGECA_SIGNER_KEY)',
    );
  }
  const file = configPath(baseDir, config.answerKeyFile);
  let jwk: Record<string, unknown>;
  try {
    jwk = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read the answer key (answerKeyFile) ${file}: ${(e as Error).message}`);
  }
  try {
    return await importRelayPrivateKey(jwk);
  } catch (e) {
    throw new Error(`the answer key (answerKeyFile) ${file}: ${(e as Error).message}`);
  }
}

function readPem(file: string, what: string): Uint8Array[] {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read the ${what} ${file}: ${(e as Error).message}`);
  }
  const ders = pemToDers(pem);
  if (ders.length === 0) throw new Error(`the ${what} ${file} holds no PEM CERTIFICATE`);
  return ders;
}

export async function startSigner(opts: StartSignerOptions): Promise<RunningSigner> {
  const { config, baseDir } = 'configFile' in opts ? loadSignerConfig(opts.configFile) : opts;
  const stdoutLog = opts.deps?.log ? undefined : lineLog();
  const log = opts.deps?.log ?? (stdoutLog as LineLog);
  const issuerFile = configPath(baseDir, config.ca.issuerCertFile);
  const [issuerDer] = readPem(issuerFile, 'issuer certificate (ca.issuerCertFile)');
  if (!issuerDer) throw new Error('unreachable: no issuer certificate');
  const above = config.ca.chainFile
    ? readPem(configPath(baseDir, config.ca.chainFile), 'chain file (ca.chainFile)')
    : [];
  const abovePem = above.map((d) => derToPem(d)).join('');

  checkCeilingKeyTypes(config.ceiling);
  const edgeKeys = new Map<string, RelayKey>();
  for (const jwk of config.edgeKeys ?? []) {
    try {
      edgeKeys.set(jwk.kid, await importRelayPublicKey(jwk));
    } catch (e) {
      throw new Error(`edgeKeys entry "${jwk.kid ?? '?'}": ${(e as Error).message}`);
    }
  }
  if (edgeKeys.size === 0) throw new Error('the signer config pins no edge key (edgeKeys is empty)');
  const answerKey = await loadAnswerKey(config, baseDir);

  const firstIssuer = issuerId(issuerDer);
  // EDGECA_SQL_STATEMENT_METRICS=true: every store statement counted by kind (off: not wrapped at all).
  const statements = readSignerSetting(process.env, 'EDGECA_SQL_STATEMENT_METRICS')
    ? new StatementCounts()
    : undefined;
  const store = await openConfiguredStore(config, baseDir, {
    issuer: firstIssuer,
    log,
    ...(statements ? { statements } : {}),
  });
  const cleanups: (() => Promise<void> | void)[] = [() => store.close()];
  try {
    const hsm = opts.deps?.signer ? undefined : await openHsm(config, baseDir);
    if (hsm) cleanups.unshift(() => hsm.close());
    // HSM signatures timed and their failures counted; /metrics, /health, /ready in front.
    const metrics = createSignerMetrics();
    if (statements) exportStatementCounts(metrics.registry, 'edgeca_signer_sql_statements_total', statements);
    const keys: IssuerKeys = {
      async signerFor(label, keyType) {
        const injected = opts.deps?.signer && label === config.pkcs11.keyLabel ? opts.deps.signer : undefined;
        const found = injected ?? (await hsm?.signerFor(label, keyType));
        if (!found) throw new Error(`no HSM in this process holds the key "${label}"`);
        return instrumentCaSigner(found, metrics);
      },
      toolsFor: async (issuer) =>
        issuer.id === firstIssuer && opts.deps?.tools
          ? opts.deps.tools
          : certToolsFor({ ...issuer, caIssuersUrl: config.urls.caIssuers }),
    };
    const roots = config.ca.rootCertFile
      ? readPem(configPath(baseDir, config.ca.rootCertFile), 'root certificate (ca.rootCertFile)')
      : [];
    // signer.json's key is checked at start even when the store knows its issuer (whose label the
    // signer would otherwise use): a wrong label, key type or key stops the start with the token's
    // own words. Not once the store has retired that issuer: its key is no longer needed.
    if (hsm && (await store.issuers.get(firstIssuer))?.state !== 'retired') {
      const key = await hsm.signerFor(config.pkcs11.keyLabel, config.ca.keyType);
      if (!sameKey(key.spki, issuerFacts(issuerDer).spki)) {
        throw new Error(
          `the token key "${config.pkcs11.keyLabel}" (pkcs11.keyLabel) is not the key of the issuer certificate ${issuerFile} (ca.issuerCertFile)`,
        );
      }
    }
    const issuers = new IssuerRegistry({ store, keys, config, log, roots });
    await issuers.adopt({ certDer: issuerDer, chainPem: abovePem });
    await issuers.refresh();
    cleanups.unshift(() => issuers.stop());
    if (!issuers.newestActive()) {
      const first = issuers.list().find((r) => r.id === firstIssuer);
      throw new Error(
        first?.unusableReason ??
          'no active issuer in the store is usable by this signer: see `edgeca signer issuers --config`',
      );
    }
    const service = new SignerService({ config, store, issuers, edgeKeys, log });
    await service.crl.start();
    cleanups.unshift(() => service.crl.stop());
    const checkpoints = new CheckpointWriter({
      store,
      signingIssuer: () => issuers.newestActive(),
      config,
      log,
    });
    await checkpoints.maybeWrite('start', true);
    checkpoints.start();
    cleanups.unshift(() => checkpoints.stop());
    const purger = new StorePurger({ store, config, log, metrics });
    purger.start();
    cleanups.unshift(() => purger.stop());

    /** After the store's issuers changed: CRLs for the new ones, and a checkpoint for the rotation. */
    const followed = async (added: LoadedIssuer[]) => {
      await service.crl.reissueAll('issuer-added', added);
      await checkpoints.maybeWrite('rotation', true);
    };
    issuers.startTimer(config.issuers?.refreshSeconds ?? DEFAULT_ISSUER_REFRESH_S, followed);

    let hsmState = true;
    const hsmOk = hsm
      ? () => hsm.ping(issuers.newestActive()?.keyLabel ?? config.pkcs11.keyLabel)
      : async () => hsmState;
    if (!hsm)
      service.onHsmState = (ok) => {
        hsmState = ok;
      };
    const app = withSignerObservability(signerApp({ service, issuers, answerKey, hsmOk, log }), {
      metrics,
      hsmOk,
      db: { run: () => store.ping() },
    });
    const server = await listen(app.fetch, {
      host: config.listen.host,
      port: config.listen.port,
      tlsCertFile: config.listen.tlsCertFile && configPath(baseDir, config.listen.tlsCertFile),
      tlsKeyFile: config.listen.tlsKeyFile && configPath(baseDir, config.listen.tlsKeyFile),
    });
    const url = server.url;
    log({
      event: 'listening',
      url,
      issuer: issuers.newestActive()?.subject,
      issuers: issuers.held().map((i) => ({ id: i.id, state: i.state })),
      edgeKeys: [...edgeKeys.keys()],
      store: store.engineName,
      answerKey: answerKey.kid,
    });
    let closing: Promise<void> | undefined;
    return {
      url,
      service,
      issuers,
      async reload() {
        const added = await issuers.refresh();
        log({ event: 'issuers-reloaded', loaded: added.map((i) => i.id) });
        if (added.length > 0) await followed(added);
      },
      close: () => {
        closing ??= (async () => {
          await server.close();
          for (const c of cleanups) await c();
          stdoutLog?.close();
        })();
        return closing;
      },
    };
  } catch (e) {
    for (const c of cleanups) await Promise.resolve(c()).catch(() => {});
    throw e;
  }
}
