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
import { treeCpuMs } from './proc.ts';
import type { SignerProc } from './targets.ts';
import { verifyChains } from './verify.ts';

export interface Rate {
  count: number;
  concurrency: number;
  seconds: number;
  perSecond: number;
  errors: number;
  cpuMsPerOp?: number;
}

export interface SignerResults {
  opensslEcdsaP256SignPerSecond: number | null;
  hsmOneInFlight: Rate;
  hsmPool: Rate;
  inProcessBuilderHsm: Rate;
  inProcessService: Rate;
  httpSign: Rate;
  chainsVerified: { chains: number; failed: number; firstFailure?: string };
}

const r1 = (x: number) => Math.round(x * 10) / 10;

/** Runs `op` `count` times with `concurrency` in flight; bounded by count. */
async function rate(count: number, concurrency: number, op: (i: number) => Promise<unknown>): Promise<Rate> {
  let next = 0;
  let errors = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < count; i = next++) {
        try {
          await op(i);
        } catch {
          errors++;
        }
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return { count, concurrency, seconds: r1(seconds), perSecond: r1(count / seconds), errors };
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

function relayBodies(key: RelayKey, csr: string, count: number, tag: string): Promise<string[]> {
  const now = Date.now();
  return Promise.all(
    Array.from({ length: count }, (_, i) =>
      signRelay<SignRequest>(
        {
          op: 'sign',
          orderId: `bench-${tag}-${i}`,
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
  o: { count: number; concurrency: number; workDir: string; opensslSeconds: number },
): Promise<SignerResults> {
  const opensslEcdsaP256SignPerSecond = opensslSpeed(o.opensslSeconds);
  const { config, baseDir } = loadSignerConfig(init.signerConfigFile);
  const [issuerDer] = pemToDers(readFileSync(init.issuerCertFile, 'utf8'));
  if (!issuerDer) throw new Error(`no certificate in ${init.issuerCertFile}`);
  const rootPem = readFileSync(init.rootCertFile, 'utf8');
  const relayKey = await importRelayPrivateKey(JSON.parse(readFileSync(init.relayKeyFile, 'utf8')));
  const csr = await makeCsr(['bench.internal.test']);
  const tbsSample = new Uint8Array(300).fill(7);
  const chains: string[] = [];

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
    const bodies = await relayBodies(relayKey, csr.b64u, o.count, 'svc');
    inProcessService = await rate(o.count, o.concurrency, async (i) => {
      const out = await inProc.service.sign(bodies[i] as string);
      if (i % 50 === 0) chains.push(out.chainPem);
    });
  } finally {
    await inProc.close();
  }

  // Through HTTP to the real `edgeca signer serve` process.
  const bodies = await relayBodies(relayKey, csr.b64u, o.count, 'http');
  const agent = new Agent({ keepAlive: true, maxSockets: o.concurrency });
  const cpu0 = treeCpuMs([signerProc.child.pid]);
  const httpSign = await rate(o.count, o.concurrency, async (i) => {
    const res = await post(agent, `${signerProc.url}/v1/sign`, bodies[i] as string);
    if (res.status !== 200) throw new Error(`sign: ${res.status} ${res.body}`);
    if (i % 50 === 0) chains.push(res.body);
  });
  httpSign.cpuMsPerOp = r1((treeCpuMs([signerProc.child.pid]) - cpu0) / o.count);
  agent.destroy();

  const check = verifyChains(chains, rootPem, 3);
  return {
    opensslEcdsaP256SignPerSecond,
    hsmOneInFlight,
    hsmPool,
    inProcessBuilderHsm,
    inProcessService,
    httpSign,
    chainsVerified: check,
  };
}
