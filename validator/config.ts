// The validator's configuration (JSON file): where it listens, which edge relay keys it pins, its
// answer signing key, the names and addresses it may validate (the signer's ceiling), its jti
// database and the internal DNS server it resolves through. A config may name the signer's config
// (`signerConfig`) to take the pinned edge keys, the ceiling and validatorKeyFile from it, so the
// two on-prem services cannot drift apart. Paths are relative to the config file's directory.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { JWK } from 'jose';
import type { SignerConfig } from '../signer/config.ts';

/** The part of the signer's ceiling that bounds validation: which identifiers exist at all. */
export interface ValidatorScope {
  dnsSuffixes: string[];
  ipRanges: string[];
  allowWildcards: boolean;
}

export interface ValidatorConfig {
  listen: { host: string; port: number; tlsCertFile?: string; tlsKeyFile?: string };
  edgeKeys: (JWK & { kid: string })[];
  /** the validator's answer signing key (private JWK with kid); the edge pins its public part */
  validatorKeyFile: string;
  ceiling: ValidatorScope;
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

export const configPath = (baseDir: string, p: string): string => (isAbsolute(p) ? p : resolve(baseDir, p));

/** A `file:` URL with a relative path is relative to the config file. */
export function databaseUrl(baseDir: string, url: string): string {
  if (!url.startsWith('file:') || url.startsWith('file:/')) return url;
  return `file:${configPath(baseDir, url.slice('file:'.length))}`;
}

function readJson<T>(file: string, what: string): T {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read the ${what} ${file}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new Error(`the ${what} ${file} is not valid JSON: ${(e as Error).message}`);
  }
}

/**
 * The settings the validator takes from the signer's config: pinned edge keys, the ceiling's names
 * and ranges, and the validator key. Paths come back absolute (resolved against the signer's dir).
 */
export function fromSignerConfig(
  signer: SignerConfig,
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
    inherited = fromSignerConfig(readJson<SignerConfig>(signerFile, 'signer config'), dirname(signerFile));
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
    readJson<ValidatorConfigFile>(configFile, 'validator config'),
    dirname(resolve(configFile)),
  );
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
