// The validator's configuration (JSON file): where it listens, which edge relay keys it pins, its
// answer signing key, the names and addresses it may validate (the signer's ceiling), its jti
// database and the internal DNS server it resolves through. A config may name the signer's config
// (`signerConfig`) to take the pinned edge keys, the ceiling and validatorKeyFile from it, so the
// two on-prem services cannot drift apart (onprem/config.ts: what the two share). Paths are
// relative to the config file's directory.
import { dirname, resolve } from 'node:path';
import {
  configPath,
  databaseUrl,
  type EdgeKey,
  type ListenConfig,
  type NameScope,
  readConfigJson,
  type SharedOnpremConfig,
} from '../onprem/config.ts';

export interface ValidatorConfig {
  listen: ListenConfig;
  edgeKeys: EdgeKey[];
  /** the validator's answer signing key (private JWK with kid); the edge pins its public part */
  validatorKeyFile: string;
  /** the part of the signer's ceiling that bounds validation: which identifiers exist at all */
  ceiling: NameScope;
  /** libSQL URL of the jti record (replay protection survives restarts), e.g. file:validator.db */
  database: string;
  /** the internal DNS server, "host", "host:port" or "[v6]:port"; unset = the system resolver */
  dnsResolver?: string;
  /** budget of one validation, DNS and redirects included (default 5000, at most 20000) */
  timeoutMs?: number;
  /** validations running at once; more are answered 503 (default 16) */
  maxConcurrent?: number;
  /**
   * TEST ONLY. Production validates on ports 80 (http-01) and 443 (tls-alpn-01) and never dials
   * loopback addresses (RFC 8555 §8.3, RFC 8737 §3). Tests run responders on free high ports on
   * 127.0.0.1 and set these; `validator serve` prints a warning when any is set.
   */
  testOnly?: { http01Port?: number; tlsAlpnPort?: number; allowLoopback?: boolean };
}

/** The file as written: either complete, or `signerConfig` plus what the validator adds. */
export type ValidatorConfigFile = Partial<ValidatorConfig> & { signerConfig?: string };

export const DEFAULT_VALIDATOR_PORT = 14200;
export const MAX_TIMEOUT_MS = 20_000;

/**
 * The settings the validator takes from the signer's config: pinned edge keys, the ceiling's names
 * and ranges, and the validator key. Paths come back absolute (resolved against the signer's dir).
 */
export function fromSignerConfig(
  signer: SharedOnpremConfig,
  signerDir: string,
): Pick<ValidatorConfig, 'edgeKeys' | 'ceiling'> & { validatorKeyFile?: string } {
  return {
    edgeKeys: signer.edgeKeys,
    ceiling: {
      dnsSuffixes: signer.ceiling.dnsSuffixes,
      ipRanges: signer.ceiling.ipRanges,
      allowWildcards: signer.ceiling.allowWildcards,
    },
    ...(signer.validatorKeyFile ? { validatorKeyFile: configPath(signerDir, signer.validatorKeyFile) } : {}),
  };
}

/** Fills in a config file's gaps from the signer config it names; throws naming what is missing. */
export function resolveValidatorConfig(file: ValidatorConfigFile, baseDir: string): ValidatorConfig {
  let inherited: Partial<ValidatorConfig> = {};
  if (file.signerConfig) {
    const signerFile = configPath(baseDir, file.signerConfig);
    inherited = fromSignerConfig(
      readConfigJson<SharedOnpremConfig>(signerFile, 'signer config'),
      dirname(signerFile),
    );
  }
  const merged = { ...inherited, ...stripUndefined(file) };
  const cfg: ValidatorConfig = {
    listen: merged.listen ?? { host: '127.0.0.1', port: DEFAULT_VALIDATOR_PORT },
    edgeKeys: merged.edgeKeys ?? [],
    validatorKeyFile: merged.validatorKeyFile ? configPath(baseDir, merged.validatorKeyFile) : '',
    ceiling: merged.ceiling ?? { dnsSuffixes: [], ipRanges: [], allowWildcards: false },
    database: databaseUrl(baseDir, merged.database ?? 'file:validator.db'),
  };
  for (const k of ['dnsResolver', 'timeoutMs', 'maxConcurrent', 'testOnly'] as const) {
    if (merged[k] !== undefined) Object.assign(cfg, { [k]: merged[k] });
  }
  if (cfg.listen.tlsCertFile) cfg.listen.tlsCertFile = configPath(baseDir, cfg.listen.tlsCertFile);
  if (cfg.listen.tlsKeyFile) cfg.listen.tlsKeyFile = configPath(baseDir, cfg.listen.tlsKeyFile);
  if (cfg.edgeKeys.length === 0) throw new Error('the validator config pins no edge key (edgeKeys is empty)');
  if (!cfg.validatorKeyFile) throw new Error('the validator config names no validatorKeyFile');
  if (cfg.timeoutMs !== undefined && !(cfg.timeoutMs > 0 && cfg.timeoutMs <= MAX_TIMEOUT_MS)) {
    throw new Error(`timeoutMs must lie in 1..${MAX_TIMEOUT_MS}`);
  }
  return cfg;
}

export function loadValidatorConfig(configFile: string): ValidatorConfig {
  return resolveValidatorConfig(
    readConfigJson<ValidatorConfigFile>(configFile, 'validator config'),
    dirname(resolve(configFile)),
  );
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
