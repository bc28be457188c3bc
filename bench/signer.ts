// Signer throughput: `openssl speed` (the software ECDSA limit), raw SoftHSM signatures through
// the token's session pool (one in flight, then the pool full), certificates/s in-process
// (leaf builder + HSM signature, no HTTP, no database), the whole SignerService in-process (relay
// verification, jti, intent, HSM, issued row, audit; no HTTP), and through POST /v1/sign of the
// `edgeca signer serve` child process (its CPU per certificate from /proc).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { makeCsr } from '../harness/csr.ts';
import { derToPem, pemToDers } from '../shared/encoding.ts';
import { importRelayPrivateKey, type RelayKey, type SignRequest, signRelay } from '../shared/relay.ts';
import type { DevInit } from '../signer/bootstrap.ts';
import type { CaSigner } from '../signer/ca-signer.ts';
import { loadSignerConfig, startSigner } from '../signer/server.ts';
import { loadCertTools, openHsm } from '../signer/service/tools.ts';
import { monotonicUs } from './issuance.ts';
import { treeCpuMs, treePids, treeRssMiB, treeThreadCpuNs } from './proc.ts';
import { perIssuance, type SqlPerIssuance, SqlProbe } from './sql.ts';
import type { SignerProc } from './targets.ts';
import { verifyChains } from './verify.ts';

export interface Rate {
  count: number;
  concurrency: number;
  seconds: number;
  perSecond: number;
  errors: number;
  /** the first few errors, as said */
  firstErrors?: string[];
  cpuMsPerOp?: number;
}

export interface SignerResults {
  opensslEcdsaP256SignPerSecond: number | null;
  hsmOneInFlight: Rate;
  hsmPool: Rate;
  inProcessBuilderHsm: Rate;
  inProcessService: Rate;
  httpSign: HttpSignRate;
  /** the same through a signer whose store is PostgreSQL (durable settings) */
  httpSignPostgres?: HttpSignRate;
  chainsVerified: { chains: number; failed: number; firstFailure?: string };
}

export interface HttpSignRate extends Rate {
  /** CPU ms per certificate by role (signer: main thread and the rest; postgres: its processes) */
  cpuMsPerOpByRole: Record<string, { main: number; other: number }>;
  /** store statements per certificate */
  sql?: SqlPerIssuance;
  rssMiB: Record<string, number>;
  /** the measured window on the monotonic clock in µs (as the signer's CPU profile) */
  windowUs: [number, number];
}

const r1 = (x: number) => Math.round(x * 10) / 10;

/** `count` certificates through POST /v1/sign, `o.concurrency` in flight; CPU, memory and SQL of the signer's processes. */
async function httpSignRate(
  signer: SignerProc,
  relayKey: RelayKey,
  csr: string,
  o: { count: number; concurrency: number; tlsCa: Buffer },
  tag: string,
  chains: string[],
): Promise<HttpSignRate> {
  const bodies = relayBodies(relayKey, csr, o.count, tag);
  await bodies.get(0);
  const agent = new Agent({ keepAlive: true, maxSockets: o.concurrency });
  const roles = [...new Set(signer.processes.map((p) => p.role))];
  const pidsOf = (role: string) =>
    treePids(signer.processes.filter((p) => p.role === role).map((p) => p.pid));
  const read = () => Object.fromEntries(roles.map((r) => [r, treeThreadCpuNs(pidsOf(r))]));
  const probe = new SqlProbe([signer.sqlSource], o.tlsCa);
  await probe.start();
  const ns0 = read();
  const cpu0 = treeCpuMs([signer.child.pid]);
  const w0 = monotonicUs();
  const rate0 = await rate(o.count, o.concurrency, async (i) => {
    const res = await post(agent, `${signer.url}/v1/sign`, await bodies.get(i));
    if (res.status !== 200) throw new Error(`sign: ${res.status} ${res.body}`);
    if (i % 50 === 0) chains.push(res.body);
  });
  const w1 = monotonicUs();
  const cpuMsPerOp = r1((treeCpuMs([signer.child.pid]) - cpu0) / o.count);
  const ns1 = read();
  agent.destroy();
  const sql = (await probe.stop()).signer;
  const per = (ns: number) => Math.round((ns / o.count / 1e6) * 100) / 100;
  return {
    ...rate0,
    cpuMsPerOp,
    windowUs: [w0, w1],
    cpuMsPerOpByRole: Object.fromEntries(
      roles.map((r) => [
        r,
        {
          main: per((ns1[r]?.main ?? 0) - (ns0[r]?.main ?? 0)),
          other: per((ns1[r]?.other ?? 0) - (ns0[r]?.other ?? 0)),
        },
      ]),
    ),
    ...(sql ? { sql: perIssuance(sql, o.count) } : {}),
    rssMiB: Object.fromEntries(roles.map((r) => [r, treeRssMiB(pidsOf(r))])),
  };
}

/** Runs `op` `count` times with `concurrency` in flight; bounded by count. */
async function rate(count: number, concurrency: number, op: (i: number) => Promise<unknown>): Promise<Rate> {
  let next = 0;
  let errors = 0;
  const firstErrors: string[] = [];
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < count; i = next++) {
        try {
          await op(i);
        } catch (e) {
          errors++;
          if (firstErrors.length < 3)
            firstErrors.push((e instanceof Error ? e.message : String(e)).slice(0, 300));
        }
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return {
    count,
    concurrency,
    seconds: r1(seconds),
    perSecond: r1((count - errors) / seconds),
    errors,
    ...(firstErrors.length ? { firstErrors } : {}),
  };
}

export function opensslSpeed(seconds: number): number | null {
  try {
    const out = execFileSync('openssl', ['speed', '-seconds', String(seconds), 'ecdsap256'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: (seconds * 2 + 30) * 1000,
    });
    // " 256 bits ecdsa (nistp256)   0.0000s   0.0001s  34000.0  12000.0": sign/s, then verify/s.
    const line = out.split('\n').find((l) => /nistp256/.test(l) && /\d+\.\d+\s+\d+\.\d+\s*$/.test(l));
    const nums = line?.trim().split(/\s+/).slice(-2).map(Number);
    return nums?.[0] ?? null;
  } catch {
    return null;
  }
}

/** Relay bodies signed at most this many ahead of use, so none goes stale (notBefore, exp) in a long run. */
const BODY_CHUNK = 200;

/**
 * The `count` relay sign requests of one measure, `get(i)` the i-th: signed a chunk at a time just
 * before they are needed, so a slow run never sends one the signer refuses as stale.
 */
function relayBodies(
  key: RelayKey,
  csr: string,
  count: number,
  tag: string,
): { get(i: number): Promise<string> } {
  const chunks = new Map<number, Promise<string[]>>();
  const chunk = (c: number) => {
    let p = chunks.get(c);
    if (!p) {
      const now = Date.now();
      p = Promise.all(
        Array.from({ length: Math.min(BODY_CHUNK, count - c * BODY_CHUNK) }, (_, j) =>
          signRelay<SignRequest>(
            {
              op: 'sign',
              orderId: `bench-${tag}-${c * BODY_CHUNK + j}`,
              accountId: 'bench',
              profile: 'default',
              csr,
              identifiers: [{ type: 'dns', value: 'bench.internal.test' }],
              notBefore: new Date(now).toISOString(),
              notAfter: new Date(now + 86_400_000).toISOString(),
            },
            key,
            280,
          ),
        ),
      );
      chunks.set(c, p);
      chunks.delete(c - 2);
    }
    return p;
  };
  return {
    async get(i) {
      const c = Math.floor(i / BODY_CHUNK);
      const body = (await chunk(c))[i % BODY_CHUNK];
      if (body === undefined) throw new Error(`no relay body ${i}`);
      return body;
    },
  };
}

function post(agent: Agent, url: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'application/jose' }, timeout: 30_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

export async function benchSigner(
  init: DevInit,
  signerProc: SignerProc,
  o: SignerBenchOptions,
): Promise<SignerResults> {
  const { relayKey, csr, chains } = await benchInputs(init);
  const inProcess = await benchInProcess(init, o, relayKey, csr, chains);
  return { ...inProcess, ...(await benchHttp(init, signerProc, o, { relayKey, csr, chains })) };
}

/** POST /v1/sign alone (no openssl speed, raw HSM or in-process measures): for profiling the signer. */
export async function benchSignerHttp(
  init: DevInit,
  signerProc: SignerProc,
  o: SignerBenchOptions,
): Promise<Pick<SignerResults, 'httpSign' | 'httpSignPostgres' | 'chainsVerified'>> {
  return benchHttp(init, signerProc, o, await benchInputs(init));
}

export interface SignerBenchOptions {
  count: number;
  concurrency: number;
  workDir: string;
  opensslSeconds: number;
  /** a second signer process whose store is PostgreSQL */
  postgresSigner?: SignerProc;
  tlsCa: Buffer;
}

interface BenchInputs {
  relayKey: RelayKey;
  csr: { der: Uint8Array; b64u: string };
  /** chains issued, verified at the end */
  chains: string[];
}

async function benchInputs(init: DevInit): Promise<BenchInputs> {
  const relayKey = await importRelayPrivateKey(JSON.parse(readFileSync(init.relayKeyFile, 'utf8')));
  return { relayKey, csr: await makeCsr(['bench.internal.test']), chains: [] };
}

async function benchHttp(
  init: DevInit,
  signerProc: SignerProc,
  o: SignerBenchOptions,
  { relayKey, csr, chains }: BenchInputs,
): Promise<Pick<SignerResults, 'httpSign' | 'httpSignPostgres' | 'chainsVerified'>> {
  // Through HTTP to the real `edgeca signer serve` process (its store a libSQL file), then to the
  // one whose store is PostgreSQL when there is one.
  const httpSign = await httpSignRate(signerProc, relayKey, csr.b64u, o, 'http', chains);
  const httpSignPostgres = o.postgresSigner
    ? await httpSignRate(o.postgresSigner, relayKey, csr.b64u, o, 'http-pg', chains)
    : undefined;
  const check = verifyChains(chains, readFileSync(init.rootCertFile, 'utf8'), 3);
  return { httpSign, ...(httpSignPostgres ? { httpSignPostgres } : {}), chainsVerified: check };
}

/** openssl speed, raw HSM signatures, the builder + HSM and the whole service, in this process. */
async function benchInProcess(
  init: DevInit,
  o: { count: number; concurrency: number; workDir: string; opensslSeconds: number },
  relayKey: RelayKey,
  csr: { der: Uint8Array; b64u: string },
  chains: string[],
): Promise<Omit<SignerResults, 'httpSign' | 'httpSignPostgres' | 'chainsVerified'>> {
  const opensslEcdsaP256SignPerSecond = opensslSpeed(o.opensslSeconds);
  const { config, baseDir } = loadSignerConfig(init.signerConfigFile);
  const [issuerDer] = pemToDers(readFileSync(init.issuerCertFile, 'utf8'));
  if (!issuerDer) throw new Error(`no certificate in ${init.issuerCertFile}`);
  const tbsSample = new Uint8Array(300).fill(7);

  // Raw signatures and the builder: the HSM opened in this process, as the signer opens it.
  const hsm = await openHsm(config, baseDir);
  let hsmOneInFlight: Rate;
  let hsmPool: Rate;
  let inProcessBuilderHsm: Rate;
  try {
    const signer: CaSigner = await hsm.signerFor(config.pkcs11.keyLabel);
    hsmOneInFlight = await rate(o.count, 1, () => signer.sign(tbsSample));
    hsmPool = await rate(o.count, Math.max(2, (config.pkcs11.sessions ?? 4) * 2), () =>
      signer.sign(tbsSample),
    );
    const tools = await loadCertTools(config, issuerDer);
    const { parseCsr } = await import('../shared/csr.ts');
    const parsed = await parseCsr(csr.der);
    const issuerPem = derToPem(issuerDer);
    inProcessBuilderHsm = await rate(o.count, o.concurrency, async (i) => {
      const now = Date.now();
      const tbs = tools.leafBuilder.buildTbs({
        serial: tools.randomSerial(),
        spki: parsed.spki,
        identifiers: [{ type: 'dns', value: 'bench.internal.test' }],
        notBefore: new Date(now),
        notAfter: new Date(now + 86_400_000),
        ekus: ['serverAuth', 'clientAuth'],
        leafKeyType: 'EC-P256',
      });
      const cert = tools.leafBuilder.assemble(tbs, await signer.sign(tbs));
      if (i % 50 === 0) chains.push(derToPem(cert) + issuerPem);
    });
  } finally {
    await hsm.close();
  }

  // The whole service in this process, on its own database file, no HTTP.
  const inProc = await startSigner({
    config: {
      ...config,
      listen: { host: '127.0.0.1', port: 0 },
      database: `file:${join(o.workDir, 'signer-inprocess.db')}`,
    },
    baseDir,
    deps: { log: () => {} },
  });
  let inProcessService: Rate;
  try {
    const bodies = relayBodies(relayKey, csr.b64u, o.count, 'svc');
    await bodies.get(0);
    inProcessService = await rate(o.count, o.concurrency, async (i) => {
      const out = await inProc.service.sign(await bodies.get(i));
      if (i % 50 === 0) chains.push(out.chainPem);
    });
  } finally {
    await inProc.close();
  }

  return {
    opensslEcdsaP256SignPerSecond,
    hsmOneInFlight,
    hsmPool,
    inProcessBuilderHsm,
    inProcessService,
  };
}
