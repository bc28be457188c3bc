// CPU by component from V8 .cpuprofile files (node --cpu-prof; BENCH_PROFILE_DIR writes them for
// the Node edge and the signer): every sample goes to the component of the innermost frame on its
// stack that names one (runtime internals such as node:internal/crypto are looked through, so an
// HMAC is charged to the nonce code that asked for it). SQL is split by layer (native prepare,
// native run, client, drizzle, repositories): the statement that ran is not on the stack, as every
// query reaches the driver after an await. A profile sees the main thread only: what runs on
// libuv's pool (WebCrypto jobs) and V8's helper threads is not in it (the bench reports those
// threads' CPU apart).
//   node --import tsx bench/components.ts [--ms=MAIN_THREAD_MS_PER_ISSUANCE] FILE.cpuprofile...
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

interface Frame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface Node {
  id: number;
  callFrame: Frame;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
}

type Rule = [component: string, test: (f: Frame, file: string) => boolean];

const pkg = (...names: string[]) => {
  const re = new RegExp(`node_modules/(${names.map((n) => n.replace(/[/.]/g, '\\$&')).join('|')})/`);
  return (f: Frame) => re.test(f.url);
};
const repo =
  (...dirs: string[]) =>
  (_f: Frame, file: string) =>
    dirs.some((d) => file.startsWith(d));

/** The component of a frame, or undefined to look further up the stack. First match wins. */
const RULES: Rule[] = [
  ['GC', (f) => f.functionName === '(garbage collector)'],
  ['(program): native code and V8 outside JS', (f) => f.functionName === '(program)'],
  [
    'module loading (start-up, tsx)',
    (f) => /^node:internal\/(modules|bootstrap)/.test(f.url) || pkg('tsx', 'esbuild')(f),
  ],
  [
    'request log (console.log to stdout)',
    (f) => f.functionName === 'consoleCall' || f.url.startsWith('node:internal/console'),
  ],
  [
    'JSON parse/stringify',
    (f) => f.url === '' && /^(parse|stringify|JSONParse|JSONStringify)$/.test(f.functionName),
  ],
  [
    'key imports (WebCrypto importKey, jose importJWK)',
    (f) =>
      /^(importKey|importJWK|importSPKI|importPKCS8|importX509|createPublicKey|createPrivateKey)$/.test(
        f.functionName,
      ),
  ],
  [
    'SQL: native prepare (libsql prepare per execute)',
    (f) => pkg('libsql')(f) && f.functionName === 'prepare',
  ],
  ['SQL: native run and row reads (libsql)', pkg('libsql')],
  [
    'SQL: @libsql/client (arguments, row objects)',
    pkg('@libsql/client', '@libsql/core', '@libsql/hrana-client'),
  ],
  ['SQL: drizzle-orm (query building, row mapping)', pkg('drizzle-orm')],
  ['SQL: PostgreSQL driver (postgres.js)', pkg('postgres')],
  [
    'SQL: repositories and wrappers',
    repo(
      'shared/libsql.ts',
      'shared/sql-statements.ts',
      'signer/store/sql.ts',
      'signer/store/libsql-engine.ts',
      'signer/store/postgres-engine.ts',
    ),
  ],
  ['nonces (HMAC, encoding)', repo('edge/storage/nonces.ts')],
  [
    'SHA-256 digests (WebCrypto digest jobs)',
    (f, file) => file === 'shared/encoding.ts' && f.functionName === 'sha256',
  ],
  [
    'CSR signature check (WebCrypto verify)',
    (f, file) => file === 'shared/csr.ts' && f.functionName === 'verifySignature',
  ],
  ['audit chain (signer: hashing, chain head)', repo('signer/store/audit.ts')],
  ['SQL: repositories and wrappers', repo('edge/storage/', 'signer/store/')],
  ['JWS (jose, edge/acme/jws.ts, shared/relay.ts)', pkg('jose')],
  ['JWS (jose, edge/acme/jws.ts, shared/relay.ts)', repo('edge/acme/jws.ts', 'shared/relay.ts')],
  [
    'ASN.1: CSR and certificate parsing/building',
    pkg(
      'asn1js',
      'pkijs',
      'pvtsutils',
      'pvutils',
      '@peculiar/asn1-schema',
      '@peculiar/asn1-x509',
      '@peculiar/x509',
      '@peculiar/asn1-csr',
      '@peculiar/asn1-ecc',
      '@peculiar/asn1-rsa',
      '@peculiar/asn1-pkcs9',
      'tslib',
      'reflect-metadata',
    ),
  ],
  ['ASN.1: CSR and certificate parsing/building', repo('shared/csr.ts', 'shared/der.ts', 'signer/x509/')],
  ['HSM (PKCS#11)', pkg('graphene-pk11', 'pkcs11js')],
  ['HSM (PKCS#11)', repo('signer/hsm/', 'signer/ca-signer.ts')],
  [
    'fetch API (undici: Request/Response objects, the relay fetch)',
    (f) => f.url.startsWith('node:internal/deps/undici') || pkg('undici')(f),
  ],
  ['relay client (edge/relay)', repo('edge/relay/')],
  [
    'http-01 validation (edge/validation, node:http client, DNS)',
    repo('edge/validation/', 'edge/platform/node.ts', 'edge/platform/node-dns.ts'),
  ],
  [
    'http-01 validation (edge/validation, node:http client, DNS)',
    (f) => /^node:(_http_client|dns|internal\/dns)/.test(f.url),
  ],
  [
    'HTTP server and TLS (node:http, node:tls, net, streams)',
    (f) =>
      /^node:(_http_|_tls_|tls|https|http|net|stream|_stream|internal\/(stream|streams|http|tls|net|url|webstreams|perf|timers|abort_controller|blob))/.test(
        f.url,
      ),
  ],
  ['Hono (routing, middleware, Request/Response)', pkg('hono', '@hono/node-server')],
  ['Hono (routing, middleware, Request/Response)', repo('signer/onprem-http.ts')],
  ['signer service (checks, ceiling, leaf fields)', repo('signer/')],
  ['metrics and request log', repo('edge/observability/', 'shared/metrics.ts')],
  ['ACME handlers, policy, rate limits', repo('edge/')],
  ['shared helpers (encoding, identifiers, problems)', repo('shared/')],
];

/** A frame's path inside the repository ('' for node_modules, node: and builtins). */
const ROOT = `file://${resolve(import.meta.dirname, '..')}/`;
/** The source file a frame's URL stands for: `dist/edge/x.js` (the compiled build) is `edge/x.ts`. */
function repoFile(url: string): string {
  if (!url.startsWith('file://') || url.includes('/node_modules/')) return '';
  // a profile taken in another checkout: from the last top-level source directory on
  const path = url.startsWith(ROOT)
    ? url.slice(ROOT.length)
    : (/.*\/((?:dist\/)?(?:edge|signer|shared|validator|cli)\/.*)$/.exec(url)?.[1] ?? '');
  return path.startsWith('dist/') ? path.slice('dist/'.length).replace(/\.js$/, '.ts') : path;
}

/**
 * Frames to look through: Node's own modules and V8 builtins that no rule names do work on behalf
 * of whoever called them (WebCrypto jobs, buffers, events, validators, timers).
 */
const transparent = (f: Frame) => f.functionName === '(root)' || f.url === '' || f.url.startsWith('node:');

export interface Breakdown {
  /** busy (non-idle) sampled milliseconds */
  busyMs: number;
  /** milliseconds by component, largest first */
  components: [string, number][];
}

/** Only samples inside `windowUs` (monotonic µs, as the bench records each level's window) count. */
export function breakdown(files: string[], windowUs?: [number, number]): Breakdown {
  const comp = new Map<string, number>();
  let busyUs = 0;
  for (const file of files) {
    const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const memo = new Map<number, string>();
    const classify = (leaf: number): string => {
      const hit = memo.get(leaf);
      if (hit) return hit;
      let c: string | undefined;
      for (let id: number | undefined = leaf; id !== undefined && c === undefined; id = parent.get(id)) {
        const f = byId.get(id)?.callFrame;
        if (!f) break;
        const rf = repoFile(f.url);
        c = RULES.find(([, test]) => test(f, rf))?.[0];
        if (c === undefined && !transparent(f) && !rf) c = 'other libraries and runtime';
      }
      const out = c ?? 'other libraries and runtime';
      memo.set(leaf, out);
      return out;
    };
    let at = p.startTime;
    for (let i = 0; i < p.samples.length; i++) {
      const id = p.samples[i] as number;
      const us = p.timeDeltas[i] ?? 0;
      at += us;
      if (windowUs && (at < windowUs[0] || at > windowUs[1])) continue;
      if (byId.get(id)?.callFrame.functionName === '(idle)') continue;
      busyUs += us;
      const c = classify(id);
      comp.set(c, (comp.get(c) ?? 0) + us);
    }
  }
  const components = [...comp.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([k, us]) => [k, us / 1000] as [string, number]);
  return { busyMs: busyUs / 1000, components };
}

/**
 * The breakdown as text. With `msPerIssuance` (the main thread's CPU per issuance, from schedstat)
 * each share is also shown as CPU ms; with `ops` (issuances or certificates in the window) also as
 * sampled main-thread time per op, which counts time blocked in a native call (an fsync inside a
 * synchronous SQLite commit) that is not CPU.
 */
export function formatBreakdown(b: Breakdown, msPerIssuance?: number, ops?: number): string {
  const pct = (ms: number) => (100 * ms) / b.busyMs;
  const per = (ms: number) =>
    (msPerIssuance === undefined
      ? ''
      : `${((pct(ms) * msPerIssuance) / 100).toFixed(2).padStart(6)} ms CPU  `) +
    (ops ? `${(ms / ops).toFixed(2).padStart(6)} ms sampled  ` : '');
  const sql = b.components.filter(([k]) => k.startsWith('SQL')).reduce((n, [, ms]) => n + ms, 0);
  const lines = [
    `${(b.busyMs / 1000).toFixed(1)} s busy on the main thread${msPerIssuance === undefined ? '' : ` (shares × ${msPerIssuance} ms of main-thread CPU per op)`}${ops ? `, ${ops} ops: ${(b.busyMs / ops).toFixed(2)} ms sampled per op` : ''}`,
    ...b.components.map(([k, ms]) => `  ${pct(ms).toFixed(1).padStart(5)}%  ${per(ms)}${k}`),
    `  ${pct(sql).toFixed(1).padStart(5)}%  ${per(sql)}(SQL, all layers)`,
  ];
  return `${lines.join('\n')}\n`;
}

interface WindowSource {
  issuance?: {
    target: string;
    levels: {
      concurrency: number;
      issued: number;
      windowUs?: [number, number];
      cpuMsPerIssuanceByRole?: Record<string, { main: number }>;
    }[];
  }[];
  signer?: { httpSign: SignWindow };
  /** bench/signer-only.ts's JSON holds the signer's results at the top */
  httpSign?: SignWindow;
}

interface SignWindow {
  count: number;
  windowUs?: [number, number];
  cpuMsPerOpByRole: Record<string, { main: number }>;
}

/**
 * The window and main-thread CPU per issuance of one measured part of a bench run (its JSON):
 * `TARGET@ACCOUNTS` with `role` (edge or signer), or `sign` for the signer's POST /v1/sign section.
 */
export function windowOf(
  json: string,
  part: string,
  role: string,
): { windowUs: [number, number]; mainMs: number; ops: number } {
  const r = JSON.parse(readFileSync(json, 'utf8')) as WindowSource;
  if (part === 'sign') {
    const h = r.signer?.httpSign ?? r.httpSign;
    if (!h?.windowUs) throw new Error(`${json} has no POST /v1/sign window`);
    return { windowUs: h.windowUs, mainMs: h.cpuMsPerOpByRole.signer?.main ?? 0, ops: h.count };
  }
  const [target, accounts] = part.split('@');
  const l = r.issuance
    ?.find((t) => t.target === target)
    ?.levels.find((x) => x.concurrency === Number(accounts));
  if (!l?.windowUs) throw new Error(`${json} has no level "${part}" with a window`);
  return { windowUs: l.windowUs, mainMs: l.cpuMsPerIssuanceByRole?.[role]?.main ?? 0, ops: l.issued };
}

// node --import tsx bench/components.ts FILE.cpuprofile... [--json=bench-results/latest.json --part="edgeca (Node)@8" --role=edge] [--ms=N]
if (process.argv[1]?.endsWith('components.ts')) {
  const args = process.argv.slice(2);
  const opt = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const files = args.filter((a) => a.endsWith('.cpuprofile'));
  const json = opt('json');
  const part = opt('part');
  if (json && part) {
    const w = windowOf(json, part, opt('role') ?? 'edge');
    // --ms: scale the shares by another run's main-thread CPU (a run without the profiler's overhead)
    const ms = opt('ms');
    process.stdout.write(
      formatBreakdown(breakdown(files, w.windowUs), ms === undefined ? w.mainMs : Number(ms), w.ops),
    );
  } else {
    const ms = opt('ms');
    process.stdout.write(formatBreakdown(breakdown(files), ms === undefined ? undefined : Number(ms)));
  }
}
