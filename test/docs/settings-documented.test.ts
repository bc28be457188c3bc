// Settings cannot go undocumented: every EDGECA_* variable the code reads is named in README.md
// or docs/, and every variable the edge reads is a row of its settings table (edge/settings.ts),
// from which Deno's --allow-env list and the README's table are made (test/docs/generated.test.ts
// holds those to it), or the edge on Deno could not see it.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EDGE_ENV_NAMES } from '../../edge/settings.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SOURCE_DIRS = ['edge', 'signer', 'validator', 'shared', 'cli', 'scripts', 'bin'];
const NAME = /\bEDGECA_[A-Z0-9_]*[A-Z0-9]\b/g;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(ts|mts|mjs)$/.test(entry) && !/\.test\.ts$|\.d\.mts$/.test(entry)) out.push(path);
  }
  return out;
}

function namesIn(files: string[]): Map<string, string> {
  const names = new Map<string, string>();
  for (const f of files)
    for (const m of readFileSync(f, 'utf8').matchAll(NAME))
      if (!names.has(m[0])) names.set(m[0], relative(ROOT, f));
  return names;
}

const docs = [
  readFileSync(join(ROOT, 'README.md'), 'utf8'),
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => readFileSync(join(ROOT, 'docs', f), 'utf8')),
].join('\n');

test('every EDGECA_* variable the code reads is documented in README.md or docs/', () => {
  const used = namesIn(SOURCE_DIRS.flatMap((d) => sourceFiles(join(ROOT, d))));
  assert.ok(used.size > 30, 'the scan found the settings');
  const undocumented = [...used]
    .filter(([name]) => !new RegExp(`\\b${name}\\b`).test(docs))
    .map(([n, f]) => `${n} (${f})`);
  assert.deepEqual(undocumented, []);
});

test("every EDGECA_* variable edge/ reads is in the edge's settings table", () => {
  const list = new Set(EDGE_ENV_NAMES);
  const used = namesIn(sourceFiles(join(ROOT, 'edge')));
  const missing = [...used.keys()].filter((n) => !list.has(n));
  assert.deepEqual(missing, []);
});
