// The signer part of the bench alone, for profiling the signer in this process:
//   node --cpu-prof --cpu-prof-dir=prof --import tsx bench/signer-only.ts [count]
// then `node --import tsx bench/cpuprofile.ts prof/*.cpuprofile`.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../harness/ports.ts';
import { initDev } from '../signer/bootstrap.ts';
import { benchSigner } from './signer.ts';
import { startSignerProc } from './targets.ts';

const work = mkdtempSync(join(tmpdir(), 'edgeca-bench-signer-'));
try {
  const init = await initDev({ dir: join(work, 'ca'), signerPort: await freePort() });
  process.env.SOFTHSM2_CONF = init.softhsmConf;
  const common = { init, dns: '127.0.0.1:53', http01Port: 80, tlsCa: readFileSync(init.rootCertFile) };
  const signer = await startSignerProc(
    common,
    process.env.BENCH_SIGNER_NODE_ARGS?.split(' ').filter(Boolean),
  );
  try {
    const r = await benchSigner(init, signer, {
      count: Number(process.argv[2] ?? 2000),
      concurrency: 8,
      workDir: work,
      opensslSeconds: 1,
    });
    process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
  } finally {
    await signer.child.stop();
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
