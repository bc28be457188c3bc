// Test discovery: every *.test.ts in the tree is found wherever it lives (a folder nobody listed,
// such as validator/, included), dependency, state and hidden folders are not, and a discovered
// file the run never reported is named.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, test } from 'node:test';
import { filesNotRun, findTests } from './test-files.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgeca-discovery-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function touch(rel: string): string {
  const file = join(dir, rel);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, '');
  return file;
}

test('finds every *.test.ts outside dependency, state and hidden folders', () => {
  for (const f of [
    'edge/a.test.ts',
    'validator/service.test.ts',
    'brand-new-folder/deep/x.test.ts',
    'node_modules/pkg/dep.test.ts',
    '.edgeca/dev/state.test.ts',
    '.git/hooks/h.test.ts',
    'bench-results/r.test.ts',
    'edge/helper.ts',
    'edge/a.test.js',
  ])
    touch(f);
  const found = findTests(dir).map((f) => relative(dir, f));
  assert.deepEqual(found, ['brand-new-folder/deep/x.test.ts', 'edge/a.test.ts', 'validator/service.test.ts']);
});

test('names the discovered files the reporter never heard from', () => {
  const files = findTests(dir);
  const ranFile = join(dir, 'ran.txt');
  writeFileSync(ranFile, `${files.filter((f) => !f.includes('validator')).join('\n')}\n`);
  assert.deepEqual(
    filesNotRun(files, ranFile).map((f) => relative(dir, f)),
    ['validator/service.test.ts'],
  );
});

test('counts every file as not run when the reporter wrote nothing', () => {
  const files = findTests(dir);
  assert.equal(filesNotRun(files, join(dir, 'missing.json')).length, files.length);
});
