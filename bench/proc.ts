// Child processes for the bench: servers run as separate processes (own process group) so their
// CPU time can be read from /proc apart from the load generator's, and every wait is bounded.
import { readdirSync, readFileSync } from 'node:fs';
import { request as requestHttp } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** Linux USER_HZ: /proc/<pid>/stat counts CPU time in these ticks (getconf CLK_TCK). */
const CLK_TCK = 100;

export { type Child, spawnChild } from '../harness/child.ts';

import type { Child } from '../harness/child.ts';
import { NotYet, waitFor } from '../harness/wait.ts';

/** Waits (bounded) until `url` (HTTPS trusting `ca`) answers 2xx; throws with the child's output otherwise. */
export async function waitReady(child: Child, url: string, ca: Buffer, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    `${child.name} answering ${url}`,
    () =>
      new Promise<true | NotYet>((resolve, reject) => {
        const u = new URL(url);
        const req = (u.protocol === 'https:' ? httpsRequest : requestHttp)(
          u,
          { method: 'GET', ca, timeout: 2000 },
          (res) => {
            res.resume();
            const status = res.statusCode ?? 0;
            res.on('end', () => resolve(status >= 200 && status < 300 ? true : new NotYet(`HTTP ${status}`)));
          },
        );
        req.on('timeout', () => req.destroy(new Error('no answer within 2 s')));
        req.on('error', reject);
        req.end();
      }),
    {
      timeoutMs,
      intervalMs: 200,
      giveUp: () => (child.exited() ? `${child.name} exited during start-up` : undefined),
      context: () => child.output().slice(-3000),
    },
  );
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Stat {
  ppid: number;
  cpuTicks: number;
}

function readStat(pid: number): Stat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may hold spaces and parentheses: fields after the last ')' are fixed.
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
    return { ppid: Number(rest[1]), cpuTicks: Number(rest[11]) + Number(rest[12]) };
  } catch {
    return undefined;
  }
}

/** CPU milliseconds (user + system) used so far by the processes rooted at `pids`, descendants included. */
export function treeCpuMs(pids: number[]): number {
  const all = new Map<number, Stat>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const s = readStat(Number(d));
    if (s) all.set(Number(d), s);
  }
  const inTree = new Set(pids);
  // Parents precede children rarely in pid order; iterate until the set stops growing (bounded).
  for (let pass = 0; pass < 16; pass++) {
    let grew = false;
    for (const [pid, s] of all) {
      if (!inTree.has(pid) && inTree.has(s.ppid)) {
        inTree.add(pid);
        grew = true;
      }
    }
    if (!grew) break;
  }
  let ticks = 0;
  for (const pid of inTree) ticks += all.get(pid)?.cpuTicks ?? 0;
  return (ticks * 1000) / CLK_TCK;
}

/** CPU ms of this process (the load generator). */
export function selfCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** The processes rooted at `pids` (descendants included), by reading every /proc/<pid>/stat. */
export function treePids(pids: number[]): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const s = readStat(Number(d));
    if (s) parent.set(Number(d), s.ppid);
  }
  const inTree = new Set(pids.filter((p) => parent.has(p)));
  for (let pass = 0; pass < 16; pass++) {
    let grew = false;
    for (const [pid, ppid] of parent) {
      if (!inTree.has(pid) && inTree.has(ppid)) {
        inTree.add(pid);
        grew = true;
      }
    }
    if (!grew) break;
  }
  return [...inTree];
}

function statusKb(text: string, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

/**
 * Resident memory of the processes rooted at `pids`, in MiB: private and file-backed pages of each
 * (RssAnon + RssFile), plus the largest shared-memory share once (PostgreSQL's backends all map
 * its shared buffers; counting them per backend would multiply them). For one process this is its VmRSS.
 */
export function treeRssMiB(pids: number[]): number {
  let kb = 0;
  let shmem = 0;
  for (const pid of treePids(pids)) {
    try {
      const text = readFileSync(`/proc/${pid}/status`, 'utf8');
      kb += statusKb(text, 'RssAnon') + statusKb(text, 'RssFile');
      shmem = Math.max(shmem, statusKb(text, 'RssShmem'));
    } catch {
      // gone meanwhile
    }
  }
  return Math.round(((kb + shmem) / 1024) * 10) / 10;
}

/**
 * CPU nanoseconds used so far by every thread of the processes rooted at `pids`, from the
 * scheduler's own accounting (/proc/<pid>/task/<tid>/schedstat, exact where /proc/<pid>/stat
 * counts 10 ms ticks): `main` is the processes' main threads, `other` the rest (libuv's pool, where
 * WebCrypto runs, and V8's helpers, where much of GC runs). Threads that ended are not counted.
 */
export function treeThreadCpuNs(pids: number[]): { main: number; other: number } {
  let main = 0;
  let other = 0;
  for (const pid of pids) {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        const ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
        if (Number(tid) === pid) main += ns;
        else other += ns;
      } catch {
        // thread ended meanwhile
      }
    }
  }
  return { main, other };
}

/** GET `url` (HTTPS trusting `ca`), its body; throws on a non-2xx answer. Bounded by `timeoutMs`. */
export function getText(url: string, ca: Buffer, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = (u.protocol === 'https:' ? httpsRequest : requestHttp)(
      u,
      { method: 'GET', ca, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString();
          if ((res.statusCode ?? 0) >= 300)
            reject(new Error(`GET ${url}: ${res.statusCode} ${body.slice(0, 200)}`));
          else resolve(body);
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout: GET ${url}`)));
    req.on('error', reject);
    req.end();
  });
}
