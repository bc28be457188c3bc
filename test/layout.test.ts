// The layout the tree keeps (docs/architecture.md, Components): which top-level folder may import
// which, read from the import specifiers of every source file. Challenge validation and the on-prem
// frame stand on their own, so the validator is built from them and shared/ alone; test support
// stays under test/; the benchmark stands on the product and harness/. And the challenge types are
// listed once, in validation/registry.ts.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { CHALLENGE_TYPES } from '../validation/registry.ts';

const ROOT = resolve(import.meta.dirname, '..');
const SKIP = new Set(['node_modules', 'test-artifacts', 'bench-results']);

interface Source {
  /** path from the repository root */
  file: string;
  text: string;
}

function sources(dir: string): Source[] {
  const out: Source[] = [];
  for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const rel = join(dir, e.name);
    if (e.isDirectory() && !e.name.startsWith('.') && !SKIP.has(e.name)) out.push(...sources(rel));
    else if (e.isFile() && /\.(ts|mts|mjs)$/.test(e.name)) {
      out.push({ file: rel, text: readFileSync(join(ROOT, rel), 'utf8') });
    }
  }
  return out;
}

const isTest = (file: string) => file.endsWith('.test.ts');

/** The top-level folders `file` imports from (relative specifiers only; packages are not folders). */
function importedFolders({ file, text }: Source): Set<string> {
  const out = new Set<string>();
  const specifier = /(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]+)\1/g;
  for (const m of text.matchAll(specifier)) {
    const target = relative(ROOT, resolve(ROOT, dirname(file), m[2] as string));
    out.add(target.split('/')[0] as string);
  }
  return out;
}

/** Files of `folders` (tests too, or not) importing from any of `forbidden`: "file -> folder" lines. */
function violations(folders: string[], forbidden: string[], o: { tests: boolean }): string[] {
  const bad: string[] = [];
  for (const folder of folders) {
    for (const src of sources(folder)) {
      if (isTest(src.file) && !o.tests) continue;
      for (const f of importedFolders(src)) if (forbidden.includes(f)) bad.push(`${src.file} -> ${f}/`);
    }
  }
  return bad;
}

const PRODUCT = ['edge', 'signer', 'shared', 'validation', 'onprem', 'validator', 'cli', 'bin'];

describe('layout', () => {
  test('the scanner sees imports (it finds what the edge app imports)', () => {
    const app = sources('edge').find((s) => s.file === join('edge', 'app.ts'));
    assert.ok(app);
    assert.ok(importedFolders(app).has('shared'));
    assert.ok(importedFolders(app).has('edge'));
  });
  test('validator/ imports neither edge/ nor signer/ (nor test/ outside its tests)', () => {
    assert.deepEqual(violations(['validator'], ['edge', 'signer'], { tests: true }), []);
    assert.deepEqual(violations(['validator'], ['test'], { tests: false }), []);
  });
  test('validation/ stands on shared/ alone', () => {
    const others = ['edge', 'signer', 'validator', 'onprem', 'cli', 'bench', 'test', 'harness'];
    assert.deepEqual(violations(['validation'], others, { tests: false }), []);
  });
  test('onprem/ stands on shared/ alone', () => {
    const others = ['edge', 'signer', 'validator', 'validation', 'cli', 'bench', 'test', 'harness'];
    assert.deepEqual(violations(['onprem'], others, { tests: false }), []);
  });
  test('edge/ and signer/ import each other nowhere', () => {
    assert.deepEqual(violations(['edge'], ['signer', 'validator', 'onprem'], { tests: false }), []);
    assert.deepEqual(violations(['signer'], ['edge', 'validator', 'validation'], { tests: false }), []);
  });
  test('no product code imports test/; bench/ and harness/ import nothing from test/ at all', () => {
    assert.deepEqual(violations(PRODUCT, ['test', 'bench', 'harness'], { tests: false }), []);
    assert.deepEqual(violations(['bench', 'harness'], ['test'], { tests: true }), []);
  });
  test('challenge types are listed in validation/ alone', () => {
    const quoted = (t: string) => new RegExp(`['"\`]${t}['"\`]`);
    const lists: string[] = [];
    for (const folder of [...PRODUCT.filter((f) => f !== 'validation'), 'bench', 'harness', 'scripts']) {
      for (const src of sources(folder)) {
        if (isTest(src.file)) continue;
        const named = CHALLENGE_TYPES.filter((t) => quoted(t).test(src.text));
        if (named.length > 1) lists.push(`${src.file}: ${named.join(', ')}`);
      }
    }
    assert.deepEqual(lists, []);
  });
});
