// How the edge runs on workerd from this checkout, by `npm start` (EDGECA_RUNTIME=workerd) and the
// runtime tests alike: `wrangler dev --local` with the repository's wrangler.toml, a local D1 kept
// in a directory of the caller's, and the Worker's settings in a dotenv file (Workers have no
// process environment).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** wrangler's entry script in a checkout's node_modules, run with this Node. */
export function wranglerScript(root: string): string {
  return join(root, 'node_modules', 'wrangler', 'bin', 'wrangler.js');
}

/** Keeps wrangler from calling Cloudflare: no request.cf lookup, no usage metrics. */
export const WRANGLER_OFFLINE_ENV = { CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_SEND_METRICS: 'false' };

/**
 * Writes the Worker's settings as a dotenv file only its owner reads (relay and signer keys are
 * among them); single quotes keep a JWK's JSON as it is.
 */
export function writeWorkerVars(file: string, vars: Record<string, string>): void {
  writeFileSync(
    file,
    Object.entries(vars)
      .map(([k, v]) => `${k}='${v}'\n`)
      .join(''),
    { mode: 0o600 },
  );
}

/** The `wrangler dev` arguments (after wrangler's script) that serve the edge on 127.0.0.1:port. */
export function wranglerDevArgs(p: {
  port: number;
  inspectorPort: number;
  persistTo: string;
  envFile: string;
}): string[] {
  return [
    'dev',
    '-c',
    'wrangler.toml',
    '--local',
    '--ip',
    '127.0.0.1',
    '--port',
    String(p.port),
    '--inspector-port',
    String(p.inspectorPort),
    '--persist-to',
    p.persistTo,
    '--env-file',
    p.envFile,
    '--show-interactive-dev-session=false',
  ];
}
