// Child-process supervision for `npm start`: start a service with its output prefixed, poll a
// health URL with a bound, and stop everything on Ctrl-C or when one service dies.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable, Writable } from 'node:stream';
import { NotYet, waitFor } from '../../harness/wait.ts';
import { writeWhole } from './write-whole.ts';

/** Copies a stream to out with `[name] ` before each line. */
function prefixLines(stream: Readable, out: Writable, name: string): void {
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) out.write(`[${name}] ${line}\n`);
  });
  stream.on('end', () => {
    if (partial) out.write(`[${name}] ${partial}\n`);
  });
}

/** How a service is started: its working directory, environment and program (default: this Node). */
export interface LaunchOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  command?: string;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A started service: its process, how it ended, and a bounded stop. */
export interface Service {
  name: string;
  readonly child: ChildProcess;
  readonly running: boolean;
  stop(graceMs?: number): Promise<Exit>;
}

/**
 * Starts `node args...` (or `command args...`) as a named service in its own process group (so a terminal's Ctrl-C
 * reaches only this supervisor, which then stops the services in order).
 */
export function startService(
  name: string,
  args: string[],
  { cwd, env, command = process.execPath }: LaunchOptions,
): Service & { exited: Promise<Exit> } {
  const child = spawn(command, args, {
    cwd,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  prefixLines(child.stdout, process.stdout, name);
  prefixLines(child.stderr, process.stderr, name);
  const exited = new Promise<Exit>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
    child.on('error', (err) => {
      process.stderr.write(`[${name}] could not start: ${err.message}\n`);
      resolve({ code: 1, signal: null });
    });
  });
  let done = false;
  exited.then(() => {
    done = true;
  });
  return {
    name,
    child,
    exited,
    get running() {
      return !done;
    },
    /** SIGTERM, then SIGKILL after graceMs; resolves once the process is gone. */
    async stop(graceMs = 10_000) {
      if (done) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (!done) child.kill('SIGKILL');
      }, graceMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}

/** One GET; resolves to the HTTP status, or rejects on a connection error. TLS verified against caFile. */
export function getStatus(
  url: string,
  { caFile, timeoutMs = 2_000 }: { caFile?: string; timeoutMs?: number } = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
    const options: RequestOptions & { ca?: Buffer } = { method: 'GET', timeout: timeoutMs };
    if (u.protocol === 'https:' && caFile) options.ca = readFileSync(caFile);
    const req = request(u, options, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Polls url until it answers 200, the service exits, or timeoutMs passes. Returns undefined when
 * healthy, else a reason.
 */
export async function waitHealthy(
  url: string,
  service: Pick<Service, 'name' | 'running'>,
  {
    caFile,
    timeoutMs = 60_000,
    intervalMs = 250,
  }: { caFile?: string; timeoutMs?: number; intervalMs?: number } = {},
): Promise<string | undefined> {
  try {
    await waitFor(
      `${service.name} healthy at ${url}`,
      async () => {
        const status = await getStatus(url, { caFile });
        return status === 200 ? true : new NotYet(`HTTP ${status}`);
      },
      {
        timeoutMs,
        intervalMs,
        giveUp: () => (service.running ? undefined : `${service.name} exited before it became healthy`),
      },
    );
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

const RESTART_LIMIT = 10;
const RESTART_WINDOW_MS = 60_000;
const RESTART_DELAY_MS = 500;

/**
 * Runs named services and keeps them running. Until `steady()` is called (everything came up
 * healthy), a service that exits stops everything (a bad configuration fails fast with its own
 * message). After that, a service that dies — a crash, `kill -9` — is restarted after a short
 * delay: state lives in the databases and the HSM token, so nothing is lost. More than
 * RESTART_LIMIT restarts within RESTART_WINDOW_MS stops everything and exits non-zero.
 */
export function createSupervisor({
  log = (m: string) => void process.stderr.write(`[edgeca] ${m}\n`),
  pidFile = undefined as string | undefined,
} = {}) {
  const services: Service[] = [];
  let stopping = false;
  let isSteady = false;
  // The process group of each running service by name ({"supervisor": PID, "services": {"signer-1":
  // PGID, ...}}): outside tools stop or kill one service by it, and a later start cleans up after a
  // supervisor that was itself killed (its services run in their own groups and would linger).
  // Written through a rename, so a reader never sees half of it.
  const recordPids = () => {
    if (!pidFile) return;
    const groups = Object.fromEntries(services.filter((s) => s.running).map((s) => [s.name, s.child.pid]));
    writeWhole(pidFile, `${JSON.stringify({ supervisor: process.pid, services: groups })}\n`);
  };

  const stopAll = async () => {
    // Reverse start order: the edge first, so it does not relay to a signer that is gone.
    for (const s of [...services].reverse()) await s.stop();
  };
  const giveUp = async (code: number | null) => {
    stopping = true;
    await stopAll();
    if (pidFile) rmSync(pidFile, { force: true });
    process.exit(code && code !== 0 ? code : 1);
  };

  function launch(name: string, args: string[], opts: LaunchOptions): Service {
    const handle = {
      name,
      proc: startService(name, args, opts),
      restarts: [] as number[],
      stopped: false,
      get child() {
        return handle.proc.child;
      },
      get running() {
        return handle.proc.running;
      },
      async stop(graceMs?: number) {
        handle.stopped = true;
        return handle.proc.stop(graceMs);
      },
    };
    const watch = () =>
      handle.proc.exited.then(async ({ code, signal }) => {
        if (stopping || handle.stopped) return;
        const why = signal ?? `code ${code}`;
        const now = Date.now();
        handle.restarts = handle.restarts.filter((t) => t > now - RESTART_WINDOW_MS);
        if (!isSteady || handle.restarts.length >= RESTART_LIMIT) {
          log(
            `${name} exited (${why})${isSteady ? `, ${RESTART_LIMIT} times within a minute` : ''}; stopping everything`,
          );
          await giveUp(code);
          return;
        }
        handle.restarts.push(now);
        recordPids();
        log(`${name} exited (${why}); restarting it`);
        await new Promise((r) => setTimeout(r, RESTART_DELAY_MS));
        if (stopping || handle.stopped) return;
        handle.proc = startService(name, args, opts);
        recordPids();
        watch();
      });
    watch();
    services.push(handle);
    recordPids();
    return handle;
  }

  return {
    launch,
    /** everything is up: from now on a dead service is restarted */
    steady: () => {
      isSteady = true;
    },
    get stopping() {
      return stopping;
    },
    /** stops every service (reverse start order) and exits with `code` */
    async shutdown(code = 0) {
      if (stopping) return;
      stopping = true;
      await stopAll();
      if (pidFile) rmSync(pidFile, { force: true });
      process.exit(code);
    },
    /** SIGKILL whatever still runs (process exit, last resort) */
    killAll() {
      for (const s of services) if (s.running) s.child.kill('SIGKILL');
    },
  };
}

/**
 * Whether a command line (argv, as /proc/PID/cmdline holds it) is an `npm start` supervisor:
 * `node scripts/bootstrap.mjs start ...` (what npm runs) or `node --import tsx scripts/start.ts`.
 */
export function isStartCommand(argv: string[]): boolean {
  const boot = argv.findIndex((a) => /(^|\/)scripts\/bootstrap\.mjs$/.test(a));
  if (boot >= 0 && argv[boot + 1] === 'start') return true;
  return argv.some((a) => /(^|\/)scripts\/start\.ts$/.test(a));
}

/**
 * Stops the services a previous supervisor left behind (it was killed, so it could not stop
 * them): the process groups recorded in `pidFile`, if that supervisor is gone and the group still
 * runs one of our services. Bounded: SIGTERM, then SIGKILL after 3 s.
 */
export async function reapStale(
  pidFile: string,
  log = (m: string) => void process.stderr.write(`[edgeca] ${m}\n`),
): Promise<void> {
  if (!existsSync(pidFile)) return;
  let rec: { supervisor?: number; services?: Record<string, unknown>; groups?: unknown };
  try {
    rec = JSON.parse(readFileSync(pidFile, 'utf8'));
  } catch {
    rmSync(pidFile, { force: true });
    return;
  }
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const isSupervisor = (pid: number) => {
    try {
      return isStartCommand(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'));
    } catch {
      return false;
    }
  };
  if (rec.supervisor && rec.supervisor !== process.pid && isSupervisor(rec.supervisor)) {
    throw new Error(`another npm start (pid ${rec.supervisor}) is running; stop it first (Ctrl-C there)`);
  }
  const ours = (pid: number) => {
    try {
      return /edgeca|wrangler|deno|workerd/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
    } catch {
      return false;
    }
  };
  // `services` by name; `groups`, a plain list, is what starts before services were named wrote.
  const recorded = [...Object.values(rec.services ?? {}), ...(Array.isArray(rec.groups) ? rec.groups : [])];
  const stale = recorded.filter(
    (pid): pid is number => Number.isInteger(pid) && alive(pid as number) && ours(pid as number),
  );
  for (const pid of stale) {
    log(`stopping a service left running by an earlier start (process group ${pid})`);
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      // gone already
    }
  }
  for (let i = 0; i < 30 && stale.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
  for (const pid of stale.filter(alive)) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  rmSync(pidFile, { force: true });
}
