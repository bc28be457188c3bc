// Measures certificates/s through POST /v1/sign over real HTTP on 127.0.0.1 (software CA key from
// the signer's test support, libSQL file in a temp directory, or the store EDGECA_SIGNER_DATABASE_URL
// names, with its password in EDGECA_SIGNER_DATABASE_PASSWORD; BENCH_TOOLS=soft swaps the
// certificate builder for the test one).
// Run: node --import tsx test/perf/sign-throughput.ts [count] [concurrency]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { b64uEncode } from '../../shared/encoding.ts';
import { signRelay } from '../../shared/relay.ts';
import { startSigner } from '../../signer/server.ts';
import { loadCertTools } from '../../signer/service/tools.ts';
import {
  edgeKeyPair,
  makeCsr,
  softCa,
  softTools,
  testConfig,
  writeAnswerKey,
} from '../support/signer-service.ts';

const count = Number(process.argv[2] ?? 300);
const concurrency = Number(process.argv[3] ?? 8);
const dir = mkdtempSync(join(tmpdir(), 'edgeca-bench-'));
const ca = await softCa();
writeFileSync(join(dir, 'issuer.pem'), ca.issuerPem);
const edge = await edgeKeyPair();
await writeAnswerKey(dir);
const config = testConfig([edge.pubJwk], process.env.EDGECA_SIGNER_DATABASE_URL || 'file:signer.db');
const real = process.env.BENCH_TOOLS !== 'soft';
const tools = real
  ? await loadCertTools(config, ca.issuerDer)
  : await softTools(ca.issuerDer, ca.signer.spki);
const signer = await startSigner({ config, baseDir: dir, deps: { signer: ca.signer, tools, log: () => {} } });
const csr = b64uEncode(await makeCsr({ dns: ['bench.internal.test'] }));
const bodies = await Promise.all(
  Array.from({ length: count }, async (_, i) => {
    const now = Date.now();
    return signRelay(
      {
        op: 'sign',
        orderId: `bench-${i}`,
        accountId: 'a',
        profile: 'default',
        csr,
        identifiers: [{ type: 'dns', value: 'bench.internal.test' }],
        notBefore: new Date(now).toISOString(),
        notAfter: new Date(now + 86400_000).toISOString(),
      },
      edge.priv,
      240,
    );
  }),
);
let next = 0;
let failed = 0;
const started = performance.now();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    for (let i = next++; i < count; i = next++) {
      const res = await fetch(`${signer.url}/v1/sign`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/jose' },
        body: bodies[i],
      });
      await res.text();
      if (res.status !== 200) failed++;
    }
  }),
);
const s = (performance.now() - started) / 1000;
process.stdout.write(
  `${JSON.stringify({ tools: real ? 'signer/x509 + shared/csr' : 'software', count, concurrency, failed, seconds: Math.round(s * 100) / 100, certsPerSecond: Math.round(count / s) })}\n`,
);
await signer.close();
rmSync(dir, { recursive: true, force: true });
