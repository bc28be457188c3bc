// Proves the dependency checks `npm start` and `npm test` share, without installing anything.
import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  DEBIAN_PACKAGES,
  ensureNpmDeps,
  missingPackages,
  postgresBinDir,
  ROOT,
  TEST_PACKAGES,
  which,
} from './ensure.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgeca-ensure-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const bin = join(dir, 'bin');
mkdirSync(bin);
writeFileSync(join(bin, 'runnable'), '#!/bin/sh\n');
chmodSync(join(bin, 'runnable'), 0o755);
writeFileSync(join(bin, 'not-runnable'), 'data');
chmodSync(join(bin, 'not-runnable'), 0o644);
mkdirSync(join(bin, 'a-directory'));

const whichCases: { name: string; tool: string; found: boolean }[] = [
  { name: 'finds an executable file on PATH', tool: 'runnable', found: true },
  { name: 'skips a file that is not executable', tool: 'not-runnable', found: false },
  { name: 'skips a directory', tool: 'a-directory', found: false },
  { name: 'returns undefined for a missing name', tool: 'absent', found: false },
];
for (const c of whichCases) {
  test(`which ${c.name}`, () => {
    const got = which(c.tool, `/nonexistent:${bin}`);
    assert.equal(got, c.found ? join(bin, c.tool) : undefined);
  });
}

test('missingPackages reports every package whose binaries are not on PATH', () => {
  const saved = process.env.PATH;
  process.env.PATH = bin;
  try {
    assert.deepEqual(missingPackages(['dnsutils', 'certbot']), ['dnsutils', 'certbot']);
  } finally {
    process.env.PATH = saved;
  }
});

test('missingPackages names no package when everything is installed on this machine', () => {
  assert.deepEqual(missingPackages(TEST_PACKAGES), []);
});

test('missingPackages refuses a package it does not know how to check', () => {
  assert.throws(() => missingPackages(['no-such-package']), /unknown package/);
});

test('every package npm test installs says what proves it is installed', () => {
  for (const name of TEST_PACKAGES) {
    const want = DEBIAN_PACKAGES[name];
    assert.ok(want && (want.bins.length + want.files.length > 0 || want.found), name);
  }
});

test('postgresBinDir picks the newest PostgreSQL major that has initdb, and none in an empty tree', () => {
  const root = join(dir, 'usr-lib-postgresql');
  for (const [major, withInitdb] of [
    ['13', true],
    ['15', true],
    ['16', false],
  ] as const) {
    mkdirSync(join(root, major, 'bin'), { recursive: true });
    if (withInitdb) writeFileSync(join(root, major, 'bin', 'initdb'), '');
  }
  assert.equal(postgresBinDir(root), join(root, '15', 'bin'));
  assert.equal(postgresBinDir(join(dir, 'no-such-tree')), undefined);
});

test('ensureNpmDeps installs nothing when node_modules is newer than package-lock.json', () => {
  const root = join(dir, 'project');
  mkdirSync(join(root, 'node_modules'), { recursive: true });
  writeFileSync(join(root, 'package-lock.json'), '{}');
  writeFileSync(join(root, 'node_modules', '.package-lock.json'), '{}');
  const past = new Date(Date.now() - 60_000);
  utimesSync(join(root, 'package-lock.json'), past, past);
  assert.equal(ensureNpmDeps(root), false);
});

test('ensureNpmDeps fails loudly when npm ci refuses a stale lock, and never falls back to npm install', () => {
  const root = join(dir, 'stale-lock');
  mkdirSync(root, { recursive: true });
  writeFileSync(
    join(root, 'package.json'),
    JSON.stringify({ name: 'stale', version: '1.0.0', dependencies: { 'is-number': '^7.0.0' } }),
  );
  writeFileSync(
    join(root, 'package-lock.json'),
    JSON.stringify({
      name: 'stale',
      version: '1.0.0',
      lockfileVersion: 3,
      requires: true,
      packages: { '': { name: 'stale', version: '1.0.0' } },
    }),
  );
  assert.throws(
    () => ensureNpmDeps(root),
    (e: Error) => /npm ci failed/.test(e.message) && /package-lock-only/.test(e.message),
  );
  assert.equal(existsSync(join(root, 'node_modules', 'is-number')), false, 'nothing was installed');
});

test('the committed lock file names every dependency of package.json with the same range', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'));
  const root = lock.packages[''];
  assert.deepEqual(root.dependencies ?? {}, pkg.dependencies ?? {});
  assert.deepEqual(root.devDependencies ?? {}, pkg.devDependencies ?? {});
  for (const name of [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})])
    assert.ok(lock.packages[`node_modules/${name}`], `${name} is locked`);
});
