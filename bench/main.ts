// `npm run bench [-- --quick | --growth-10m]`: one run, one machine, every figure next to its reference.
// A fresh dev CA (SoftHSM token) in a temp directory; the signer, the edges and Pebble run as
// child processes; this process is the load generator, the http-01 responder and the mock DNS's
// client. Prints a side-by-side table and writes the JSON to bench-results/. Never a pass/fail
// threshold: the exit status is 0 unless the bench itself could not run or a chain failed to verify.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startChallTestSrv } from '../harness/challtestsrv.ts';
import { stopEveryChild } from '../harness/child.ts';
import { startHttp01Server } from '../harness/http01.ts';
import { freePort } from '../harness/ports.ts';
import { initDev } from '../signer/bootstrap.ts';
import { Http } from './client.ts';
import { countOrders, type DbBytes, dbBytes, type PurgeResult, purgeGrowth, seedOrders } from './growth.ts';
import { type LevelResult, runLevel } from './issuance.ts';
import { type PerKindResult, runPerKind, runSqlPerKind, type SqlPerKind } from './per-kind.ts';
import { type BenchPostgres, postgresMissing, startBenchPostgres } from './postgres.ts';
import { type BenchResult, formatReport, type GrowthStep } from './report.ts';
import { benchSigner, type SignerResults } from './signer.ts';
import { SqlProbe } from './sql.ts';
import {
  type Common,
  REPO,
  type SignerProc,
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
  /** server CPU per request kind, one request at a time */
  perKind?: PerKindResult;
  /** SQL statements per request kind, one request at a time */
  sqlPerKind?: SqlPerKind;
}

const argv = process.argv.slice(2);
const USAGE = `npm run bench [-- --quick | --growth-10m] [--out DIR]
  (no option)   the full run: issuance at 1, 8 and 32 accounts against Pebble (Node and Deno
                edges), the signer against the raw HSM, the signer on PostgreSQL, growth to 100k
                orders; about 10 minutes on 2 cores
  --quick       a few seconds per level (smoke run)
  --growth-10m  the growth section alone, up to 10 million seeded orders (gigabytes; long)
  --out DIR     where the JSON goes (default bench-results/)
The table goes to stdout; docs/bench.md explains the figures.`;
if (argv.includes('--help') || argv.includes('-h')) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const unknown = argv.filter(
  (a, i) => a.startsWith('-') && !['--quick', '--growth-10m', '--out'].includes(a) && argv[i - 1] !== '--out',
);
if (unknown.length > 0) {
  process.stderr.write(`bench: unknown option ${unknown.join(' ')}\n${USAGE}\n`);
  process.exit(2);
}
const quick = argv.includes('--quick');
/** `--growth-10m`: the growth section alone, up to 10 million seeded orders (gigabytes; long). */
const growth10m = argv.includes('--growth-10m');
const outAt = argv.indexOf('--out');
/** `--out DIR` (tests) keeps a smoke run's JSON away from bench-results/. */
const outDir =
  outAt >= 0 && argv[outAt + 1] ? resolve(argv[outAt + 1] as string) : join(REPO, 'bench-results');
const plan = quick
  ? {
      seconds: 4,
      levels: [1, 8, 32],
      denoLevels: [8],
      postgresLevels: [8],
      perKindSeconds: 2,
      sqlPerKindIssuances: 2,
      signerCount: 600,
      growthSeconds: 4,
      growthSizes: [1000, 100_000],
    }
  : {
      seconds: 20,
      levels: [1, 8, 32],
      denoLevels: [1, 8, 32],
      postgresLevels: [8],
      perKindSeconds: 10,
      sqlPerKindIssuances: 10,
      signerCount: 3000,
      growthSeconds: 15,
      growthSizes: growth10m ? [1000, 100_000, 1_000_000, 10_000_000] : [1000, 100_000],
    };
const t00 = Date.now();
const say = (s: string) => process.stderr.write(`[bench ${Math.round((Date.now() - t00) / 1000)} s] ${s}\n`);
const load = () => loadavg().map((x) => Math.round(x * 100) / 100);

async function main(): Promise<number> {
  const started = Date.now();
  const loadAtStart = load();
  const work = mkdtempSync(join(tmpdir(), 'edgeca-bench-'));
  const cleanups: (() => Promise<void> | void)[] = [() => rmSync(work, { recursive: true, force: true })];
  const stopAll = async () => {
    for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch(() => {});
    await stopEveryChild();
  };
  // Ctrl-C, or `timeout`/a supervisor's SIGTERM: the signers, edges, Pebble and PostgreSQL clusters
  // started below are stopped and the temp directory removed, not left running.
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));
  process.once('SIGTERM', () => void stopAll().then(() => process.exit(143)));
  try {
    say(`dev CA in ${work}; load average ${load().join(' ')}`);
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

    // The signer's store on PostgreSQL too (a throwaway durable cluster), where PostgreSQL is installed.
    let pg: BenchPostgres | undefined;
    let pgSigner: SignerProc | undefined;
    const pgSkipped = growth10m ? 'not in --growth-10m' : postgresMissing();
    if (!pgSkipped) {
      pg = await startBenchPostgres();
      const pgStop = pg.stop;
      cleanups.push(() => pgStop());
      pgSigner = await startSignerProc(common, [], { url: pg.url, postmasterPid: pg.pid });
      const pgChild = pgSigner.child;
      cleanups.push(() => pgChild.stop());
    } else say(`signer on PostgreSQL skipped: ${pgSkipped}`);

    let signerResults: SignerResults | undefined;
    const targets: TargetResult[] = [];
    if (!growth10m) {
      say('signer: openssl speed, SoftHSM, builder, service, /v1/sign (libSQL file, then PostgreSQL)');
      signerResults = await benchSigner(init, signer, {
        count: plan.signerCount,
        concurrency: 8,
        workDir: work,
        opensslSeconds: 3,
        tlsCa: common.tlsCa,
        ...(pgSigner ? { postgresSigner: pgSigner } : {}),
      });

      const runTarget = async (t: Target, levels: number[], perKind: boolean) => {
        const http = new Http(common.tlsCa, 64);
        const chains: string[] = [];
        const out: LevelResult[] = [];
        let perKindResult: PerKindResult | undefined;
        let sqlPerKind: SqlPerKind | undefined;
        try {
          for (const [i, c] of levels.entries()) {
            say(`${t.name}: ${c} concurrent accounts, ${plan.seconds} s`);
            out.push(
              await runLevel({
                http,
                http01,
                directoryUrl: t.directoryUrl,
                concurrency: c,
                seconds: plan.seconds,
                serverPids: t.pids(),
                processes: t.processes(),
                ...(t.sqlSources.length ? { sql: new SqlProbe(t.sqlSources, common.tlsCa) } : {}),
                chains,
                domain: 'bench.test',
              }),
            );
            // After the first level, before the heavier ones: a server that stalls under load
            // (Pebble at 32 accounts in some runs) is still answering.
            if (perKind && i === 0) {
              say(`${t.name}: CPU per request kind, one request at a time, ${plan.perKindSeconds} s`);
              perKindResult = await runPerKind({
                http,
                http01,
                directoryUrl: t.directoryUrl,
                seconds: plan.perKindSeconds,
                processes: t.processes(),
                domain: 'bench.test',
              }).catch((e: unknown) => {
                say(`${t.name}: per-kind run failed: ${e instanceof Error ? e.message : String(e)}`);
                return undefined;
              });
              if (t.sqlSources.length) {
                sqlPerKind = await runSqlPerKind({
                  http,
                  http01,
                  directoryUrl: t.directoryUrl,
                  issuances: plan.sqlPerKindIssuances,
                  sources: t.sqlSources,
                  tlsCa: common.tlsCa,
                  domain: 'bench.test',
                });
              }
            }
          }
        } finally {
          http.close();
        }
        const check = verifyChains(chains, await t.rootPem(), 3);
        targets.push({
          target: t.name,
          levels: out,
          chains: check,
          ...(perKindResult ? { perKind: perKindResult } : {}),
          ...(sqlPerKind ? { sqlPerKind } : {}),
        });
      };

      const nodeEdge = await startNodeEdge(common, signer, join(work, 'edge-node.db'), profArgs('edge'));
      await runTarget(nodeEdge, plan.levels, true);
      await nodeEdge.stop();

      if (pgSigner) {
        const pgEdge = await startNodeEdge(
          common,
          pgSigner,
          join(work, 'edge-node-pg.db'),
          [],
          'edgeca (Node, signer on PostgreSQL)',
        );
        cleanups.push(() => pgEdge.stop());
        await runTarget(pgEdge, plan.postgresLevels, false);
        await pgEdge.stop();
      }

      const pebble = await startPebble(common, work);
      cleanups.push(() => pebble.stop());
      await runTarget(pebble, plan.levels, true);
      await pebble.stop();

      const denoEdge = await startDenoEdge(common, signer, join(work, 'edge-deno.db'));
      cleanups.push(() => denoEdge.stop());
      await runTarget(denoEdge, plan.denoLevels, true);
      await denoEdge.stop();
    }
    await pgSigner?.child.stop();
    pg?.stop();

    const sizes = plan.growthSizes;
    say(`growth: newOrder and finalize with ${sizes.map((n) => `${n / 1000}k`).join(', ')} stored orders`);
    const growthDb = join(work, 'edge-growth.db');
    const growthEdge = await startNodeEdge(common, signer, growthDb);
    cleanups.push(() => growthEdge.stop());
    const growth: GrowthStep[] = [];
    const http = new Http(common.tlsCa, 8);
    try {
      let have = 0;
      for (const size of sizes) {
        const t0 = Date.now();
        await seedOrders(`file:${growthDb}`, have, size, (done) => {
          if (size >= 1_000_000) say(`  seeded ${done} orders (${Math.round((Date.now() - t0) / 1000)} s)`);
        });
        const seedSeconds = Math.round((Date.now() - t0) / 100) / 10;
        say(`seeded ${size - have} orders in ${seedSeconds} s; load average ${load().join(' ')}`);
        have = size;
        const storedOrders = await countOrders(`file:${growthDb}`);
        // per table at every size up to 1 million; at 10 million walking every page takes minutes
        const byTable = size <= 1_000_000 || growth10m;
        const before: DbBytes = await dbBytes(growthDb, byTable);
        const level = await runLevel({
          http,
          http01,
          directoryUrl: growthEdge.directoryUrl,
          concurrency: 1,
          seconds: plan.growthSeconds,
          serverPids: growthEdge.pids(),
          processes: growthEdge.processes(),
          chains: [],
          domain: 'growth.test',
        });
        const after: DbBytes = await dbBytes(growthDb, byTable);
        growth.push({ storedOrders, seedSeconds, level, bytesBefore: before, bytesAfter: after });
      }
    } finally {
      http.close();
    }
    await growthEdge.stop();
    // Every row past its retention (the longest is the change log's 365 days) once the clock has
    // moved 400 days: what stays is what is never purged (accounts, settings).
    say('growth: purging with the clock 400 days ahead');
    const purge: PurgeResult = await purgeGrowth(growthDb, 400);
    say(`purged in ${purge.seconds} s (${purge.runs} runs, longest step ${purge.longestStepMs} ms)`);

    const result: BenchResult = {
      when: new Date().toISOString(),
      mode: growth10m ? 'growth-10m' : quick ? 'quick' : 'full',
      machine: { cpus: cpus().length, model: cpus()[0]?.model ?? '?', node: process.version },
      load: { start: loadAtStart, end: load() },
      seconds: Math.round((Date.now() - started) / 1000),
      ...(signerResults ? { signer: signerResults } : {}),
      issuance: targets,
      ...(pgSkipped ? { postgresSkipped: pgSkipped } : {}),
      growth,
      purge,
    };
    mkdirSync(outDir, { recursive: true });
    const file = join(outDir, `bench-${result.when.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(join(outDir, 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(formatReport(result));
    process.stdout.write(`\nJSON: ${file}\n`);
    const badChains =
      targets.reduce((n, t) => n + t.chains.failed, 0) + (signerResults?.chainsVerified.failed ?? 0);
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
