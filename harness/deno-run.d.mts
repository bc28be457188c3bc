// Types of deno-run.mjs for the TypeScript that imports it (the runtime tests, the benchmark).
export const EDGE_ENV: string[];
export function denoRunArgs(p: { readPaths: string[]; writePaths: string[] }): string[];
