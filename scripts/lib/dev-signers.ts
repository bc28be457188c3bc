// The signers one `npm start` runs (EDGECA_SIGNERS, default 1): the config each serves, written
// beside signer.json when the environment asks for another port, store, password file or HTTPS.
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DEV_DIR, readJson } from './dev-ca.ts';
import { fail, signerDatabase, signerPasswordFile, startSetting } from './start-env.ts';
import { writeWhole } from './write-whole.ts';

/** The parts of signer.json this script reads or changes; the rest is copied as it is. */
export interface SignerConfig {
  listen?: { port?: number; tlsCertFile?: string; tlsKeyFile?: string };
  database?: unknown;
  databasePasswordFile?: string;
  [other: string]: unknown;
}

/** One signer this start runs: its service name, the config it serves and its port. */
export interface SignerRun {
  name: string;
  file: string;
  config: SignerConfig;
  port: number;
}

/**
 * The config each of `count` signers serves. Signer 1: signer.json itself, or, when
 * EDGECA_SIGNER_PORT asks for another port, EDGECA_SIGNER_DATABASE_URL for another store,
 * EDGECA_SIGNER_DATABASE_PASSWORD_FILE for its password or `tls` for HTTPS with the development
 * relay TLS certificate (signer init --dev makes it; the edge pins its own CA, signer-tls-ca.pem),
 * a copy beside it, signer.start.json (same directory, so its relative paths still resolve), with
 * those. Signer i > 1: signer-i.start.json, the same on the next port up. All share the store (the
 * default libSQL file in WAL mode, or the PostgreSQL URL) and the token.
 */
export function signerConfigs({ tls, count }: { tls: boolean; count: number }): SignerRun[] {
  const file = join(DEV_DIR, 'signer.json');
  const config = readJson<SignerConfig>(file);
  const base = startSetting('EDGECA_SIGNER_PORT') ?? config.listen?.port ?? 14100;
  if (base + count - 1 > 65535) fail(`EDGECA_SIGNERS=${count} signers do not fit above port ${base}`);
  const database = signerDatabase() ?? config.database;
  const passwordFile = signerPasswordFile();
  const tlsFiles = tls ? { tlsCertFile: 'signer-tls-cert.pem', tlsKeyFile: 'signer-tls-key.pem' } : {};
  // Copies for more signers than this start runs would only mislead.
  for (const f of readdirSync(DEV_DIR)) {
    if (/^signer-\d+\.start\.json$/.test(f)) rmSync(join(DEV_DIR, f), { force: true });
  }
  const out: SignerRun[] = [];
  for (let i = 1; i <= count; i++) {
    const port = base + i - 1;
    const unchanged =
      i === 1 && port === config.listen?.port && database === config.database && !tls && !passwordFile;
    if (unchanged) {
      out.push({ name: `signer-${i}`, file, config, port });
      continue;
    }
    const patched: SignerConfig = {
      ...config,
      listen: { ...config.listen, port, ...tlsFiles },
      database,
      ...(passwordFile ? { databasePasswordFile: passwordFile } : {}),
    };
    const copy = join(DEV_DIR, i === 1 ? 'signer.start.json' : `signer-${i}.start.json`);
    writeWhole(copy, `${JSON.stringify(patched, null, 2)}\n`);
    out.push({ name: `signer-${i}`, file: copy, config: patched, port });
  }
  return out;
}
