// What `npm start` reads from its environment besides what it hands the edge: ports, how many
// signers, the signers' store and its password. A bad value stops the start with one line saying
// what to fix (`fail`), before anything is installed or started.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

const env = process.env;

/** Stops the start: one line on stderr, exit 1. */
export function fail(message: string): never {
  process.stderr.write(`[edgeca] ${message}\n`);
  process.exit(1);
}

/** A TCP port from `name`, or `fallback` when it is not set. */
export function portFrom(name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`${name}=${raw} is not a TCP port`);
  return port;
}

/** Variables for the signers alone: the store's URL and password stay out of the other services. */
export const SIGNER_ONLY_ENV = [
  'EDGECA_SIGNER_DATABASE_URL',
  'EDGECA_SIGNER_DATABASE_PASSWORD',
  'EDGECA_SIGNER_DATABASE_PASSWORD_FILE',
];
/** Read by this script only. */
export const START_ONLY_ENV = ['EDGECA_SIGNERS'];
const MAX_SIGNERS = 16;

/** EDGECA_SIGNERS: how many signer processes share the store and the token (default 1). */
export function signerCount(): number {
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
export function signerPasswordFile(): string | undefined {
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
export function signerDatabase(): string | undefined {
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
export function isLocalPostgres(url: string | undefined): boolean {
  const m = /^postgres(?:ql)?:\/\/(?:[^@/?#]*@)?([^/?#]*)/i.exec(url ?? '');
  if (!m) return false;
  return (m[1] ?? '').split(',').every((h) => /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/i.test(h));
}
