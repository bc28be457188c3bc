// How the Deno edge is run from this checkout, by `npm start` (scripts/lib/edge-runtimes.ts), the
// runtime tests and the benchmark alike: the `deno run` arguments with the least permissions the
// edge needs (docs/runtimes.md explains each).
import envNames from '../edge/platform/env-names.json' with { type: 'json' };

/** Environment variables the edge reads (Deno's --allow-env lists them): one list for all. */
export const EDGE_ENV: string[] = [...envNames, 'LIBSQL_JS_DEV'];

/**
 * Network, reads and writes in the given directories, the settings above, libSQL's native library,
 * and the few system facts it reads on load.
 */
export function denoRunArgs({
  readPaths,
  writePaths,
}: {
  readPaths: string[];
  writePaths: string[];
}): string[] {
  return [
    'run',
    '--no-prompt',
    '--allow-net',
    `--allow-read=${readPaths.join(',')}`,
    `--allow-write=${writePaths.join(',')}`,
    `--allow-env=${EDGE_ENV.join(',')}`,
    '--allow-ffi=node_modules/@libsql',
    '--allow-sys=cpus,networkInterfaces,hostname',
    'edge/main/deno.ts',
  ];
}
