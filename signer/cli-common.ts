// What the `edgeca signer` subcommand modules share: the command shape, usage errors, and opening
// the token and the store a signer config names (the PIN from pinFile/pinEnv, never argv).
import { readFileSync } from 'node:fs';
import { UsageError } from '../cli/args.ts';
import { configPath } from '../onprem/config.ts';
import { pemToDers } from '../shared/encoding.ts';
import { CA_KEY_TYPES, type CaKeyType, isCaKeyType } from '../shared/key-types.ts';
import type { HsmToken } from './hsm/token.ts';
import { loadSignerConfig } from './server.ts';
import { issuerId, readPin } from './service/tools.ts';
import { openConfiguredStore } from './store/configured.ts';
import type { SignerStore } from './store/store.ts';

export type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;
export type Opts = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;
export interface Command {
  summary: string;
  usage: string;
  options: Opts;
  run(v: Values): Promise<number>;
}

/** What --key-type takes: the CA key types (shared/key-types.ts), as usage text. */
export const KEY_TYPE_CHOICES = CA_KEY_TYPES.join('|');
export const help = { type: 'boolean', short: 'h' } as const;
export const configOpt = { type: 'string', short: 'c' } as const;

export { UsageError };

export const out = (s: string) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);

export function need(v: Values, name: string): string {
  const x = v[name];
  if (typeof x !== 'string' || x === '') throw new UsageError(`--${name} is required`);
  return x;
}

export function keyType(v: Values): CaKeyType | undefined {
  const k = v['key-type'];
  if (k === undefined) return undefined;
  if (!isCaKeyType(k)) throw new UsageError(`--key-type must be one of ${CA_KEY_TYPES.join(', ')}`);
  return k;
}

/** Opens the token named by the config (PIN from pinFile/pinEnv); the caller closes it. */
export async function openConfiguredToken(configFile: string) {
  const { config, baseDir } = loadSignerConfig(configFile);
  const { openToken, tokenOptionsFromConfig } = await import('./hsm/token.ts');
  const options = tokenOptionsFromConfig(config.pkcs11, baseDir, readPin(config, baseDir));
  const token: HsmToken = await openToken({ ...options, sessions: 1 });
  return { token, config, baseDir };
}

/**
 * The store the config names, and the id of its first issuer (ca.issuerCertFile): needed only when
 * an old store must first be migrated (the store then says so), or as a default.
 */
export async function openStore(configFile: string): Promise<{
  store: SignerStore;
  issuer: () => string;
  config: ReturnType<typeof loadSignerConfig>['config'];
  baseDir: string;
}> {
  const { config, baseDir } = loadSignerConfig(configFile);
  const issuerFile = configPath(baseDir, config.ca.issuerCertFile);
  let id: string | undefined;
  let problem = '';
  try {
    const [der] = pemToDers(readFileSync(issuerFile, 'utf8'));
    if (der) id = issuerId(der);
    else problem = 'it holds no PEM CERTIFICATE';
  } catch (e) {
    problem = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  }
  const store = await openConfiguredStore(config, baseDir, id ? { issuer: id } : {});
  return {
    store,
    config,
    baseDir,
    issuer: () => {
      if (id) return id;
      throw new Error(`cannot read the issuer certificate ${issuerFile} (ca.issuerCertFile): ${problem}`);
    },
  };
}
