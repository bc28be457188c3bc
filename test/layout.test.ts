// The layout the tree keeps (docs/architecture.md, Components): which top-level folder may import
// which, read from the import specifiers of every source file. Challenge validation and the on-prem
// frame stand on their own, so the validator is built from them and shared/ alone; test support
// stays under test/; the benchmark stands on the product and harness/. And the challenge types are
// listed once, in validation/registry.ts. Inside edge/, no two folders import each other, directly
// or round a loop: each folder (and each file at edge/'s root) is a layer the ones above it use.
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

/** The unit of edge/ a file belongs to: its folder under edge/, or itself when it sits at edge/'s root. */
function edgeUnit(file: string): string {
  const parts = file.split('/');
  return parts.length > 2 ? `${parts[1]}/` : (parts[1] as string);
}

/** Unit-to-unit imports inside edge/ (tests left out), each with the file imports that make it. */
function edgeGraph(): Map<string, Map<string, string[]>> {
  const graph = new Map<string, Map<string, string[]>>();
  const specifier = /(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]+)\1/g;
  for (const src of sources('edge')) {
    if (isTest(src.file)) continue;
    const from = edgeUnit(src.file);
    if (!graph.has(from)) graph.set(from, new Map());
    for (const m of src.text.matchAll(specifier)) {
      const target = relative(ROOT, resolve(ROOT, dirname(src.file), m[2] as string));
      if (!target.startsWith('edge/')) continue;
      const to = edgeUnit(target);
      if (to === from) continue;
      const why = graph.get(from)!;
      why.set(to, [...(why.get(to) ?? []), `${src.file} -> ${target}`]);
    }
  }
  return graph;
}

/** Strongly connected components of more than one node (Tarjan): each one is an import loop. */
function cycles(edges: Map<string, Iterable<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const out: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (stack.includes(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        component.push(w);
      } while (w !== v);
      if (component.length > 1) out.push(component.sort());
    }
  };
  for (const v of edges.keys()) if (!index.has(v)) visit(v);
  return out;
}

/**
 * Module-level WeakMaps in `src`, one "file:line" each: a `const`, `let` or `var` at the top of the
 * module (not indented) whose value is a `new WeakMap`. Such a map hangs values off an object from
 * outside it; the members of the services belong to the services object itself.
 */
function moduleWeakMaps({ file, text }: Source): string[] {
  const declaration = /^(?:export\s+)?(?:const|let|var)\s[^;]*?=\s*new\s+WeakMap\b/gm;
  return [...text.matchAll(declaration)].map((m) => `${file}:${text.slice(0, m.index).split('\n').length}`);
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
  test('the loop finder finds loops (a two-folder loop and a three-folder one, not a chain)', () => {
    const g = (pairs: [string, string][]) => {
      const m = new Map<string, string[]>();
      for (const [a, b] of pairs) m.set(a, [...(m.get(a) ?? []), b]);
      return m;
    };
    assert.deepEqual(
      cycles(
        g([
          ['a/', 'b/'],
          ['b/', 'a/'],
        ]),
      ),
      [['a/', 'b/']],
    );
    assert.deepEqual(
      cycles(
        g([
          ['a/', 'b/'],
          ['b/', 'c/'],
          ['c/', 'a/'],
          ['c/', 'd/'],
        ]),
      ),
      [['a/', 'b/', 'c/']],
    );
    assert.deepEqual(
      cycles(
        g([
          ['a/', 'b/'],
          ['b/', 'c/'],
          ['a/', 'c/'],
        ]),
      ),
      [],
    );
  });
  test('the edge graph is read (routes/ import acme/, the entry points main/ import platform/)', () => {
    const graph = edgeGraph();
    assert.ok(graph.get('routes/')?.has('acme/'));
    assert.ok(graph.get('main/')?.has('platform/'));
    assert.ok(graph.get('services.ts')?.has('storage/'));
  });
  test('no import loop between the folders of edge/ (nor its root files)', () => {
    const graph = edgeGraph();
    const loops = cycles(new Map([...graph].map(([k, v]) => [k, v.keys()])));
    const explained = loops.map((loop) =>
      [
        loop.join(' <-> '),
        ...loop.flatMap((a) =>
          loop.flatMap((b) => (graph.get(a)?.get(b) ?? []).map((why) => `  ${a} -> ${b}: ${why}`)),
        ),
      ].join('\n'),
    );
    assert.deepEqual(explained, []);
  });
  test('the WeakMap finder finds module-level maps only (not one made inside a function)', () => {
    const src = (text: string): Source => ({ file: 'x.ts', text });
    assert.deepEqual(moduleWeakMaps(src('import a from "a";\nconst m = new WeakMap<object, number>();\n')), [
      'x.ts:2',
    ]);
    assert.deepEqual(moduleWeakMaps(src('export let cache: WeakMap<object, string> =\n  new WeakMap();\n')), [
      'x.ts:1',
    ]);
    assert.deepEqual(moduleWeakMaps(src('function f() {\n  const m = new WeakMap();\n  return m;\n}\n')), []);
    assert.deepEqual(moduleWeakMaps(src('const m = new Map();\n')), []);
  });
  test('no module-level WeakMap in edge/ (outside tests): services hold their members', () => {
    const found = sources('edge')
      .filter((s) => !isTest(s.file))
      .flatMap(moduleWeakMaps);
    assert.deepEqual(found, []);
  });
  test('platform/ (the adapters) imports nothing else in edge/: no entry point, app or services', () => {
    const graph = edgeGraph();
    const up = [...(graph.get('platform/')?.keys() ?? [])];
    assert.deepEqual(up, []);
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
