// `npm start` as a newcomer runs it, driven from a test: in a copy of the checkout (the real
// .edgeca/dev and dist/ are left alone), as a detached process group, with only the variables a
// shell would hand it; polled with a bound, and stopped with Ctrl-C, killing whatever the pid
// file still names when it does not stop in time.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { freePort } from '../../harness/ports.ts';
import { waitFor } from '../../harness/wait.ts';
import { ROOT } from '../../scripts/lib/ensure.ts';
import { copyCheckout } from './checkout-copy.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Two free ports in a row on 127.0.0.1 (signer-1 and signer-2), found within a bounded search. */
export async function twoFreePorts(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const p = await freePort();
    if (p >= 65535) continue;
    const ok = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(p + 1, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (ok) return p;
  }
  throw new Error('no two free ports in a row on 127.0.0.1');
}

export interface Started {
  proc: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

/** `npm start` (package.json: node scripts/bootstrap.mjs start) in the copy, with these variables. */
export function npmStart(repo: string, vars: Record<string, string>): Started {
  const env: NodeJS.ProcessEnv = {};
  // Only what a shell would hand it: no EDGECA_* of the test's own, no test-runner context.
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('EDGECA_') && k !== 'NODE_TEST_CONTEXT' && !k.startsWith('NODE_OPTIONS')) env[k] = v;
  }
  const proc = spawn(process.execPath, ['scripts/bootstrap.mjs', 'start'], {
    cwd: repo,
    env: { ...env, ...vars },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  const keep = (c: Buffer) => {
    out = (out + c.toString('utf8')).slice(-60_000);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return { proc, output: () => out, exited };
}

export const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Waits (bounded) until `f` gives a value, failing with the supervisor's output. */
export function until<T>(
  what: string,
  s: Started,
  f: () => T | undefined | Promise<T | undefined>,
  ms: number,
) {
  return waitFor(what, f, {
    timeoutMs: ms,
    giveUp: () => (s.proc.exitCode !== null ? 'npm start exited' : undefined),
    context: () => s.output().slice(-6000),
  });
}

/** Ctrl-C: SIGINT to the supervisor; then whatever the pid file still names is killed (bounded). */
export async function stopStart(s: Started, pidFile: string): Promise<number | null> {
  if (s.proc.exitCode === null) s.proc.kill('SIGINT');
  const code = await Promise.race([s.exited, sleep(60_000).then(() => 'timeout' as const)]);
  if (code === 'timeout') {
    s.proc.kill('SIGKILL');
    try {
      const rec = JSON.parse(readFileSync(pidFile, 'utf8')) as { services: Record<string, number> };
      for (const pgid of Object.values(rec.services)) {
        try {
          process.kill(-pgid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    } catch {
      // no pid file
    }
    throw new Error(`npm start did not stop within 60 s of SIGINT:\n${s.output().slice(-4000)}`);
  }
  return code;
}

/**
 * A copy of the checkout with node_modules linked, as a fresh clone after `npm ci` looks. The
 * copy keeps the files' times: npm start runs `npm ci` when package-lock.json is newer than
 * node_modules, and through the link that would empty the checkout's own node_modules under
 * every other test; so a checkout that needs `npm ci` is refused here instead.
 */
export function checkoutForStart(): string {
  const lock = statSync(join(ROOT, 'package-lock.json')).mtimeMs;
  const installed = join(ROOT, 'node_modules', '.package-lock.json');
  if (!existsSync(installed) || statSync(installed).mtimeMs < lock) {
    throw new Error('node_modules is older than package-lock.json: run `npm ci` in the checkout first');
  }
  const repo = copyCheckout('edgeca-start-');
  return repo;
}
