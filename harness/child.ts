// A server as a child process in its own process group (so its CPU can be read apart and the
// whole group stopped), with its output kept for error messages. Used by the bench and by the
// runtime-matrix tests.
import { type ChildProcess, spawn } from 'node:child_process';

export interface Child {
  name: string;
  pid: number;
  output(): string;
  exited(): boolean;
  stop(): Promise<void>;
}

// Every child still running, so that a stopped bench or test run can stop those it had not yet
// taken note of (one started while the stop was under way included).
const live = new Set<Child>();
let closing = false;

/** Stops every child still running, and any started from now on as soon as it starts. */
export async function stopEveryChild(): Promise<void> {
  closing = true;
  await Promise.all([...live].map((c) => c.stop()));
}

export function spawnChild(
  name: string,
  cmd: string,
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string },
): Child {
  const child: ChildProcess = spawn(cmd, args, {
    cwd: opts.cwd,
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 400_000) out = out.slice(-200_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited = false;
  const exit = new Promise<void>((r) =>
    child.once('exit', () => {
      exited = true;
      r();
    }),
  );
  const signal = (sig: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, sig);
    } catch {
      // already gone
    }
  };
  if (!child.pid) throw new Error(`${name}: could not start ${cmd}`);
  const handle: Child = {
    name,
    pid: child.pid,
    output: () => out,
    exited: () => exited,
    async stop() {
      if (exited) return;
      signal('SIGTERM');
      const killer = setTimeout(() => signal('SIGKILL'), 5000);
      await exit;
      clearTimeout(killer);
    },
  };
  live.add(handle);
  void exit.then(() => live.delete(handle));
  if (closing) void handle.stop();
  return handle;
}
