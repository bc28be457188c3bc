// The signer part of the bench alone, for profiling the signer in this process:
//   node --cpu-prof --cpu-prof-dir=prof --import tsx bench/signer-only.ts [count] [--postgres] [--http-only]
// then `node --import tsx bench/cpuprofile.ts prof/*.cpuprofile` (or bench/components.ts).
// `--postgres` also measures POST /v1/sign on a signer whose store is a throwaway PostgreSQL;
// `--http-only` measures POST /v1/sign alone (BENCH_SIGNER_NODE_ARGS="--cpu-prof ..." profiles it).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../harness/ports.ts';
import { initDev } from '../signer/bootstrap.ts';
import { type BenchPostgres, startBenchPostgres } from './postgres.ts';
import { benchSigner, benchSignerHttp } from './signer.ts';
import { type SignerProc, startSignerProc } from './targets.ts';

const count = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 2000);
const work = mkdtempSync(join(tmpdir(), 'edgeca-bench-signer-'));
let pg: BenchPostgres | undefined;
let pgSigner: SignerProc | undefined;
try {
  const init = await initDev({ dir: join(work, 'ca'), signerPort: await freePort() });
  process.env.SOFTHSM2_CONF = init.softhsmConf;
  const common = { init, dns: '127.0.0.1:53', http01Port: 80, tlsCa: readFileSync(init.rootCertFile) };
  const nodeArgs = process.env.BENCH_SIGNER_NODE_ARGS?.split(' ').filter(Boolean);
  const signer = await startSignerProc(common, nodeArgs);
  try {
    if (process.argv.includes('--postgres')) {
      pg = await startBenchPostgres();
      pgSigner = await startSignerProc(common, nodeArgs, { url: pg.url, postmasterPid: pg.pid });
    }
    const run = process.argv.includes('--http-only') ? benchSignerHttp : benchSigner;
    const r = await run(init, signer, {
      count,
      concurrency: 8,
      workDir: work,
      opensslSeconds: 1,
      tlsCa: common.tlsCa,
      ...(pgSigner ? { postgresSigner: pgSigner } : {}),
    });
    process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
  } finally {
    await pgSigner?.child.stop();
    await signer.child.stop();
  }
} finally {
  pg?.stop();
  rmSync(work, { recursive: true, force: true });
}
