// CPU by component from V8 .cpuprofile files (node --cpu-prof; BENCH_PROFILE_DIR writes them for
// the Node edge and the signer): every sample goes to the component of the innermost frame on its
// stack that names one (runtime internals such as node:internal/crypto are looked through, so an
// HMAC is charged to the nonce code that asked for it). SQL samples are also split by the code
// that ran the statement. A profile sees the main thread only: what runs on libuv's pool (WebCrypto
// jobs) and V8's helper threads is not in it (the bench reports those threads' CPU apart).
//   node --import tsx bench/components.ts [--ms=MAIN_THREAD_MS_PER_ISSUANCE] FILE.cpuprofile...
import { readFileSync } from 'node:fs';

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
    'SQL (libSQL, drizzle, repositories)',
    pkg('libsql', '@libsql/client', '@libsql/core', '@libsql/hrana-client', 'drizzle-orm', 'postgres'),
  ],
  [
    'SQL (libSQL, drizzle, repositories)',
    repo('shared/libsql.ts', 'shared/sql-statements.ts', 'signer/store/'),
  ],
  [
    'nonce MAC (HMAC)',
    (f, file) => file === 'edge/storage/nonces.ts' && /^(mac|issue)$/.test(f.functionName),
  ],
  ['SQL (libSQL, drizzle, repositories)', repo('edge/storage/')],
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
    'relay client (fetch/undici, edge/relay)',
    (f) => f.url.startsWith('node:internal/deps/undici') || pkg('undici')(f),
  ],
  ['relay client (fetch/undici, edge/relay)', repo('edge/relay/')],
  [
    'http-01 validation (edge/validation, node:http client, DNS)',
    repo('edge/validation/', 'edge/runtime/node.ts', 'edge/runtime/node-dns.ts'),
  ],
  [
    'http-01 validation (edge/validation, node:http client, DNS)',
    (f) => /^node:(_http_client|dns|internal\/dns)/.test(f.url),
  ],
  [
    'HTTP server and TLS (node:http, node:tls, net, streams)',
    (f) =>
      /^node:(_http_|_tls_|tls|https|http|net|stream|_stream|internal\/(stream|streams|http|tls|net|url|webstreams|perf|timers))/.test(
        f.url,
      ),
  ],
  ['Hono (routing, middleware, Request/Response)', pkg('hono', '@hono/node-server')],
  ['Hono (routing, middleware, Request/Response)', repo('signer/onprem-http.ts')],
  ['audit chain (signer)', repo('signer/store/audit.ts')],
  ['signer service (checks, ceiling)', repo('signer/')],
  ['metrics and request log', repo('edge/observability/', 'shared/metrics.ts')],
  ['ACME handlers, policy, rate limits', repo('edge/')],
  ['shared helpers (encoding, identifiers, problems)', repo('shared/')],
];

/** A frame's path inside the repository ('' for node_modules, node: and builtins). */
function repoFile(url: string): string {
  if (!url.startsWith('file://') || url.includes('/node_modules/')) return '';
  const path = url.slice('file://'.length);
  const m = /\/(edge|signer|shared|validator|cli|bench)\/.*/.exec(path);
  return m ? m[0].slice(1) : '';
}

/** Frames to look through: runtime plumbing that does work on behalf of whoever called it. */
const transparent = (f: Frame) =>
  f.functionName === '(root)' ||
  f.url.startsWith('node:internal/crypto') ||
  f.url.startsWith('node:internal/process') ||
  f.url.startsWith('node:internal/async') ||
  f.url.startsWith('node:internal/util') ||
  f.url.startsWith('node:internal/event') ||
  f.url === 'node:events' ||
  f.url === 'node:buffer' ||
  f.url.startsWith('node:internal/buffer') ||
  (f.url === '' && f.functionName !== '(program)' && f.functionName !== '(garbage collector)');

export interface Breakdown {
  /** busy (non-idle) sampled milliseconds */
  busyMs: number;
  components: [string, number][];
  /** SQL time by the code that ran the statement (file:function of the nearest caller outside the storage plumbing) */
  sqlCallers: [string, number][];
}

export function breakdown(files: string[]): Breakdown {
  const comp = new Map<string, number>();
  const callers = new Map<string, number>();
  let busyUs = 0;
  for (const file of files) {
    const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const memo = new Map<number, { c: string; caller?: string }>();
    const classify = (leaf: number): { c: string; caller?: string } => {
      const hit = memo.get(leaf);
      if (hit) return hit;
      let c: string | undefined;
      let caller: string | undefined;
      for (let id: number | undefined = leaf; id !== undefined; id = parent.get(id)) {
        const f = byId.get(id)?.callFrame;
        if (!f) break;
        const rf = repoFile(f.url);
        if (c === undefined) {
          for (const [name, test] of RULES) {
            if (test(f, rf)) {
              c = name;
              break;
            }
          }
          if (c === undefined && !transparent(f) && !rf && f.url) c = 'other libraries and runtime';
          if (c === undefined) continue;
          if (!c.startsWith('SQL')) break;
        }
        // SQL: keep walking to the first caller outside the storage plumbing
        if (
          rf &&
          !/^(edge\/storage\/db\.ts|shared\/libsql\.ts|shared\/sql-statements\.ts|signer\/store\/(sql|libsql-engine|postgres-engine)\.ts)$/.test(
            rf,
          )
        ) {
          caller = `${rf}:${f.functionName || '(anonymous)'}`;
          break;
        }
      }
      const out = { c: c ?? 'other libraries and runtime', ...(caller ? { caller } : {}) };
      memo.set(leaf, out);
      return out;
    };
    for (let i = 0; i < p.samples.length; i++) {
      const id = p.samples[i] as number;
      const us = p.timeDeltas[i] ?? 0;
      if (byId.get(id)?.callFrame.functionName === '(idle)') continue;
      busyUs += us;
      const { c, caller } = classify(id);
      comp.set(c, (comp.get(c) ?? 0) + us);
      if (c.startsWith('SQL')) {
        const k = caller ?? '(caller not on the stack)';
        callers.set(k, (callers.get(k) ?? 0) + us);
      }
    }
  }
  const sorted = (m: Map<string, number>) =>
    [...m.entries()].sort((a, b) => b[1] - a[1]).map(([k, us]) => [k, us / 1000] as [string, number]);
  return { busyMs: busyUs / 1000, components: sorted(comp), sqlCallers: sorted(callers) };
}

export function formatBreakdown(b: Breakdown, msPerIssuance?: number, top = 15): string {
  const pct = (ms: number) => (100 * ms) / b.busyMs;
  const per = (ms: number) =>
    msPerIssuance ? `${((pct(ms) * msPerIssuance) / 100).toFixed(2).padStart(6)} ms/iss` : '';
  const lines = [
    `${(b.busyMs / 1000).toFixed(1)} s busy on the main thread${msPerIssuance ? `; shares × ${msPerIssuance} ms of main-thread CPU per issuance` : ''}`,
    ...b.components.map(([k, ms]) => `  ${pct(ms).toFixed(1).padStart(5)}%  ${per(ms)}  ${k}`),
    'SQL by caller:',
    ...b.sqlCallers.slice(0, top).map(([k, ms]) => `  ${pct(ms).toFixed(1).padStart(5)}%  ${per(ms)}  ${k}`),
  ];
  return `${lines.join('\n')}\n`;
}

if (process.argv[1]?.endsWith('components.ts')) {
  const files = process.argv.slice(2).filter((a) => a.endsWith('.cpuprofile'));
  const ms = process.argv.find((a) => a.startsWith('--ms='));
  process.stdout.write(formatBreakdown(breakdown(files), ms ? Number(ms.slice(5)) : undefined));
}
