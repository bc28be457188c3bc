// Server CPU per request kind, measured from the servers' side: one account runs complete flows
// one request at a time, and the CPU every server thread used (the scheduler's own nanosecond
// accounting, /proc/<pid>/task/*/schedstat) is read just before each request is sent and just after
// its answer arrives. With nothing else in flight, the difference is that request's cost,
// HTTP/TLS, JWS, SQL, relay and GC included; what runs between requests (validation after the
// challenge POST, anything the servers do on their own) is counted as "between requests".
import { randomBytes } from 'node:crypto';
import type { Http01Server } from '../harness/http01.ts';
import { BenchAccount, type Http, type Kind } from './client.ts';
import { getText, treePids, treeThreadCpuNs } from './proc.ts';
import { type Counts, parseCounter, type SqlSource } from './sql.ts';

export interface ServerProcess {
  /** edge, signer, postgres, pebble */
  role: string;
  pid: number;
}

type Split = { main: number; other: number };

export interface KindCost {
  /** requests of this kind per issuance */
  perIssuance: number;
  /** CPU ms per request (per issuance for "between requests"), by server role: main threads and the rest */
  msPerRequest: Record<string, Split>;
}

export interface PerKindResult {
  issued: number;
  errors: number;
  kinds: Partial<Record<Kind | 'between requests', KindCost>>;
  /** CPU ms per issuance by role (every kind and the time between requests) */
  msPerIssuance: Record<string, Split>;
}

/** Attributes server CPU to the request in flight; see the module comment. */
export class RequestMeter {
  private readonly roles: { role: string; pids: number[] }[];
  private last: Record<string, Split>;
  private readonly acc = new Map<string, { n: number; ns: Record<string, Split> }>();

  constructor(processes: ServerProcess[]) {
    const byRole = new Map<string, number[]>();
    for (const p of processes) byRole.set(p.role, [...(byRole.get(p.role) ?? []), p.pid]);
    this.roles = [...byRole].map(([role, pids]) => ({ role, pids: treePids(pids) }));
    this.last = this.read();
  }

  private read(): Record<string, Split> {
    const out: Record<string, Split> = {};
    for (const r of this.roles) out[r.role] = treeThreadCpuNs(r.pids);
    return out;
  }

  private add(kind: string, now: Record<string, Split>, countOne: boolean): void {
    let a = this.acc.get(kind);
    if (!a) {
      a = { n: 0, ns: {} };
      this.acc.set(kind, a);
    }
    if (countOne) a.n++;
    for (const r of this.roles) {
      const t = a.ns[r.role] ?? { main: 0, other: 0 };
      a.ns[r.role] = t;
      t.main += (now[r.role]?.main ?? 0) - (this.last[r.role]?.main ?? 0);
      t.other += (now[r.role]?.other ?? 0) - (this.last[r.role]?.other ?? 0);
    }
    this.last = now;
  }

  /** Just before a request is sent: what ran since the last answer was between requests. */
  before(): void {
    this.add('between requests', this.read(), false);
  }

  /** Just after the answer of a request of `kind` arrived. */
  after(kind: Kind): void {
    this.add(kind, this.read(), true);
  }

  result(issued: number, errors: number): PerKindResult {
    this.before();
    const ms = (ns: number) => Math.round(ns / 1e4) / 100;
    const kinds: PerKindResult['kinds'] = {};
    const total: Record<string, Split> = {};
    for (const [kind, a] of this.acc) {
      const msPerRequest: Record<string, Split> = {};
      for (const [role, t] of Object.entries(a.ns)) {
        // "between requests" is not a request: its figure is per issuance
        const per = Math.max(1, kind === 'between requests' ? issued : a.n);
        msPerRequest[role] = { main: ms(t.main / per), other: ms(t.other / per) };
        const tt = total[role] ?? { main: 0, other: 0 };
        total[role] = tt;
        tt.main += t.main;
        tt.other += t.other;
      }
      kinds[kind as Kind] = {
        perIssuance: Math.round((a.n / Math.max(1, issued)) * 100) / 100,
        msPerRequest,
      };
    }
    const msPerIssuance: Record<string, Split> = {};
    for (const [role, t] of Object.entries(total))
      msPerIssuance[role] = {
        main: ms(t.main / Math.max(1, issued)),
        other: ms(t.other / Math.max(1, issued)),
      };
    return { issued, errors, kinds, msPerIssuance };
  }
}

/** One account, complete flows one request at a time for `seconds`, every request metered. */
export async function runPerKind(o: {
  http: Http;
  http01: Http01Server;
  directoryUrl: string;
  seconds: number;
  processes: ServerProcess[];
  domain: string;
}): Promise<PerKindResult> {
  const acct = await BenchAccount.create(o.http, o.directoryUrl, new Map());
  // a first flow warms every path (JIT, prepared statements) before anything is metered
  await acct.issue(`${randomBytes(6).toString('hex')}.${o.domain}`, o.http01);
  const meter = new RequestMeter(o.processes);
  acct.meter = meter;
  let issued = 0;
  let errors = 0;
  const deadline = performance.now() + o.seconds * 1000;
  while (performance.now() < deadline) {
    try {
      await acct.issue(`${randomBytes(6).toString('hex')}.${o.domain}`, o.http01);
      issued++;
    } catch {
      errors++;
    }
  }
  return meter.result(issued, errors);
}

/** SQL statements per request of each kind, by counter source (edge, signer) and statement kind. */
export type SqlPerKind = Partial<
  Record<Kind | 'between requests', { requests: number; perRequest: Record<string, Counts> }>
>;

/**
 * Statements per request kind: one account, complete flows one request at a time, every server's
 * statement counter read just before each request and just after its answer. A read's own
 * statements (the edge's gauges) are measured once, idle, and taken off each interval; what runs
 * between requests (validation after the challenge POST) is counted apart.
 */
export async function runSqlPerKind(o: {
  http: Http;
  http01: Http01Server;
  directoryUrl: string;
  issuances: number;
  sources: SqlSource[];
  tlsCa: Buffer;
  domain: string;
}): Promise<SqlPerKind> {
  const acct = await BenchAccount.create(o.http, o.directoryUrl, new Map());
  await acct.issue(`${randomBytes(6).toString('hex')}.${o.domain}`, o.http01);
  const read = async () => {
    const out: Record<string, Counts> = {};
    for (const s of o.sources) out[s.role] = parseCounter(await getText(s.url, o.tlsCa), s.metric);
    return out;
  };
  const diff = (a: Record<string, Counts>, b: Record<string, Counts>, minus: Record<string, Counts> = {}) => {
    const out: Record<string, Counts> = {};
    for (const role of Object.keys(a)) {
      const d: Counts = {};
      for (const [k, n] of Object.entries(a[role] ?? {})) {
        const v = n - (b[role]?.[k] ?? 0) - (minus[role]?.[k] ?? 0);
        if (v > 0) d[k] = v;
      }
      out[role] = d;
    }
    return out;
  };
  const r0 = await read();
  const r1 = await read();
  const overhead = diff(r1, r0);
  let last = await read();
  const acc = new Map<string, { requests: number; sum: Record<string, Counts> }>();
  const add = (kind: string, d: Record<string, Counts>, counted: boolean) => {
    const a = acc.get(kind) ?? { requests: 0, sum: {} };
    acc.set(kind, a);
    if (counted) a.requests++;
    for (const [role, c] of Object.entries(d)) {
      const t = a.sum[role] ?? {};
      a.sum[role] = t;
      for (const [k, n] of Object.entries(c)) t[k] = (t[k] ?? 0) + n;
    }
  };
  const step = async (kind: string, counted: boolean) => {
    const now = await read();
    add(kind, diff(now, last, overhead), counted);
    last = now;
  };
  acct.meter = { before: () => step('between requests', false), after: (kind) => step(kind, true) };
  for (let i = 0; i < o.issuances; i++)
    await acct.issue(`${randomBytes(6).toString('hex')}.${o.domain}`, o.http01);
  const out: SqlPerKind = {};
  for (const [kind, a] of acc) {
    // "between requests" per issuance, every other kind per request
    const per = Math.max(1, kind === 'between requests' ? o.issuances : a.requests);
    const perRequest: Record<string, Counts> = {};
    for (const [role, c] of Object.entries(a.sum))
      perRequest[role] = Object.fromEntries(
        Object.entries(c).map(([k, n]) => [k, Math.round((n / per) * 100) / 100]),
      );
    out[kind as Kind] = { requests: a.requests, perRequest };
  }
  return out;
}
