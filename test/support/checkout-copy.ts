// A copy of this checkout in a temporary directory, for tests that run the scripts (npm start, the
// build) on it and must leave the real .edgeca/dev and dist/ alone: every tracked-looking file with
// its times kept, state and output folders left out, node_modules linked rather than copied.
import { cpSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ROOT } from '../../scripts/lib/ensure.ts';

/** State and output folders of a checkout, not part of what the scripts read. */
const NOT_COPIED = new Set([
  'node_modules',
  '.git',
  'dist',
  '.edgeca',
  '.wrangler',
  'test-artifacts',
  'bench-results',
]);

/** Copies the checkout into a new directory named with `prefix` under the temp dir; returns it. */
export function copyCheckout(prefix: string): string {
  const repo = mkdtempSync(join(tmpdir(), prefix));
  cpSync(ROOT, repo, {
    recursive: true,
    preserveTimestamps: true,
    filter: (src) => {
      const top = relative(ROOT, src).split('/')[0] ?? '';
      return !NOT_COPIED.has(top) && !top.startsWith('dist.tmp-');
    },
  });
  symlinkSync(join(ROOT, 'node_modules'), join(repo, 'node_modules'));
  return repo;
}
