// docs/architecture.md walks an issuance through the files and maps each RFC section to its module:
// every repository path it names must exist, so a move that forgets the page fails here.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const ROOT = join(import.meta.dirname, '..', '..');
const TOP = [
  'edge',
  'signer',
  'shared',
  'validation',
  'validator',
  'onprem',
  'cli',
  'bin',
  'harness',
  'scripts',
  'test',
  'docs',
  'bench',
  'packaging',
];
const PATH = new RegExp(`^(${TOP.join('|')})/[\\w./-]*$`);

/** The repository paths a Markdown text names in backticks (`edge/acme/jws.ts`, `validation/`). */
export function pathsIn(text: string): string[] {
  return [...text.matchAll(/`([^`\s]+)`/g)].map((m) => m[1] ?? '').filter((p) => PATH.test(p));
}

test('every path docs/architecture.md names exists', () => {
  const paths = pathsIn(readFileSync(join(ROOT, 'docs', 'architecture.md'), 'utf8'));
  assert.ok(paths.length >= 40, `the page names ${paths.length} paths`);
  assert.deepEqual(
    paths.filter((p) => !existsSync(join(ROOT, p))),
    [],
  );
});

test('the RFC index names a module for each of its rows', () => {
  const text = readFileSync(join(ROOT, 'docs', 'architecture.md'), 'utf8');
  const index = text.slice(text.indexOf('## Where each RFC section lives'));
  const rows = index.split('\n').filter((l) => /^\| (RFC|draft)/.test(l));
  assert.ok(rows.length >= 20, `${rows.length} rows`);
  for (const row of rows) assert.ok(pathsIn(row).length > 0, `a module for: ${row}`);
});

test('a path that does not exist is caught', () => {
  assert.deepEqual(pathsIn('see `edge/acme/nowhere.ts` and `npm test`'), ['edge/acme/nowhere.ts']);
  assert.equal(existsSync(join(ROOT, 'edge/acme/nowhere.ts')), false);
});
