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

// The on-prem services and `npm start` read their EDGECA_* variables through their tables' readers
// (signer/settings.ts, scripts/lib/start-settings.ts; the validator reads none): a read straight from
// the environment, by name or by a constant holding one, is a setting the table does not know.
const DIRECT_READ = /\benv(?:\.EDGECA_|\[\s*['"`]EDGECA_|\[\s*[A-Z][A-Z0-9_]*\s*\])/g;
// `npm test`'s own knobs (scripts/test.ts, EDGECA_TEST_*) have no table yet: README, Tests, lists them.
const READ_THROUGH_TABLES = [
  ...['signer', 'onprem', 'validator'].flatMap((d) => sourceFiles(join(ROOT, d))),
  ...[
    'scripts/start.ts',
    'scripts/lib/start-env.ts',
    'scripts/lib/dev-ca.ts',
    'scripts/lib/dev-signers.ts',
    'scripts/lib/dev-endpoints.ts',
    'scripts/lib/edge-runtimes.ts',
    'scripts/lib/procs.ts',
  ].map((f) => join(ROOT, f)),
];

test('signer/, onprem/, validator/ and npm start read no EDGECA_* variable past their tables', () => {
  const found: string[] = [];
  for (const f of READ_THROUGH_TABLES) {
    const lines = readFileSync(f, 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (line.match(DIRECT_READ)) found.push(`${relative(ROOT, f)}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(found, []);
});

test('the direct-read check sees reads by name and by constant, not writes to a child environment', () => {
  const hits = (src: string) => [...src.matchAll(DIRECT_READ)].length;
  assert.equal(hits('const v = process.env.EDGECA_X;'), 1);
  assert.equal(hits("const v = env['EDGECA_X'];"), 1);
  assert.equal(hits('const v = env[PASSWORD_ENV];'), 1);
  assert.equal(hits('edgeEnv.EDGECA_X = "1"; readSetting(env, "EDGECA_X")'), 0);
});
