// How `npm start` launches the edge on each runtime (EDGECA_RUNTIME=node|deno|workerd). The edge
// is the same Hono app everywhere; what differs is the command line, the transport (Node and Deno
// serve HTTPS with the dev certificate; workerd serves HTTP locally, as TLS is the platform's on
// Workers) and the database (libSQL file on Node/Deno; wrangler's local D1 on workerd).
import { join } from 'node:path';
import { denoRunArgs, EDGE_ENV } from '../../harness/deno-run.ts';
import {
  WRANGLER_OFFLINE_ENV,
  wranglerDevArgs,
  wranglerScript,
  writeWorkerVars,
} from '../../harness/wrangler-dev.ts';

export const RUNTIMES = ['node', 'deno', 'workerd'] as const;
export type Runtime = (typeof RUNTIMES)[number];

export function isRuntime(name: string): name is Runtime {
  return (RUNTIMES as readonly string[]).includes(name);
}

export interface EdgeLaunch {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** where the edge answers */
  baseUrl: string;
  /** what endpoints.json says of this runtime beyond the common fields */
  extra: Record<string, string>;
}

/** The command that runs the edge on `runtime`, and the URL it answers on. */
export function edgeLaunch(
  runtime: Runtime,
  p: { root: string; devDir: string; edgeEnv: Record<string, string>; edgePort: number },
): EdgeLaunch {
  const { root, devDir, edgeEnv, edgePort } = p;
  const baseUrl = edgeEnv.EDGECA_BASE_URL ?? `https://127.0.0.1:${edgePort}`;
  switch (runtime) {
    case 'node':
      return {
        command: process.execPath,
        args: [join(root, 'bin', 'edgeca.mjs'), 'edge', 'serve'],
        env: edgeEnv,
        baseUrl,
        extra: {},
      };
    case 'deno':
      return {
        command: join(root, 'node_modules', '.bin', 'deno'),
        args: denoRunArgs({ readPaths: [devDir], writePaths: [devDir] }),
        env: edgeEnv,
        baseUrl,
        extra: {},
      };
    case 'workerd': {
      const workerUrl = `http://127.0.0.1:${edgePort}`;
      const persist = join(devDir, 'wrangler-state');
      const envFile = join(devDir, 'workerd.env');
      const vars: Record<string, string> = { ...pick(edgeEnv, EDGE_ENV), EDGECA_BASE_URL: workerUrl };
      delete vars.EDGECA_DB_URL; // the Worker's database is its D1 binding
      delete vars.EDGECA_TLS_CERT_FILE;
      delete vars.EDGECA_TLS_KEY_FILE;
      delete vars.EDGECA_RELAY_KEY_FILE;
      delete vars.EDGECA_SIGNER_KEY_FILE; // start.ts passes the key inline (EDGECA_SIGNER_KEY)
      writeWorkerVars(envFile, vars);
      const args = [
        wranglerScript(root),
        ...wranglerDevArgs({ port: edgePort, inspectorPort: edgePort + 2229, persistTo: persist, envFile }),
      ];
      return {
        command: process.execPath,
        args,
        env: { ...process.env, ...WRANGLER_OFFLINE_ENV },
        baseUrl: workerUrl,
        extra: { edgeRuntime: 'workerd', d1PersistDir: persist },
      };
    }
  }
}

function pick(env: Record<string, string>, names: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of names) if (env[n] !== undefined) out[n] = env[n];
  return out;
}
