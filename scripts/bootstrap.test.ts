// Proves scripts/bootstrap.mjs, what every npm script runs first, on copies of it in temporary
// directories: on a fresh clone whose lock npm ci refuses it fails loudly and installs nothing; once
// the dependencies are there it runs scripts/<name>.ts through tsx with the arguments, exit code
// and signals of the process npm started.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ROOT } from './lib/ensure.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgeca-bootstrap-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A checkout of `files` (path → text) with scripts/bootstrap.mjs copied in. */
function checkout(name: string, files: Record<string, string>): string {
  const root = join(dir, name);
  mkdirSync(join(root, 'scripts'), { recursive: true });
  copyFileSync(join(ROOT, 'scripts', 'bootstrap.mjs'), join(root, 'scripts', 'bootstrap.mjs'));
  for (const [path, text] of Object.entries(files)) writeFileSync(join(root, path), text);
  return root;
}

/**
 * A checkout whose dependencies count as installed: node_modules is this checkout's (linked) and
 * package-lock.json is older than it, so the bootstrap never runs npm ci in the shared tree.
 */
function installedCheckout(name: string, script: string): string {
  const root = checkout(name, { 'package-lock.json': '{}', 'scripts/test.ts': script });
  const past = new Date('2000-01-01T00:00:00Z');
  utimesSync(join(root, 'package-lock.json'), past, past);
  symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'));
  return root;
}

function env(): NodeJS.ProcessEnv {
  const { NODE_TEST_CONTEXT: _, ...rest } = process.env;
  return rest;
}

test('the bootstrap names the scripts it runs when given another', () => {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'bootstrap.mjs'), 'deploy'], {
    env: env(),
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /usage: node scripts\/bootstrap\.mjs start\|test\|build\|bench/);
});

test('on a fresh clone whose lock npm ci refuses, the bootstrap fails loudly and installs nothing', () => {
  const root = checkout('stale-lock', {
    'package.json': JSON.stringify({
      name: 'stale',
      version: '1.0.0',
      dependencies: { 'is-number': '^7.0.0' },
    }),
    'package-lock.json': JSON.stringify({
      name: 'stale',
      version: '1.0.0',
      lockfileVersion: 3,
      requires: true,
      packages: { '': { name: 'stale', version: '1.0.0' } },
    }),
    'scripts/test.ts': "process.stdout.write('the script ran\\n');\n",
  });
  const r = spawnSync(process.execPath, ['scripts/bootstrap.mjs', 'test'], {
    cwd: root,
    env: env(),
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /\[edgeca\] node_modules is missing: running npm ci/);
  assert.match(r.stderr, /\[edgeca\] npm ci failed \(exit \d+\)\..*npm install --package-lock-only/s);
  assert.doesNotMatch(r.stdout, /the script ran/);
  assert.equal(existsSync(join(root, 'node_modules', 'is-number')), false, 'nothing was installed');
});

test('the bootstrap runs the TypeScript script with its arguments and exit code', () => {
  const root = installedCheckout(
    'passes-through',
    [
      // as the real scripts do (through scripts/lib/ensure.ts): the bootstrap imported by its script
      "import { ROOT } from './bootstrap.mjs';",
      'const args: string[] = process.argv.slice(2);',
      'console.log(JSON.stringify({ args, script: process.argv[1], root: ROOT }));',
      'process.exitCode = 7;',
      '',
    ].join('\n'),
  );
  const r = spawnSync(process.execPath, ['scripts/bootstrap.mjs', 'test', 'edge/', 'a b', '--flag'], {
    cwd: root,
    env: env(),
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 7, r.stdout + r.stderr);
  assert.doesNotMatch(r.stderr, /npm ci/);
  const seen = JSON.parse(r.stdout) as { args: string[]; script: string; root: string };
  assert.deepEqual(seen.args, ['edge/', 'a b', '--flag']);
  assert.equal(seen.script, join(root, 'scripts', 'test.ts'));
  assert.equal(seen.root, root);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`${signal} sent to the process npm started reaches the script's handler`, async () => {
    const root = installedCheckout(
      `signal-${signal}`,
      [
        `process.on('${signal}', () => {`,
        "  process.stdout.write('stopping\\n');",
        '  process.exit(0);',
        '});',
        "process.stdout.write('ready\\n');",
        'setTimeout(() => process.exit(3), 60_000);',
        '',
      ].join('\n'),
    );
    const child = spawn(process.execPath, ['scripts/bootstrap.mjs', 'test'], {
      cwd: root,
      env: env(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "ready" within 60 s: ${out}`)), 60_000);
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString('utf8');
        if (out.includes('ready\n')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.kill(signal);
    assert.equal(await exited, 0, out);
    assert.match(out, /stopping/);
  });
}
