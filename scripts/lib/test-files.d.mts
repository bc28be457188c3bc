// Types for test-files.mjs, for the TypeScript tests.
export const SKIP_DIRS: Set<string>;
export function findTests(dir: string, depth?: number): string[];
export function filesNotRun(files: string[], ranFile: string): string[];
