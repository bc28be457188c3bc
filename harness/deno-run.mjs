// How the Deno edge is run from this checkout, by `npm start` (scripts/lib/edge-runtimes.mjs), the
// runtime tests and the benchmark alike: the `deno run` arguments with the least permissions the
// edge needs (docs/runtimes.md explains each). Plain Node ESM, as `npm start` runs without tsx.
import { readFileSync } from 'node:fs';

/** Environment variables the edge reads (Deno's --allow-env lists them): one list for all. */
export const EDGE_ENV = [
  ...JSON.parse(readFileSync(new URL('../edge/runtime/env-names.json', import.meta.url), 'utf8')),
  'LIBSQL_JS_DEV',
];

/**
 * Network, reads and writes in the given directories, the settings above, libSQL's native library,
 * and the few system facts it reads on load.
 * @param {{ readPaths: string[], writePaths: string[] }} p
 * @returns {string[]}
 */
export function denoRunArgs({ readPaths, writePaths }) {
  return [
    'run',
    '--no-prompt',
    '--allow-net',
    `--allow-read=${readPaths.join(',')}`,
    `--allow-write=${writePaths.join(',')}`,
    `--allow-env=${EDGE_ENV.join(',')}`,
    '--allow-ffi=node_modules/@libsql',
    '--allow-sys=cpus,networkInterfaces,hostname',
    'edge/runtime/deno-main.ts',
  ];
}
