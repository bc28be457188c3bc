// The files made from one source each are what the source makes now: the Deno --allow-env list
// (edge/settings.ts) and the README's settings tables (the edge's, the signer's environment and
// npm start's: scripts/lib/generated.ts). A setting added without `npm run gen` fails here.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  generatedFiles,
  README_PATH,
  SECTIONS,
  SETTINGS_BEGIN,
  staleFiles,
} from '../../scripts/lib/generated.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

test('the committed generated files are what the sources make (else: run npm run gen)', () => {
  assert.deepEqual(staleFiles(ROOT), [], 'generated files are out of date: run npm run gen');
});

/** The generated files written afresh into a temporary checkout; `f` changes it and checks. */
function inCopy(f: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'edgeca-gen-'));
  try {
    for (const g of generatedFiles(ROOT)) {
      const path = join(dir, g.path);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, g.content);
    }
    assert.deepEqual(staleFiles(dir), []);
    f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the README holds the edge, signer and npm start tables and docs/hsm.md the CA key types, each listing every row', () => {
  assert.deepEqual(
    SECTIONS.map((s) => s.what),
    ['edge settings', 'signer environment settings', 'npm start settings', 'CA key types'],
  );
  for (const s of SECTIONS) {
    const text = readFileSync(join(ROOT, s.path), 'utf8');
    const inner = text.slice(text.indexOf(s.begin), text.indexOf(s.end));
    assert.ok(s.names.length > 0, s.what);
    for (const name of s.names) assert.ok(inner.includes(`\`${name}\``), `${name} in the ${s.what}`);
  }
});

for (const s of SECTIONS) {
  test(`a ${s.path} whose ${s.what} table lacks a row is reported stale`, () => {
    inCopy((dir) => {
      const file = join(dir, s.path);
      const text = readFileSync(file, 'utf8');
      const last = s.names[s.names.length - 1] ?? '';
      const a = text.indexOf(s.begin);
      const b = text.indexOf(s.end);
      const inner = text
        .slice(a, b)
        .split('\n')
        .filter((l) => !l.startsWith(`| \`${last}`))
        .join('\n');
      assert.notEqual(inner, text.slice(a, b), `the ${s.what} table has a row for ${last}`);
      writeFileSync(file, text.slice(0, a) + inner + text.slice(b));
      assert.deepEqual(staleFiles(dir), [s.path]);
    });
  });
}

test('a README without the marker comments is an error naming them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgeca-gen-'));
  try {
    writeFileSync(join(dir, README_PATH), 'no markers here\n');
    assert.throws(() => generatedFiles(dir), new RegExp(SETTINGS_BEGIN.slice(0, 20)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
