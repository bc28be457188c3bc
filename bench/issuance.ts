// Closed-loop issuance load: N workers, each with its own account (created once, outside the
// measured window), each running complete flows back to back until the time is up. Measured:
// issuances/s, the servers' CPU per issuance (from /proc, all their processes), per-request
// latency percentiles, errors. Chains are kept for verification after the window.
import { randomBytes } from 'node:crypto';
import type { Http01Server } from '../harness/http01.ts';
import { BenchAccount, type Http, type Kind, type Latencies } from './client.ts';
import type { ServerProcess } from './per-kind.ts';
import { selfCpuMs, treeCpuMs, treePids, treeRssMiB, treeThreadCpuNs } from './proc.ts';
import { perIssuance, type SqlPerIssuance, type SqlProbe } from './sql.ts';

const ACCOUNT_ATTEMPTS = 3;

export interface Percentiles {
  n: number;
  p50: number;
  p90: number;
  p99: number;
}

export interface LevelResult {
  concurrency: number;
  seconds: number;
  issued: number;
  errors: number;
  firstErrors: string[];
  perSecond: number;
  serverCpuMsPerIssuance: number;
  generatorCpuMsPerIssuance: number;
  flow: Percentiles;
  requests: Partial<Record<Kind, Percentiles>>;
  /** CPU ms per issuance of each server role (edge, signer, postgres, pebble), main thread + the rest */
  cpuMsPerIssuanceByRole?: Record<string, { main: number; other: number }>;
  /** resident memory of each server role at the end of the level */
  rssMiB?: Record<string, number>;
  /** SQL statements per issuance, by counter source (edge, signer) */
  sql?: Record<string, SqlPerIssuance>;
  /** the measured window on the monotonic clock in µs (V8 CPU profiles use the same clock) */
  windowUs: [number, number];
}

/** Now on the monotonic clock, in µs: the clock of V8's CPU profiles, in any process. */
export const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

export function percentiles(values: number[]): Percentiles {
  const v = [...values].sort((a, b) => a - b);
  const at = (q: number) => (v.length ? (v[Math.min(v.length - 1, Math.floor(q * v.length))] ?? 0) : 0);
  const r = (x: number) => Math.round(x * 100) / 100;
  return { n: v.length, p50: r(at(0.5)), p90: r(at(0.9)), p99: r(at(0.99)) };
}

export interface LevelOptions {
  http: Http;
  http01: Http01Server;
  directoryUrl: string;
  concurrency: number;
  seconds: number;
  /** root pids of every server process (their descendants are counted too) */
  serverPids: number[];
  /** where issued chains go (verified after the run) */
  chains: string[];
  /** the DNS suffix of the names requested (each flow a new random name) */
  domain: string;
  /** the servers' processes by role, for CPU and memory per role */
  processes?: ServerProcess[];
  /** the servers' SQL statement counters */
  sql?: SqlProbe;
}

function roleCpuNs(
  roles: { role: string; pids: number[] }[],
): Record<string, { main: number; other: number }> {
  const out: Record<string, { main: number; other: number }> = {};
  // the tree again at each read: a PostgreSQL backend started during the window counts from zero
  for (const r of roles) out[r.role] = treeThreadCpuNs(treePids(r.pids));
  return out;
}

export async function runLevel(o: LevelOptions): Promise<LevelResult> {
  const lat: Latencies = new Map();
  const setupErrors: string[] = [];
  // Set-up, not measured; a failed newAccount is retried (bounded) so one lost request does not end
  // the run. A worker whose account never comes up is dropped and counted as an error: a server that
  // stalls under load shows in the table instead of ending the whole bench.
  let lostWorkers = 0;
  const created = await Promise.all(
    Array.from({ length: o.concurrency }, async () => {
      for (let attempt = 1; attempt <= ACCOUNT_ATTEMPTS; attempt++) {
        try {
          return await BenchAccount.create(o.http, o.directoryUrl, new Map());
        } catch (e) {
          setupErrors.push(e instanceof Error ? e.message : String(e));
        }
      }
      lostWorkers++;
      return undefined;
    }),
  );
  const accounts = created.filter((a): a is BenchAccount => a !== undefined);
  // Account creation is set up, not measured: each account records into `lat` from here on.
  for (const a of accounts) a.lat = lat;
  const flows: number[] = [];
  const firstErrors: string[] = setupErrors.slice(0, 5).map((e) => `set-up (retried): ${e}`);
  let errors = lostWorkers;
  let issued = 0;
  const roles = [...new Set((o.processes ?? []).map((p) => p.role))].map((role) => ({
    role,
    pids: (o.processes ?? []).filter((p) => p.role === role).map((p) => p.pid),
  }));
  await o.sql?.start();
  const role0 = roleCpuNs(roles);
  const cpu0 = treeCpuMs(o.serverPids);
  const self0 = selfCpuMs();
  const w0 = monotonicUs();
  const t0 = performance.now();
  const deadline = t0 + o.seconds * 1000;
  await Promise.all(
    accounts.map(async (acct) => {
      // Bounded: the deadline ends the loop; each flow's polls are bounded in client.ts.
      while (performance.now() < deadline) {
        const name = `${randomBytes(6).toString('hex')}.${o.domain}`;
        const f0 = performance.now();
        try {
          const chain = await acct.issue(name, o.http01);
          flows.push(performance.now() - f0);
          o.chains.push(chain);
          issued++;
        } catch (e) {
          errors++;
          if (firstErrors.length < 5) firstErrors.push(e instanceof Error ? e.message : String(e));
        }
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const w1 = monotonicUs();
  const cpu = treeCpuMs(o.serverPids) - cpu0;
  const self = selfCpuMs() - self0;
  const role1 = roleCpuNs(roles);
  const sqlCounts = await o.sql?.stop();
  const perRole = (ns: number) => (issued ? Math.round(ns / issued / 1e5) / 10 : 0);
  const requests: Partial<Record<Kind, Percentiles>> = {};
  for (const [k, v] of lat) requests[k] = percentiles(v);
  const r1 = (x: number) => Math.round(x * 10) / 10;
  return {
    concurrency: o.concurrency,
    seconds: r1(seconds),
    issued,
    errors,
    firstErrors,
    perSecond: r1(issued / seconds),
    serverCpuMsPerIssuance: issued ? r1(cpu / issued) : 0,
    generatorCpuMsPerIssuance: issued ? r1(self / issued) : 0,
    flow: percentiles(flows),
    requests,
    windowUs: [w0, w1],
    ...(roles.length
      ? {
          cpuMsPerIssuanceByRole: Object.fromEntries(
            roles.map(({ role }) => [
              role,
              {
                main: perRole((role1[role]?.main ?? 0) - (role0[role]?.main ?? 0)),
                other: perRole((role1[role]?.other ?? 0) - (role0[role]?.other ?? 0)),
              },
            ]),
          ),
          rssMiB: Object.fromEntries(roles.map((r) => [r.role, treeRssMiB(r.pids)])),
        }
      : {}),
    ...(sqlCounts
      ? { sql: Object.fromEntries(Object.entries(sqlCounts).map(([k, c]) => [k, perIssuance(c, issued)])) }
      : {}),
  };
}
