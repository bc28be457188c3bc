// `npm run bench [-- --quick]`: one run, one machine, every figure next to its reference.
// A fresh dev CA (SoftHSM token) in a temp directory; the signer, the edges and Pebble run as
// child processes; this process is the load generator, the http-01 responder and the mock DNS's
// client. Prints a side-by-side table and writes the JSON to bench-results/. Never a pass/fail
// threshold: the exit status is 0 unless the bench itself could not run or a chain failed to verify.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startChallTestSrv } from '../harness/challtestsrv.ts';
import { startHttp01Server } from '../harness/http01.ts';
import { freePort } from '../harness/ports.ts';
import { initDev } from '../signer/bootstrap.ts';
import { Http } from './client.ts';
import { countOrders, seedOrders } from './growth.ts';
import { type LevelResult, runLevel } from './issuance.ts';
import { formatReport } from './report.ts';
import { benchSigner } from './signer.ts';
import {
  type Common,
  REPO,
  startDenoEdge,
  startNodeEdge,
  startPebble,
  startSignerProc,
  type Target,
} from './targets.ts';
import { verifyChains } from './verify.ts';

export interface TargetResult {
  target: string;
  levels: LevelResult[];
  chains: { chains: number; failed: number; firstFailure?: string; opensslChecked: number };
}

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const outAt = argv.indexOf('--out');
/** `--out DIR` (tests) keeps a smoke run's JSON away from bench-results/. */
const outDir =
  outAt >= 0 && argv[outAt + 1] ? resolve(argv[outAt + 1] as string) : join(REPO, 'bench-results');
const plan = quick
  ? { seconds: 4, levels: [1, 8, 32], denoLevels: [8], signerCount: 600, growthSeconds: 4, big: 100_000 }
  : {
      seconds: 20,
      levels: [1, 8, 32],
      denoLevels: [1, 8, 32],
      signerCount: 3000,
      growthSeconds: 15,
      big: 100_000,
    };
const say = (s: string) => process.stderr.write(`[bench] ${s}\n`);

async function main(): Promise<number> {
  const started = Date.now();
  const work = mkdtempSync(join(tmpdir(), 'edgeca-bench-'));
  const cleanups: (() => Promise<void> | void)[] = [() => rmSync(work, { recursive: true, force: true })];
  const stopAll = async () => {
    for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch(() => {});
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));
  try {
    say(`dev CA in ${work}`);
    const init = await initDev({ dir: join(work, 'ca'), signerPort: await freePort() });
    process.env.SOFTHSM2_CONF = init.softhsmConf;
    const dns = await startChallTestSrv();
    cleanups.push(() => dns.close());
    const http01 = await startHttp01Server();
    cleanups.push(() => http01.close());
    const common: Common = {
      init,
      dns: dns.dnsAddress,
      http01Port: http01.port,
      tlsCa: readFileSync(init.rootCertFile),
    };
    // BENCH_PROFILE_DIR=DIR: the Node edge and the signer write V8 CPU profiles there (bench/cpuprofile.ts reads them).
    const profDir = process.env.BENCH_PROFILE_DIR;
    const profArgs = (who: string) =>
      profDir ? ['--cpu-prof', `--cpu-prof-dir=${join(resolve(profDir), who)}`] : [];
    const signer = await startSignerProc(common, profArgs('signer'));
    cleanups.push(() => signer.child.stop());

    say('signer: openssl speed, SoftHSM, builder, service, /v1/sign');
    const signerResults = await benchSigner(init, signer, {
      count: plan.signerCount,
      concurrency: 8,
      workDir: work,
      opensslSeconds: 3,
    });

    const targets: TargetResult[] = [];
    const runTarget = async (t: Target, levels: number[]) => {
      const http = new Http(common.tlsCa, 64);
      const chains: string[] = [];
      const out: LevelResult[] = [];
      try {
        for (const c of levels) {
          say(`${t.name}: ${c} concurrent accounts, ${plan.seconds} s`);
          out.push(
            await runLevel({
              http,
              http01,
              directoryUrl: t.directoryUrl,
              concurrency: c,
              seconds: plan.seconds,
              serverPids: t.pids(),
              chains,
              domain: 'bench.test',
            }),
          );
        }
      } finally {
        http.close();
      }
      const check = verifyChains(chains, await t.rootPem(), 3);
      targets.push({ target: t.name, levels: out, chains: check });
    };

    const nodeEdge = await startNodeEdge(common, signer, join(work, 'edge-node.db'), profArgs('edge'));
    await runTarget(nodeEdge, plan.levels);
    await nodeEdge.stop();

    const pebble = await startPebble(common, work);
    cleanups.push(() => pebble.stop());
    await runTarget(pebble, plan.levels);
    await pebble.stop();

    const denoEdge = await startDenoEdge(common, signer, join(work, 'edge-deno.db'));
    cleanups.push(() => denoEdge.stop());
    await runTarget(denoEdge, plan.denoLevels);
    await denoEdge.stop();

    say(`growth: newOrder and finalize with 1k vs ${plan.big / 1000}k stored orders`);
    const growthDb = join(work, 'edge-growth.db');
    const growthEdge = await startNodeEdge(common, signer, growthDb);
    cleanups.push(() => growthEdge.stop());
    const growth: { storedOrders: number; level: LevelResult }[] = [];
    const http = new Http(common.tlsCa, 8);
    try {
      for (const [from, to] of [
        [0, 1000],
        [1000, plan.big],
      ] as const) {
        const t0 = Date.now();
        await seedOrders(`file:${growthDb}`, from, to);
        say(`seeded ${to - from} orders in ${Date.now() - t0} ms`);
        const storedOrders = await countOrders(`file:${growthDb}`);
        const level = await runLevel({
          http,
          http01,
          directoryUrl: growthEdge.directoryUrl,
          concurrency: 1,
          seconds: plan.growthSeconds,
          serverPids: growthEdge.pids(),
          chains: [],
          domain: 'growth.test',
        });
        growth.push({ storedOrders, level });
      }
    } finally {
      http.close();
    }
    await growthEdge.stop();

    const result = {
      when: new Date().toISOString(),
      mode: quick ? 'quick' : 'full',
      machine: { cpus: cpus().length, model: cpus()[0]?.model ?? '?', node: process.version },
      seconds: Math.round((Date.now() - started) / 1000),
      signer: signerResults,
      issuance: targets,
      growth,
    };
    mkdirSync(outDir, { recursive: true });
    const file = join(outDir, `bench-${result.when.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(join(outDir, 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(formatReport(result));
    process.stdout.write(`\nJSON: ${file}\n`);
    const badChains = targets.reduce((n, t) => n + t.chains.failed, 0) + signerResults.chainsVerified.failed;
    if (badChains > 0) {
      say(`${badChains} chain(s) failed to verify`);
      return 1;
    }
    return 0;
  } finally {
    await stopAll();
  }
}

process.exitCode = await main();
