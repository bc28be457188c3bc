// What the on-prem services' config files share. The signer's config (signer/config.ts) holds all of
// it; a validator config may name the signer's (`signerConfig`) and take it from there
// (validator/config.ts), so the two services cannot drift apart. Paths in a config file are relative
// to the file's directory.
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { JWK } from 'jose';

/** Where a service listens (HTTPS when both TLS files are set). */
export interface ListenConfig {
  host: string;
  port: number;
  tlsCertFile?: string;
  tlsKeyFile?: string;
}

/** An edge relay public key, pinned by kid. */
export type EdgeKey = JWK & { kid: string };

/** The names and addresses any certificate may contain, so the only ones worth validating. */
export interface NameScope {
  /** DNS names must equal or lie under one of these suffixes; "." allows every name. */
  dnsSuffixes: string[];
  /** IP identifiers must lie in one of these CIDRs; [] allows no IP identifier. */
  ipRanges: string[];
  /** wildcard DNS names allowed at all */
  allowWildcards: boolean;
}

/** The part of signer.json the validator reads too. */
export interface SharedOnpremConfig {
  listen: ListenConfig;
  /** edge relay public keys pinned by kid */
  edgeKeys: EdgeKey[];
  /** validator answer signing key (private JWK), when this process also validates */
  validatorKeyFile?: string;
  ceiling: NameScope;
}

/** Resolves a path from the config relative to the config file's directory. */
export const configPath = (baseDir: string, p: string): string => (isAbsolute(p) ? p : resolve(baseDir, p));

/** A `file:` URL with a relative path is relative to the config file's directory. */
export function databaseUrl(baseDir: string, url: string): string {
  if (!url.startsWith('file:') || url.startsWith('file:/')) return url;
  return `file:${configPath(baseDir, url.slice('file:'.length))}`;
}

/** A config file's JSON; throws naming the file as `what` when it cannot be read or parsed. */
export function readConfigJson<T>(file: string, what: string): T {
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
