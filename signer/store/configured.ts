// The signer's store as its config names it: `database` (a `file:` path relative to the config
// file, or a postgres:// URL) and the PostgreSQL password, which comes from the environment
// (EDGECA_SIGNER_DATABASE_PASSWORD), from the file named by `databasePasswordFile` (mode 0600) or
// from the systemd credential named by `databasePasswordCredential`, never from signer.json itself
// or a command line.
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { databaseUrl } from '../../onprem/config.ts';
import type { SignerConfig } from '../config.ts';
import { readCredential } from '../credentials.ts';
import { readSignerSetting, type SignerSettingName } from '../settings.ts';
import { isPostgresUrl, parsePostgresUrl } from './postgres-url.ts';
import { type OpenOptions, SignerStore } from './store.ts';

export const PASSWORD_ENV = 'EDGECA_SIGNER_DATABASE_PASSWORD' satisfies SignerSettingName;

/**
 * The PostgreSQL password: the file named by databasePasswordFile, or EDGECA_SIGNER_DATABASE_PASSWORD,
 * not both (which one would win is a guess nobody should have to make); undefined when neither is
 * set (trust or certificate authentication, or libpq's own PGPASSWORD).
 */
export function databasePassword(
  config: Pick<SignerConfig, 'databasePasswordFile' | 'databasePasswordCredential'>,
  baseDir: string,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const fromEnv = readSignerSetting(env, PASSWORD_ENV);
  const file = config.databasePasswordFile;
  const credential = config.databasePasswordCredential;
  if (credential !== undefined) {
    if (file !== undefined || fromEnv) {
      throw new Error(
        `databasePasswordCredential and ${file !== undefined ? 'databasePasswordFile' : PASSWORD_ENV} are both set: keep one of them for the store password`,
      );
    }
    return readCredential(credential, 'databasePasswordCredential', env);
  }
  if (file === undefined) return fromEnv || undefined;
  if (fromEnv) {
    throw new Error(
      `both ${PASSWORD_ENV} and databasePasswordFile are set: keep one of them for the store password`,
    );
  }
  const path = isAbsolute(file) ? file : resolve(baseDir, file);
  let text: string;
  try {
    // Like ssh with its keys: a password file others may read is refused, not used.
    if ((statSync(path).mode & 0o077) !== 0) {
      throw new Error(`${path} (databasePasswordFile) may be read by others: chmod 600 ${path}`);
    }
    text = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(
      code
        ? `cannot read the store password file ${path} (databasePasswordFile): ${code}`
        : (e as Error).message,
    );
  }
  if (!text) throw new Error(`the store password file ${path} (databasePasswordFile) is empty`);
  return text;
}

/** Checks `database` without connecting: a clear error for a URL that cannot work. */
export function checkDatabaseSetting(url: unknown): string {
  if (typeof url !== 'string' || url === '') {
    throw new Error('the signer config needs `database`: file:signer.db, or postgres://user@host:5432/db');
  }
  if (isPostgresUrl(url)) parsePostgresUrl(url);
  else if (!/^(file|libsql|https?|wss?):/i.test(url)) {
    throw new Error(`database "${url}" is neither a file: / libSQL URL nor a postgres:// URL`);
  }
  return url;
}

export function openConfiguredStore(
  config: Pick<SignerConfig, 'database' | 'databasePasswordFile' | 'databasePasswordCredential'>,
  baseDir: string,
  o: Omit<OpenOptions, 'password'> = {},
): Promise<SignerStore> {
  const url = databaseUrl(baseDir, checkDatabaseSetting(config.database));
  const password = isPostgresUrl(url) ? databasePassword(config, baseDir) : undefined;
  return SignerStore.open(url, { ...o, ...(password !== undefined ? { password } : {}) });
}
