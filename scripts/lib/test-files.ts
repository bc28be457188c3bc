// Which test files `npm test` runs, and which of them the run never heard from. Every `*.test.ts`
// in the tree counts (discovered, never listed by hand), except under dependency, state and
// hidden folders.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';

export const SKIP_DIRS = new Set(['node_modules', 'test-artifacts', 'bench-results']);

/** Every *.test.ts under dir (depth-bounded; hidden folders skipped), sorted for a stable order. */
export function findTests(dir: string, depth = 0): string[] {
  if (depth > 12 || !existsSync(dir)) return [];
  if (statSync(dir).isFile()) return dir.endsWith('.test.ts') ? [dir] : [];
  if (depth > 0 && (basename(dir).startsWith('.') || SKIP_DIRS.has(basename(dir)))) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) out.push(...findTests(join(dir, entry.name), depth + 1));
    else if (entry.isFile() && entry.name.endsWith('.test.ts')) out.push(join(dir, entry.name));
  }
  return out.sort();
}

/**
 * The files of `files` missing from the list of test files that started (one path per line, as
 * scripts/lib/ran-marker.ts writes it to `ranFile`); all of them when nothing was written.
 */
export function filesNotRun(files: string[], ranFile: string): string[] {
  let ran: string[] = [];
  try {
    ran = readFileSync(ranFile, 'utf8').split('\n').filter(Boolean);
  } catch {
    ran = [];
  }
  const seen = new Set(ran.map((f) => resolve(f)));
  return files.filter((f) => !seen.has(resolve(f)));
}
