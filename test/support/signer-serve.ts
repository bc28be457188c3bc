// `edgeca signer serve` as a child process: one that serves (started and awaited until healthy),
// one that is expected to stop at start-up, and the shape every start-up error must have: exit 1,
// one line on stderr naming the cause, no stack trace.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { type Child, spawnChild } from '../../harness/child.ts';
import { httpAnswers, waitFor } from '../../harness/wait.ts';

const run = promisify(execFile);
const CLI = resolve(import.meta.dirname, '../../bin/edgeca.mjs');

/** Waits (bounded) until the signer `child` answers 200 at `${url}/v1/health`; fails at once if it exits. */
export async function signerHealthy(child: Child, url: string, timeoutMs = 60_000): Promise<void> {
  const res = await waitFor(`${child.name} healthy at ${url}/v1/health`, httpAnswers(`${url}/v1/health`), {
    timeoutMs,
    giveUp: () => (child.exited() ? `${child.name} exited while starting` : undefined),
    context: () => child.output().slice(-6000),
  });
  await res.body?.cancel();
}

/** Starts `edgeca signer serve --config configFile` as `name`, listening at `url`; resolves once healthy. */
export async function serveSigner(
  name: string,
  configFile: string,
  url: string,
  env: Record<string, string> = {},
): Promise<Child> {
  const child = spawnChild(name, process.execPath, [CLI, 'signer', 'serve', '--config', configFile], {
    cwd: resolve(import.meta.dirname, '../..'),
    env: { NODE_TEST_CONTEXT: '', ...env },
  });
  try {
    await signerHealthy(child, url);
  } catch (e) {
    await child.stop();
    throw e;
  }
  return child;
}

export interface ServeResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `edgeca signer serve --config file` until it exits (bounded); a start-up error ends it. */
export async function serveUntilExit(
  configFile: string,
  env: Record<string, string> = {},
): Promise<ServeResult> {
  const childEnv: Record<string, string> = {
    ...(process.env as Record<string, string>),
    NODE_TEST_CONTEXT: '',
    ...env,
  };
  delete childEnv.SOFTHSM2_CONF; // the config alone says where the token is
  try {
    const r = await run(process.execPath, [CLI, 'signer', 'serve', '--config', configFile], {
      env: childEnv,
      timeout: 60_000,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number | string; stdout?: string; stderr?: string; killed?: boolean };
    if (err.killed) throw new Error(`signer serve did not exit within 60 s: ${err.stderr}`);
    return {
      code: typeof err.code === 'number' ? err.code : -1,
      stdout: err.stdout ?? '',
      stderr: err.stderr ?? '',
    };
  }
}

/**
 * Exit 1 and exactly one line on stderr from the signer, the start-up error, matching `cause`; no
 * stack trace. `moduleLines` matches lines a PKCS#11 module writes to stderr itself (tpm2-pkcs11
 * prints its errors whatever its log level), which are not the signer's to suppress.
 */
export function assertOneLineError(r: ServeResult, cause: RegExp, opts: { moduleLines?: RegExp } = {}): void {
  assert.equal(r.code, 1, `exit code; stderr: ${r.stderr}`);
  const lines = r.stderr
    .split('\n')
    .filter((l) => l.trim() !== '')
    .filter((l) => !opts.moduleLines?.test(l));
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0] as string, /^edgeca signer serve: /);
  assert.match(lines[0] as string, cause);
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
  assert.doesNotMatch(r.stdout, /"event":"listening"/);
}
