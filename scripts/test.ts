// `npm test`: installs what the tests need (npm deps, Debian packages), then runs the typecheck,
// the linter, `npm audit --audit-level=high` (whole runs only) and every `*.test.ts` in the
// repository (discovered, never listed; dependency and state folders aside) with node's test
// runner. A discovered file that reported no result fails the run. The last lines printed are the test runner's TAP summary (`# pass N`, `# fail N`); when
// the typecheck or lint failed, one more line `N passed, N failed` follows so the failure shows.
//
//   npm test                          everything (what CI runs)
//   npm test -- signer/ edge/foo.test.ts   a subset (typecheck and lint are skipped unless EDGECA_TEST_CHECKS=1)
//   EDGECA_TEST_QUICK=1 npm test      skip the slow interop tests (files under test/interop/ or *.interop.test.ts)
//   EDGECA_TEST_CONCURRENCY=2         test files run in parallel (default 1: interop tests use fixed ports)
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { ensureDebianPackages, ensureNpmDeps, orExit, ROOT, TEST_PACKAGES } from './lib/ensure.ts';
import { filesNotRun, findTests } from './lib/test-files.ts';

const TEST_TIMEOUT_MS = Number(process.env.EDGECA_TEST_TIMEOUT_MS ?? 300_000);

function isInterop(file: string): boolean {
  const rel = relative(ROOT, file).split('\\').join('/');
  return rel.startsWith('test/interop/') || rel.endsWith('.interop.test.ts');
}

/** Runs a command with output passed through; resolves to its exit status. */
function run(
  cmd: string,
  args: string[],
  onStdout?: (chunk: Buffer) => void,
  extraEnv: Record<string, string> = {},
): Promise<number> {
  return new Promise((resolvePromise) => {
    // NODE_TEST_CONTEXT set by an outer test runner would make ours report to it, not to us.
    const { NODE_TEST_CONTEXT: _, ...inherited } = process.env;
    const env = { ...inherited, ...extraEnv };
    const child = spawn(cmd, args, {
      cwd: ROOT,
      env,
      stdio: ['ignore', onStdout ? 'pipe' : 'inherit', 'inherit'],
    });
    if (onStdout) child.stdout?.on('data', onStdout);
    child.on('error', (err) => {
      process.stderr.write(`${cmd}: ${err.message}\n`);
      resolvePromise(1);
    });
    child.on('close', (code, signal) => resolvePromise(code ?? (signal ? 128 : 1)));
  });
}

async function check(name: string, cmd: string, args: string[]): Promise<boolean> {
  process.stdout.write(`\n== ${name}: ${[cmd, ...args].map((a) => relative(ROOT, a) || a).join(' ')}\n`);
  const status = await run(cmd, args);
  process.stdout.write(`== ${name}: ${status === 0 ? 'ok' : `FAILED (exit ${status})`}\n`);
  return status === 0;
}

/**
 * `npm audit --audit-level=high`: no known high or critical vulnerability in the
 * dependency tree. It needs the registry's audit endpoint. Where the registry refuses that endpoint
 * (a mirror answering 405, as the one this project's machines and CI reach does), there is no report
 * to judge: the check says so and is skipped, in CI too. A report with findings always fails it.
 */
/** What `npm audit --json` prints: a report, or the registry's error. */
interface AuditOutput {
  message?: string;
  error?: { summary?: string };
  metadata?: { vulnerabilities?: { high?: number; critical?: number } };
}

async function auditCheck(): Promise<boolean> {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  process.stdout.write('\n== audit: npm audit --audit-level=high\n');
  let out = '';
  const status = await run(npm, ['audit', '--audit-level=high', '--json'], (chunk: Buffer) => {
    out += chunk.toString('utf8');
  });
  let report: AuditOutput | undefined;
  try {
    report = JSON.parse(out) as AuditOutput;
  } catch {
    report = undefined;
  }
  // No `metadata`: the endpoint answered with an error (or not at all), not with a report.
  const endpointDown = report === undefined || report.error !== undefined || report.metadata === undefined;
  if (status !== 0 && endpointDown) {
    const why = report?.message ?? report?.error?.summary ?? 'no answer';
    process.stdout.write(`== audit: skipped: the registry gave no audit report (${why})\n`);
    return true;
  }
  const v = report?.metadata?.vulnerabilities ?? {};
  process.stdout.write(
    `== audit: ${status === 0 ? 'ok' : 'FAILED'} (high ${v.high ?? '?'}, critical ${v.critical ?? '?'}${endpointDown ? `; no report: ${report?.message ?? report?.error?.summary ?? 'no answer'}` : ''})\n`,
  );
  return status === 0;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  await orExit(() => {
    ensureNpmDeps();
    ensureDebianPackages(TEST_PACKAGES);
  });

  const subset = args.length > 0;
  const bin = (name: string) => join(ROOT, 'node_modules', '.bin', name);
  let checksFailed = 0;
  if (!subset || process.env.EDGECA_TEST_CHECKS === '1') {
    if (!(await check('typecheck', bin('tsc'), ['--noEmit', '-p', '.']))) checksFailed++;
    if (!(await check('lint', bin('biome'), ['check', '.']))) checksFailed++;
  }
  if (!subset && !(await auditCheck())) checksFailed++;

  const roots = subset ? args.map((a) => resolve(process.cwd(), a)) : [ROOT];
  const missing = roots.filter((r) => !existsSync(r));
  if (missing.length > 0) {
    process.stderr.write(`no such file or directory: ${missing.map((m) => relative(ROOT, m)).join(', ')}\n`);
    return 2;
  }
  let files = [...new Set(roots.flatMap((r) => findTests(r)))];
  const quick = process.env.EDGECA_TEST_QUICK === '1' && process.env.CI !== 'true';
  if (quick) {
    const skipped = files.filter(isInterop);
    files = files.filter((f) => !isInterop(f));
    if (skipped.length > 0)
      process.stdout.write(`EDGECA_TEST_QUICK=1: skipping ${skipped.length} interop file(s)\n`);
  }

  let pass = 0;
  let fail = 0;
  let testStatus = 0;
  let summaryMissing = false;
  process.stdout.write(`\n== tests: ${files.length} file(s)\n`);
  if (files.length === 0) {
    process.stdout.write('# tests 0\n# pass 0\n# fail 0\n');
  } else {
    const concurrency = Math.max(1, Number(process.env.EDGECA_TEST_CONCURRENCY ?? 1) || 1);
    let tail = '';
    const reportDir = mkdtempSync(join(tmpdir(), 'edgeca-test-files-'));
    const ranFile = join(reportDir, 'ran.txt');
    testStatus = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        '--import',
        join(ROOT, 'scripts', 'lib', 'ran-marker.ts'),
        '--test',
        '--test-reporter=tap',
        `--test-concurrency=${concurrency}`,
        `--test-timeout=${TEST_TIMEOUT_MS}`,
        ...files.map((f) => relative(ROOT, f)),
      ],
      (chunk: Buffer) => {
        process.stdout.write(chunk);
        tail = (tail + chunk.toString('utf8')).slice(-4096);
      },
      { EDGECA_TEST_RAN_LOG: ranFile },
    );
    const passLine = /^# pass (\d+)$/m.exec(tail);
    pass = Number(passLine?.[1] ?? 0);
    fail = Number(/^# fail (\d+)$/m.exec(tail)?.[1] ?? 0);
    // A runner that died before its summary still counts as a failure, and says so last.
    if (testStatus !== 0 && fail === 0) fail = 1;
    summaryMissing = !passLine;
    const notRun = filesNotRun(files, ranFile);
    rmSync(reportDir, { recursive: true, force: true });
    if (notRun.length > 0) {
      process.stdout.write(
        `\n== tests: ${notRun.length} test file(s) reported no result: ${notRun.map((f) => relative(ROOT, f)).join(', ')}\n`,
      );
      checksFailed++;
    }
  }

  if (checksFailed > 0 || summaryMissing)
    process.stdout.write(`${pass} passed, ${fail + checksFailed} failed\n`);
  return checksFailed > 0 || testStatus !== 0 ? 1 : 0;
}

process.exitCode = await main();
