// The bench's printed table: issuance side by side (edgeca on Node, Pebble, edgeca on Deno) with
// the edgeca/Pebble ratios, the signer next to the raw HSM and openssl, and growth.
import type { LevelResult } from './issuance.ts';
import type { SignerResults } from './signer.ts';

export interface BenchResult {
  when: string;
  mode: string;
  machine: { cpus: number; model: string; node: string };
  seconds: number;
  signer: SignerResults;
  issuance: {
    target: string;
    levels: LevelResult[];
    chains: { chains: number; failed: number; firstFailure?: string; opensslChecked: number };
  }[];
  growth: { storedOrders: number; level: LevelResult }[];
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

export function formatReport(r: BenchResult): string {
  const out: string[] = [];
  out.push(
    `\nedgeca bench (${r.mode}, ${r.when}, ${r.machine.cpus} × ${r.machine.model}, Node ${r.machine.node}, ${r.seconds} s)\n`,
  );
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
      ];
    });
    out.push(table(['accounts', 'issued/s', 'server CPU/iss', 'finalize p99'], ratioRows));
  }
  out.push(
    `\nChains verified: ${r.issuance.map((t) => `${t.target} ${t.chains.chains - t.chains.failed}/${t.chains.chains} (openssl ${t.chains.opensslChecked})`).join(', ')}`,
  );
  for (const t of r.issuance) {
    if (t.chains.firstFailure) out.push(`  ${t.target}: ${t.chains.firstFailure}`);
    for (const l of t.levels)
      for (const e of l.firstErrors) out.push(`  ${t.target} @${l.concurrency}: ${e}`);
  }

  const s = r.signer;
  out.push('\nSigner (SoftHSM P-256 CA key)\n');
  const inProc = s.inProcessBuilderHsm.perSecond;
  out.push(
    table(
      ['measure', 'in flight', 'per second', 'vs in-process'],
      [
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
        [
          `certificates via POST /v1/sign (signer CPU ${f(s.httpSign.cpuMsPerOp)} ms/cert)`,
          s.httpSign.concurrency,
          f(s.httpSign.perSecond),
          ratio(s.httpSign.perSecond, inProc),
        ],
      ],
    ),
  );
  out.push(
    `Signer chains verified: ${s.chainsVerified.chains - s.chainsVerified.failed}/${s.chainsVerified.chains}`,
  );

  if (r.growth.length === 2) {
    const [a, b] = r.growth as [BenchResult['growth'][0], BenchResult['growth'][0]];
    out.push('\nGrowth (edgeca on Node, 1 account)\n');
    const row = (name: string, pick: (l: LevelResult) => number | undefined) => [
      name,
      f(pick(a.level)),
      f(pick(b.level)),
      ratio(pick(b.level) ?? 0, pick(a.level) ?? 0),
    ];
    out.push(
      table(
        ['p50 ms', `${a.storedOrders} orders`, `${b.storedOrders} orders`, 'ratio'],
        [row('newOrder', (l) => l.requests.newOrder?.p50), row('finalize', (l) => l.requests.finalize?.p50)],
      ),
    );
  }
  return `${out.join('\n')}\n`;
}
