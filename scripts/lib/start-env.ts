// What `npm start` reads from its environment besides what it hands the edge: ports, how many
// signers, the signers' store and its password, each a row of start-settings.ts read through it
// (and the edge's own variables it looks at through edge/settings.ts). A bad value stops the start with one line saying
// what to fix (`fail`), before anything is installed or started.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { type EdgeSettingName, readSetting } from '../../edge/settings.ts';
import { readStartSetting, type StartSettingName } from './start-settings.ts';

const env = process.env;

/** Stops the start: one line on stderr, exit 1. */
export function fail(message: string): never {
  process.stderr.write(`[edgeca] ${message}\n`);
  process.exit(1);
}

/** One of npm start's own variables (start-settings.ts, its table); a bad value stops the start. */
export function startSetting<N extends StartSettingName>(name: N) {
  try {
    return readStartSetting(env, name);
  } catch (e) {
    fail((e as Error).message);
  }
}

/** One of the edge's variables (edge/settings.ts) that npm start looks at too. */
export function edgeSetting<N extends EdgeSettingName>(name: N) {
  try {
    return readSetting(env, name);
  } catch (e) {
    fail((e as Error).message);
  }
}

/** EDGECA_SIGNERS: how many signer processes share the store and the token (default 1). */
export const signerCount = (): number => startSetting('EDGECA_SIGNERS');

/**
 * The file the store password is read from, when EDGECA_SIGNER_DATABASE_PASSWORD_FILE names one:
 * its path goes into the signers' configs (databasePasswordFile), the password itself never does.
 */
export function signerPasswordFile(): string | undefined {
  const file = startSetting('EDGECA_SIGNER_DATABASE_PASSWORD_FILE');
  if (file === undefined) return undefined;
  if (startSetting('EDGECA_SIGNER_DATABASE_PASSWORD')) {
    fail(
      'both EDGECA_SIGNER_DATABASE_PASSWORD and EDGECA_SIGNER_DATABASE_PASSWORD_FILE are set: keep one of them',
    );
  }
  if (!existsSync(file)) fail(`EDGECA_SIGNER_DATABASE_PASSWORD_FILE=${file}: no such file`);
  return resolve(file);
}

/** The signer's store from EDGECA_SIGNER_DATABASE_URL, checked before it is written to a file. */
export function signerDatabase(): string | undefined {
  const url = startSetting('EDGECA_SIGNER_DATABASE_URL');
  if (url === undefined) return undefined;
  if (/^postgres(ql)?:\/\/[^@/?#]*:[^@/?#]*@/i.test(url) || /[?&]password=/i.test(url)) {
    fail(
      'EDGECA_SIGNER_DATABASE_URL contains a password: remove it from the URL and export ' +
        'EDGECA_SIGNER_DATABASE_PASSWORD instead',
    );
  }
  return url;
}

/** True for a postgres:// URL whose every host is this machine: the server is then ours to install. */
export function isLocalPostgres(url: string | undefined): boolean {
  const m = /^postgres(?:ql)?:\/\/(?:[^@/?#]*@)?([^/?#]*)/i.exec(url ?? '');
  if (!m) return false;
  return (m[1] ?? '').split(',').every((h) => /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/i.test(h));
}
