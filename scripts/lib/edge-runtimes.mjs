// How `npm start` launches the edge on each runtime (EDGECA_RUNTIME=node|deno|workerd). The edge
// is the same Hono app everywhere; what differs is the command line, the transport (Node and Deno
// serve HTTPS with the dev certificate; workerd serves HTTP locally, as TLS is the platform's on
// Workers) and the database (libSQL file on Node/Deno; wrangler's local D1 on workerd).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { denoRunArgs, EDGE_ENV } from '../../harness/deno-run.mjs';

export const RUNTIMES = ['node', 'deno', 'workerd'];

/**
 * The command that runs the edge on `runtime`, and the URL it answers on.
 * @returns {{ command: string, args: string[], env: Record<string,string>, baseUrl: string, extra: Record<string,string> }}
 */
export function edgeLaunch(runtime, { root, devDir, edgeEnv, edgePort }) {
  if (runtime === 'node') {
    return {
      command: process.execPath,
      args: [join(root, 'bin', 'edgeca.mjs'), 'edge', 'serve'],
      env: edgeEnv,
      baseUrl: edgeEnv.EDGECA_BASE_URL,
      extra: {},
    };
  }
  if (runtime === 'deno') {
    return {
      command: join(root, 'node_modules', '.bin', 'deno'),
      args: denoRunArgs({ readPaths: [devDir], writePaths: [devDir] }),
      env: edgeEnv,
      baseUrl: edgeEnv.EDGECA_BASE_URL,
      extra: {},
    };
  }
  if (runtime === 'workerd') {
    const baseUrl = `http://127.0.0.1:${edgePort}`;
    const persist = join(devDir, 'wrangler-state');
    const envFile = join(devDir, 'workerd.env');
    const vars = {
      ...pick(edgeEnv, EDGE_ENV),
      EDGECA_BASE_URL: baseUrl,
    };
    delete vars.EDGECA_DB_URL; // the Worker's database is its D1 binding
    delete vars.EDGECA_TLS_CERT_FILE;
    delete vars.EDGECA_TLS_KEY_FILE;
    delete vars.EDGECA_RELAY_KEY_FILE;
    delete vars.EDGECA_SIGNER_KEY_FILE; // start.mjs passes the key inline (EDGECA_SIGNER_KEY)
    writeFileSync(
      envFile,
      Object.entries(vars)
        .map(([k, v]) => `${k}='${v}'\n`)
        .join(''),
      { mode: 0o600 },
    );
    const args = [
      join(root, 'node_modules', 'wrangler', 'bin', 'wrangler.js'),
      'dev',
      '-c',
      'wrangler.toml',
      '--local',
      '--ip',
      '127.0.0.1',
      '--port',
      String(edgePort),
      '--persist-to',
      persist,
      '--env-file',
      envFile,
      '--show-interactive-dev-session=false',
      '--inspector-port',
      String(edgePort + 2229),
    ];
    const env = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_SEND_METRICS: 'false' };
    return {
      command: process.execPath,
      args,
      env,
      baseUrl,
      extra: { edgeRuntime: 'workerd', d1PersistDir: persist },
    };
  }
  throw new Error(`EDGECA_RUNTIME=${runtime}: choose one of ${RUNTIMES.join(', ')}`);
}

function pick(env, names) {
  const out = {};
  for (const n of names) if (env[n] !== undefined) out[n] = env[n];
  return out;
}
