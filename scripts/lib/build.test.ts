// `npm run build` and how bin/edgeca.mjs chooses between dist/ and the TypeScript sources, on a
// copy of the repository (the real dist/ is left alone for whatever else is running):
// the compiled tree holds the CLI and the modules it imports and no test; a current dist/ is what
// runs; an edited source makes the CLI run the sources instead, never the old build; a computed
// import the compiler cannot follow fails the build; a failed build keeps the previous dist/.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { basename, join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { changedSources, readBuildInfo } from '../../bin/build-info.mjs';
import { copyCheckout } from '../../test/support/checkout-copy.ts';
import { build } from './build.ts';

const MARK = 'ran-from-dist';

let repo: string;
before(() => {
  repo = copyCheckout('edgeca-build-');
});
after(() => rmSync(repo, { recursive: true, force: true }));

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)));
}

/** `edgeca --help` in the copy: its output, and whether the marked dist/ entry ran. */
function runCli(): { stdout: string; fromDist: boolean } {
  const r = spawnSync(process.execPath, [join(repo, 'bin', 'edgeca.mjs'), '--help'], {
    cwd: repo,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  return { stdout: r.stdout, fromDist: r.stdout.includes(MARK) };
}

/** Marks the compiled entry so a run shows whether dist/ or the sources answered. */
function markDist(): void {
  const info = readBuildInfo(join(repo, 'dist'));
  assert.ok(info);
  appendFileSync(join(repo, 'dist', info.entry), `\nprocess.stdout.write('${MARK}\\n');\n`);
}

describe('npm run build', () => {
  test('compiles the CLI and Deno entries and every module they import into dist/, and no test', () => {
    const count = build({ root: repo, quiet: true });
    const dist = join(repo, 'dist');
    const files = filesUnder(dist);
    // every compiled (or copied, JSON) file, and the build's own record
    assert.equal(files.filter((f) => f !== 'build-info.json').length, count);
    for (const f of [
      'cli/main.js',
      'signer/cli.js',
      'signer/hsm/token.js',
      'signer/bootstrap.js',
      'validator/cli.js',
      'edge/main/deno.js',
      'edge/platform/env-names.json',
    ]) {
      assert.ok(files.includes(f), `dist/${f} is missing`);
    }
    assert.deepEqual(
      files.filter((f) => /\.test\.|test-support|\/testing\./.test(f)),
      [],
      'test code in dist/',
    );
    const info = readBuildInfo(dist);
    assert.ok(info);
    assert.equal(info.entry, 'cli/main.js');
    // every compiled file has its source recorded, and nothing else is recorded
    assert.deepEqual(
      Object.keys(info.sources).sort(),
      files
        .filter((f) => f !== 'build-info.json')
        .map((f) => f.replace(/\.js$/, '.ts'))
        .sort(),
    );
    for (const f of files.filter((x) => x.endsWith('.js'))) {
      assert.doesNotMatch(
        readFileSync(join(dist, f), 'utf8'),
        /from '\.{1,2}\/[^']*\.ts'/,
        `${f} imports .ts`,
      );
    }
    assert.deepEqual(changedSources(repo, info), []);
  });

  test('a current dist/ is what the CLI runs', () => {
    markDist();
    const { stdout, fromDist } = runCli();
    assert.ok(fromDist, stdout);
    assert.match(stdout, /usage: edgeca <area> <command>/);
  });

  test('after a source changes the CLI runs the sources, not the older dist/', () => {
    const file = join(repo, 'cli', 'main.ts');
    const { atime, mtime } = statSync(file);
    utimesSync(file, atime, new Date(mtime.getTime() - 5000));
    assert.deepEqual(changedSources(repo, readBuildInfo(join(repo, 'dist'))!), ['cli/main.ts']);
    const { stdout, fromDist } = runCli();
    assert.ok(!fromDist, 'the stale dist/ ran');
    assert.match(stdout, /usage: edgeca <area> <command>/);
  });

  test('a deleted source counts as a change', () => {
    const info = readBuildInfo(join(repo, 'dist'))!;
    const gone = { ...info, sources: { ...info.sources, 'cli/no-longer-here.ts': { size: 1, mtimeMs: 1 } } };
    assert.ok(changedSources(repo, gone).includes('cli/no-longer-here.ts'));
  });

  test('a rebuild makes dist/ current again and drops files of modules no longer imported', () => {
    const orphan = join(repo, 'dist', 'cli', 'orphan.js');
    writeFileSync(orphan, '');
    build({ root: repo, quiet: true });
    assert.ok(!existsSync(orphan));
    assert.deepEqual(changedSources(repo, readBuildInfo(join(repo, 'dist'))!), []);
  });

  test('refuses a dynamic import with a computed relative specifier, naming the file', () => {
    const file = join(repo, 'cli', 'main.ts');
    const original = readFileSync(file, 'utf8');
    writeFileSync(
      file,
      `${original}\nconst lazy = './status.ts';\nexport const load = () => import(lazy);\n`,
    );
    try {
      assert.throws(() => build({ root: repo, quiet: true }), /computed relative specifier in cli\/main\.ts/);
    } finally {
      writeFileSync(file, original);
    }
  });

  test('a build that fails keeps the previous dist/', () => {
    markDist();
    const file = join(repo, 'cli', 'status.ts');
    const original = readFileSync(file, 'utf8');
    writeFileSync(file, `${original}\nexport const broken = (;\n`);
    try {
      assert.throws(() => build({ root: repo, quiet: true }), /TypeScript build failed/);
      assert.ok(readFileSync(join(repo, 'dist', 'cli', 'main.js'), 'utf8').includes(MARK));
      assert.deepEqual(
        readdirSync(repo).filter((f) => basename(f).startsWith('dist.tmp-')),
        [],
        'a temporary build directory was left behind',
      );
    } finally {
      writeFileSync(file, original);
    }
  });
});
