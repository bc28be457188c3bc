// The bench's printed report: issuance side by side (edgeca on Node, with its signer's store on a
// libSQL file and on PostgreSQL, Pebble, edgeca on Deno) with the edgeca/Pebble ratios; per level
// the CPU and memory of each server process and the SQL statements per issuance; server CPU per
// request kind; the signer next to the raw HSM and openssl; growth with the database's bytes.
import type { DbBytes, PurgeResult } from './growth.ts';
import type { LevelResult } from './issuance.ts';
import type { PerKindResult, SqlPerKind } from './per-kind.ts';
import type { SignerResults } from './signer.ts';
import { type SqlPerIssuance, sqlGroup } from './sql.ts';

export interface GrowthStep {
  storedOrders: number;
  seedSeconds: number;
  level: LevelResult;
  bytesBefore: DbBytes;
  bytesAfter: DbBytes;
}

export interface BenchResult {
  when: string;
  mode: string;
  machine: { cpus: number; model: string; node: string };
  /** 1, 5 and 15 minute load averages at the start and the end (the machine is shared) */
  load: { start: number[]; end: number[] };
  seconds: number;
  signer?: SignerResults;
  issuance: {
    target: string;
    levels: LevelResult[];
    chains: { chains: number; failed: number; firstFailure?: string; opensslChecked: number };
    perKind?: PerKindResult;
    sqlPerKind?: SqlPerKind;
  }[];
  postgresSkipped?: string;
  growth: GrowthStep[];
  /** the growth database purged with the clock past every retention */
  purge?: PurgeResult;
}

function table(head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    `| ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  const sep = `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(head), sep, ...cells.slice(1).map(line)].join('\n');
}

const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}×` : '—');
const f = (x: number | undefined) => (x === undefined ? '—' : x >= 100 ? x.toFixed(0) : x.toFixed(1));
const f2 = (x: number | undefined) => (x === undefined ? '—' : x >= 100 ? x.toFixed(0) : x.toFixed(2));
const mib = (bytes: number) => `${(bytes / 1048576).toFixed(bytes >= 1048576 * 100 ? 0 : 1)}`;
const split = (s: { main: number; other: number } | undefined) =>
  s ? `${f(s.main + s.other)} (${f(s.main)}+${f(s.other)})` : '—';

function issuanceSection(r: BenchResult, out: string[]): void {
  out.push('Issuance (closed loop, complete flows; CPU = all server processes per issuance)\n');
  const rows: (string | number)[][] = [];
  for (const t of r.issuance) {
    for (const l of t.levels) {
      const fin = l.requests.finalize;
      rows.push([
        t.target,
        l.concurrency,
        l.issued,
        f(l.perSecond),
        f(l.serverCpuMsPerIssuance),
        f(l.generatorCpuMsPerIssuance),
        f(l.flow.p50),
        f(l.requests.newOrder?.p50),
        `${f(fin?.p50)} / ${f(fin?.p90)} / ${f(fin?.p99)}`,
        l.errors,
      ]);
    }
  }
  out.push(
    table(
      [
        'server',
        'accounts',
        'issued',
        'issued/s',
        'server CPU ms/iss',
        'generator CPU ms/iss',
        'flow p50 ms',
        'newOrder p50',
        'finalize p50/p90/p99',
        'errors',
      ],
      rows,
    ),
  );
  const node = r.issuance.find((t) => t.target === 'edgeca (Node)');
  const pebble = r.issuance.find((t) => t.target === 'Pebble');
  if (node && pebble) {
    out.push('\nRatios edgeca (Node) / Pebble, same run\n');
    const ratioRows = node.levels.map((l) => {
      const p = pebble.levels.find((x) => x.concurrency === l.concurrency);
      return [
        l.concurrency,
        ratio(l.perSecond, p?.perSecond ?? 0),
        ratio(l.serverCpuMsPerIssuance, p?.serverCpuMsPerIssuance ?? 0),
        ratio(l.requests.finalize?.p99 ?? 0, p?.requests.finalize?.p99 ?? 0),
        p?.errors ? `Pebble had ${p.errors} errors` : '',
      ];
    });
    out.push(table(['accounts', 'issued/s', 'server CPU/iss', 'finalize p99', 'note'], ratioRows));
  }
  out.push(
    `\nChains verified: ${r.issuance.map((t) => `${t.target} ${t.chains.chains - t.chains.failed}/${t.chains.chains} (openssl ${t.chains.opensslChecked})`).join(', ')}`,
  );
  for (const t of r.issuance) {
    if (t.chains.firstFailure) out.push(`  ${t.target}: ${t.chains.firstFailure}`);
    for (const l of t.levels)
      for (const e of l.firstErrors) out.push(`  ${t.target} @${l.concurrency}: ${e}`);
  }
}

function sqlCell(
  s: SqlPerIssuance | undefined,
  groups: ('acme' | 'policy' | 'audit' | 'transaction')[],
): string {
  return s ? groups.map((g) => f(s.byGroup[g])).join(' / ') : '—';
}

function serverSection(r: BenchResult, out: string[]): void {
  out.push(
    '\nServer processes per level: CPU ms per issuance (main thread + other threads, from each thread’s schedstat), ' +
      'RSS at the end of the level, SQL statements per issuance (edge: ACME state / policy / audit+change log / batches; ' +
      'signer: issuance state / audit / transactions; a statement outside a batch or transaction commits on its own)\n',
  );
  const rows: (string | number)[][] = [];
  for (const t of r.issuance) {
    for (const l of t.levels) {
      const cpu = l.cpuMsPerIssuanceByRole ?? {};
      const rss = l.rssMiB ?? {};
      const main = cpu.edge ? 'edge' : 'pebble';
      rows.push([
        t.target,
        l.concurrency,
        split(cpu[main]),
        split(cpu.signer),
        split(cpu.postgres),
        [rss[main], rss.signer, rss.postgres].map((x) => (x === undefined ? '—' : f(x))).join(' / '),
        sqlCell(l.sql?.edge, ['acme', 'policy', 'audit', 'transaction']),
        sqlCell(l.sql?.signer, ['acme', 'audit', 'transaction']),
      ]);
    }
  }
  out.push(
    table(
      [
        'server',
        'accounts',
        'edge (or Pebble) ms/iss',
        'signer ms/iss',
        'PostgreSQL ms/iss',
        'RSS MiB edge/signer/PG',
        'edge SQL/iss',
        'signer SQL/iss',
      ],
      rows,
    ),
  );

  // Statements by kind at 8 accounts (every edgeca target that ran it).
  const cols: { name: string; s: SqlPerIssuance }[] = [];
  for (const t of r.issuance) {
    const l = t.levels.find((x) => x.concurrency === 8) ?? t.levels[0];
    if (l?.sql?.edge) cols.push({ name: `${t.target} edge`, s: l.sql.edge });
    if (l?.sql?.signer && !cols.some((c) => c.name.startsWith('signer') && t.target.includes('Deno')))
      cols.push({ name: `${t.target.replace('edgeca ', '')} signer`, s: l.sql.signer });
  }
  if (cols.length) {
    out.push(
      `\nSQL statements per issuance by kind (8 accounts; "batch" and "transaction" count multi-statement commits, not statements)\n`,
    );
    const kinds = [...new Set(cols.flatMap((c) => Object.keys(c.s.byKind)))];
    const order = { acme: 0, policy: 1, audit: 2, other: 3, transaction: 4 };
    kinds.sort(
      (a, b) =>
        order[sqlGroup(a)] - order[sqlGroup(b)] ||
        (cols[0]?.s.byKind[b] ?? 0) - (cols[0]?.s.byKind[a] ?? 0) ||
        a.localeCompare(b),
    );
    const rows2 = kinds.map((k) => [`${k} (${sqlGroup(k)})`, ...cols.map((c) => f2(c.s.byKind[k]))]);
    rows2.push(['all statements (batches and transactions apart)', ...cols.map((c) => f2(c.s.statements))]);
    out.push(table(['kind (group)', ...cols.map((c) => c.name)], rows2));
  }
}

function perKindSection(r: BenchResult, out: string[]): void {
  const withKinds = r.issuance.filter((t) => t.perKind);
  if (!withKinds.length) return;
  out.push(
    '\nServer CPU per request kind (one account, one request at a time; ms per request, all threads of each server process; "between requests": ms per issuance)\n',
  );
  const cols: { name: string; t: PerKindResult; role: string }[] = [];
  for (const t of withKinds) {
    const p = t.perKind as PerKindResult;
    for (const role of Object.keys(p.msPerIssuance)) cols.push({ name: `${t.target} ${role}`, t: p, role });
  }
  const kinds = [
    'newNonce',
    'newOrder',
    'authz',
    'challenge',
    'pollAuthz',
    'finalize',
    'pollOrder',
    'certificate',
    'between requests',
  ] as const;
  const rows: (string | number)[][] = [];
  for (const k of kinds) {
    if (!cols.some((c) => c.t.kinds[k])) continue;
    rows.push([
      k,
      ...cols.map((c) => {
        const kc = c.t.kinds[k];
        const s = kc?.msPerRequest[c.role];
        if (!kc || !s) return '—';
        const n = k === 'between requests' || kc.perIssuance === 1 ? '' : ` ×${f(kc.perIssuance)}`;
        return `${f2(s.main + s.other)}${n}`;
      }),
    ]);
  }
  rows.push([
    'per issuance (all kinds)',
    ...cols.map((c) => {
      const s = c.t.msPerIssuance[c.role];
      return s ? f2(s.main + s.other) : '—';
    }),
  ]);
  out.push(table(['request kind (×requests per issuance)', ...cols.map((c) => c.name)], rows));
  out.push(`issuances metered: ${withKinds.map((t) => `${t.target} ${t.perKind?.issued}`).join(', ')}`);
}

function sqlPerKindSection(r: BenchResult, out: string[]): void {
  const t = r.issuance.find((x) => x.sqlPerKind);
  if (!t?.sqlPerKind) return;
  out.push(
    `\nSQL statements per request kind (${t.target}, one request at a time; "between requests": per issuance)\n`,
  );
  const rows: (string | number)[][] = [];
  for (const [kind, v] of Object.entries(t.sqlPerKind)) {
    const edge = v.perRequest.edge ?? {};
    const total = (g: string) =>
      Object.entries(edge)
        .filter(([k]) => sqlGroup(k) === g)
        .reduce((n, [, x]) => n + x, 0);
    rows.push([
      kind,
      f2(total('acme')),
      f2(total('policy')),
      f2(total('transaction')),
      Object.entries(edge)
        .filter(([k]) => sqlGroup(k) !== 'transaction')
        .sort((a, b) => b[1] - a[1])
        .map(([k, n]) => `${k} ${f2(n)}`)
        .join(', '),
      f2(Object.values(v.perRequest.signer ?? {}).reduce((n, x) => n + x, 0)),
    ]);
  }
  out.push(table(['request kind', 'ACME state', 'policy', 'batches', 'edge statements', 'signer'], rows));
}

function signerSection(s: SignerResults, out: string[]): void {
  out.push('\nSigner (SoftHSM P-256 CA key)\n');
  const inProc = s.inProcessBuilderHsm.perSecond;
  const httpRow = (label: string, h: SignerResults['httpSign']) => {
    const c = h.cpuMsPerOpByRole;
    const cpu = [
      `signer ${split(c.signer)}`,
      ...(c.postgres ? [`PostgreSQL ${split(c.postgres)}`] : []),
    ].join(', ');
    return [`${label} (CPU ms/cert: ${cpu})`, h.concurrency, f(h.perSecond), ratio(h.perSecond, inProc)];
  };
  const rows: (string | number)[][] = [
    ['openssl speed ecdsap256 (sign/s)', 1, f(s.opensslEcdsaP256SignPerSecond ?? undefined), '—'],
    ['SoftHSM raw signatures, one at a time', 1, f(s.hsmOneInFlight.perSecond), '—'],
    ['SoftHSM raw signatures, session pool', s.hsmPool.concurrency, f(s.hsmPool.perSecond), '—'],
    ['certificates in-process (builder + HSM)', s.inProcessBuilderHsm.concurrency, f(inProc), '1.00×'],
    [
      'certificates, SignerService in-process (+ relay JWS, DB)',
      s.inProcessService.concurrency,
      f(s.inProcessService.perSecond),
      ratio(s.inProcessService.perSecond, inProc),
    ],
    httpRow('POST /v1/sign, libSQL file', s.httpSign),
  ];
  if (s.httpSignPostgres) rows.push(httpRow('POST /v1/sign, PostgreSQL', s.httpSignPostgres));
  out.push(table(['measure', 'in flight', 'per second', 'vs in-process'], rows));
  const rates: [string, SignerResults['hsmPool']][] = [
    ['SignerService in-process', s.inProcessService],
    ['POST /v1/sign, libSQL file', s.httpSign],
    ...(s.httpSignPostgres
      ? [['POST /v1/sign, PostgreSQL', s.httpSignPostgres] as [string, SignerResults['hsmPool']]]
      : []),
  ];
  for (const [name, x] of rates)
    if (x.errors)
      out.push(
        `  ${name}: ${x.errors} of ${x.count} failed (not counted in the rate), e.g. ${x.firstErrors?.[0] ?? '?'}`,
      );
  const sqlLine = (label: string, h: SignerResults['httpSign']) =>
    h.sql
      ? `  ${label}: ${f2(h.sql.statements)} statements + ${f2(h.sql.byGroup.transaction)} transactions per certificate (${Object.entries(
          h.sql.byKind,
        )
          .map(([k, n]) => `${k} ${f2(n)}`)
          .join(', ')}); RSS MiB ${Object.entries(h.rssMiB)
          .map(([k, v]) => `${k} ${f(v)}`)
          .join(', ')}`
      : '';
  out.push('Signer store statements per certificate (POST /v1/sign):');
  out.push(sqlLine('libSQL file', s.httpSign));
  if (s.httpSignPostgres) out.push(sqlLine('PostgreSQL', s.httpSignPostgres));
  out.push(
    `Signer chains verified: ${s.chainsVerified.chains - s.chainsVerified.failed}/${s.chainsVerified.chains}`,
  );
}

function growthSection(r: BenchResult, out: string[]): void {
  if (r.growth.length < 2) return;
  const first = r.growth[0] as GrowthStep;
  out.push('\nGrowth (edgeca on Node, 1 account; orders seeded straight into its libSQL file)\n');
  const cols = r.growth;
  const row = (name: string, pick: (g: GrowthStep) => string) => [name, ...cols.map(pick)];
  const p50 = (g: GrowthStep, k: 'newOrder' | 'finalize') => g.level.requests[k]?.p50;
  const bytesPerIssuance = (g: GrowthStep) =>
    g.level.issued ? (g.bytesAfter.used - g.bytesBefore.used) / g.level.issued : undefined;
  out.push(
    table(
      ['', ...cols.map((g) => `${g.storedOrders} orders`)],
      [
        row('newOrder p50 ms', (g) => f(p50(g, 'newOrder'))),
        row('  vs the first', (g) => ratio(p50(g, 'newOrder') ?? 0, p50(first, 'newOrder') ?? 0)),
        row('finalize p50 ms', (g) => f(p50(g, 'finalize'))),
        row('  vs the first', (g) => ratio(p50(g, 'finalize') ?? 0, p50(first, 'finalize') ?? 0)),
        row('issued', (g) => String(g.level.issued)),
        row('edge RSS MiB at the end', (g) => f(g.level.rssMiB?.edge)),
        row('database MiB in use', (g) => mib(g.bytesAfter.used)),
        row('bytes per seeded order', (g) => f(g.bytesBefore.used / Math.max(1, g.storedOrders))),
        row('bytes per real issuance', (g) => f(bytesPerIssuance(g))),
        row('seeding s', (g) => f(g.seedSeconds)),
      ],
    ),
  );
  // where a real issuance's bytes went, by table (from the largest step that has dbstat)
  const withTables = [...r.growth].reverse().find((g) => g.bytesBefore.byTable && g.bytesAfter.byTable);
  if (withTables?.bytesAfter.byTable && withTables.bytesBefore.byTable && withTables.level.issued) {
    const a = withTables.bytesAfter.byTable;
    const b = withTables.bytesBefore.byTable;
    const per = Object.entries(a)
      .map(([k, v]) => [k, (v - (b[k] ?? 0)) / withTables.level.issued] as const)
      .filter(([, v]) => v > 0)
      .sort((x, y) => y[1] - x[1]);
    out.push(
      `Bytes per real issuance by table and index (at ${withTables.storedOrders} orders; pages, so approximate): ${per
        .map(([k, v]) => `${k} ${f(v)}`)
        .join(', ')}`,
    );
  }
}

function purgeSection(r: BenchResult, out: string[]): void {
  const p = r.purge;
  const last = r.growth.at(-1);
  if (!p || !last) return;
  const orders = last.storedOrders + last.level.issued;
  const deleted = Object.values(p.counts).reduce((a, n) => a + (n ?? 0), 0);
  out.push(
    `\nAfter purging (the growth database, clock ${p.clockDays} days ahead, default retention): ${deleted} rows deleted in ${p.seconds} s (${p.runs} runs of at most 2 s, ${p.steps} statements; longest statement ${f(p.longestStepMs)} ms); in use ${mib(p.bytesBefore.used)} MiB before, ${mib(p.bytesAfter.used)} MiB after: ${f(p.bytesBefore.used / Math.max(1, orders))} bytes per stored order before, ${f(p.bytesAfter.used / Math.max(1, orders))} after. Rows: ${Object.entries(
      p.counts,
    )
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}`,
  );
}

export function formatReport(r: BenchResult): string {
  const out: string[] = [];
  out.push(
    `\nedgeca bench (${r.mode}, ${r.when}, ${r.machine.cpus} × ${r.machine.model}, Node ${r.machine.node}, ${r.seconds} s, load average ${r.load.start.join(' ')} at the start, ${r.load.end.join(' ')} at the end)\n`,
  );
  if (r.issuance.length) {
    issuanceSection(r, out);
    serverSection(r, out);
    perKindSection(r, out);
    sqlPerKindSection(r, out);
  }
  if (r.postgresSkipped) out.push(`\nSigner on PostgreSQL: skipped (${r.postgresSkipped})`);
  if (r.signer) signerSection(r.signer, out);
  growthSection(r, out);
  purgeSection(r, out);
  return `${out.join('\n')}\n`;
}
