// The development CA in .edgeca/dev: `edgeca signer init --dev` makes it (idempotent: it reuses
// the token, keys and certificates it finds) and prints where the token and the CA are; the files
// the services need are checked before any of them starts.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from './ensure.ts';
import { fail } from './start-env.ts';

export const DEV_DIR = join(ROOT, '.edgeca', 'dev');
/** The edgeca command every service runs (the compiled dist/, as an installed package does). */
export const CLI = join(ROOT, 'bin', 'edgeca.mjs');

/** What `edgeca signer init --dev` prints: where the token and the CA it made are. */
export interface DevCa {
  softhsmConf?: string;
  pkcs11Module: string;
  tokenLabel: string;
  pinFile: string;
  rootCertFile?: string;
}

/** A JSON file of the start; one that cannot be read stops it. */
export function readJson<T>(file: string): T {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (err) {
    fail(`cannot read ${relative(ROOT, file)}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * Runs the signer's dev bootstrap (idempotent: reuses the token, keys and certificates it finds)
 * and returns the paths it prints (softhsmConf, pkcs11Module, tokenLabel, pinFile, rootCertFile...).
 */
export function initSigner(): DevCa {
  process.stderr.write(
    '[edgeca] preparing the development CA in .edgeca/dev (SoftHSM token, root, intermediate)\n',
  );
  const r = spawnSync(process.execPath, [CLI, 'signer', 'init', '--dev', '--dir', DEV_DIR], {
    cwd: ROOT,
    env: process.env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) fail(`signer init failed (exit ${r.status ?? r.signal})`);
  try {
    return JSON.parse(r.stdout) as DevCa;
  } catch {
    fail(`signer init printed no JSON: ${r.stdout.slice(0, 200)}`);
  }
}

/** What the services are started with: signer init makes each. */
const DEV_FILES = [
  'root.pem',
  'edge-tls-cert.pem',
  'edge-tls-key.pem',
  'relay-key.json',
  'signer.json',
  'signer-answer-public.json',
  'signer-tls-ca.pem',
  'signer-tls-cert.pem',
  'signer-tls-key.pem',
];

/** Stops the start when signer init left one of DEV_FILES out. */
export function checkDevFiles(): void {
  for (const f of DEV_FILES) {
    if (!existsSync(join(DEV_DIR, f))) fail(`signer init did not create .edgeca/dev/${f}`);
  }
}
