// Proves `npm test` (scripts/bootstrap.mjs test, which runs scripts/test.ts) on fixture test files in a temp directory: its exit status,
// that its last lines are the runner's summary, and the extra line when a check failed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

const BOOTSTRAP = new URL('./bootstrap.mjs', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'edgeca-runner-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function fixture(name: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    `import { test } from 'node:test';\nimport assert from 'node:assert/strict';\n${body}\n`,
  );
  return file;
}

function runner(args: string[], extraEnv: Record<string, string> = {}) {
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const r = spawnSync(process.execPath, [BOOTSTRAP, 'test', ...args], {
    env: { ...env, ...extraEnv },
    encoding: 'utf8',
    timeout: 120_000,
  });
  const lines = r.stdout.trimEnd().split('\n');
  return { status: r.status, lines, stdout: r.stdout, stderr: r.stderr };
}

const passing = fixture('ok.test.ts', "test('adds', () => assert.equal(1 + 1, 2));");
const failing = fixture('bad.test.ts', "test('adds wrongly', () => assert.equal(1 + 1, 3));");
fixture('slow.interop.test.ts', "test('talks to a real client', () => {});");

const cases: {
  name: string;
  args: () => string[];
  env?: Record<string, string>;
  status: number;
  pass: number;
  fail: number;
}[] = [
  { name: 'exits 0 when every test passes', args: () => [passing], status: 0, pass: 1, fail: 0 },
  { name: 'exits 1 when a test fails', args: () => [passing, failing], status: 1, pass: 1, fail: 1 },
  { name: 'runs every *.test.ts under a directory given', args: () => [dir], status: 1, pass: 2, fail: 1 },
  {
    name: 'skips interop files with EDGECA_TEST_QUICK=1',
    args: () => [dir],
    env: { EDGECA_TEST_QUICK: '1', CI: '' },
    status: 1,
    pass: 1,
    fail: 1,
  },
  {
    name: 'ignores EDGECA_TEST_QUICK under CI',
    args: () => [dir],
    env: { EDGECA_TEST_QUICK: '1', CI: 'true' },
    status: 1,
    pass: 2,
    fail: 1,
  },
];

for (const c of cases) {
  test(`npm test ${c.name} and ends with the summary`, () => {
    const r = runner(c.args(), c.env);
    assert.equal(r.status, c.status, r.stdout + r.stderr);
    const tail = r.lines.slice(-8);
    assert.match(tail[0] ?? '', /^# tests \d+$/);
    assert.ok(tail.includes(`# pass ${c.pass}`), tail.join('\n'));
    assert.ok(tail.includes(`# fail ${c.fail}`), tail.join('\n'));
    assert.match(r.lines.at(-1) ?? '', /^# duration_ms [\d.]+$/);
  });
}

test('npm test with a failing check prints "N passed, N failed" last', () => {
  // EDGECA_TEST_CHECKS=1 runs the typecheck and lint on the whole repository; lint of an unformatted
  // fixture is not involved (it lives outside the checkout), so only the repository's own state counts.
  const r = runner([passing], { EDGECA_TEST_CHECKS: '1' });
  const checksOk = /== typecheck: ok/.test(r.stdout) && /== lint: ok/.test(r.stdout);
  if (checksOk) {
    assert.equal(r.status, 0);
    assert.match(r.lines.at(-1) ?? '', /^# duration_ms/);
  } else {
    assert.equal(r.status, 1);
    assert.match(r.lines.at(-1) ?? '', /^1 passed, [1-2] failed$/);
  }
});

test('npm test refuses a path that does not exist', () => {
  const r = runner([join(dir, 'nope')]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /no such file or directory/);
});

test('npm test counts a file whose tests come from a shared table runner as run', () => {
  const sub = join(dir, 'shared-runner');
  mkdirSync(sub);
  writeFileSync(
    join(sub, 'table.ts'),
    "import { test } from 'node:test';\nexport function table(names: string[]) { for (const n of names) test(n, () => {}); }\n",
  );
  writeFileSync(
    join(sub, 'rows.test.ts'),
    "import { table } from './table.ts';\ntable(['one row', 'another row']);\n",
  );
  const r = runner([sub]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.doesNotMatch(r.stdout, /reported no result/);
  assert.ok(r.lines.includes('# pass 2'));
});
