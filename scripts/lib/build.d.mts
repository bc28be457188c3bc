// Types for build.mjs (plain JS, run before anything is compiled), for the TypeScript tests.
export function build(opts?: { root?: string; check?: boolean; quiet?: boolean }): number;
