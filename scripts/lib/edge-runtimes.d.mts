// Types of edge-runtimes.mjs for the TypeScript that imports it (the runtime tests, the benchmark).
export const RUNTIMES: string[];
export function denoRunArgs(p: { readPaths: string[]; writePaths: string[] }): string[];
export function edgeLaunch(
  runtime: string,
  o: { root: string; devDir: string; edgeEnv: Record<string, string>; edgePort: number },
): {
  command: string;
  args: string[];
  env: Record<string, string | undefined>;
  baseUrl: string;
  extra: Record<string, string>;
};
