// `npm start` as a newcomer runs it, on a copy of the checkout (the real .edgeca/dev and dist/ are
// left alone): with EDGECA_SIGNERS=2 and a PostgreSQL store (a throwaway server on 127.0.0.1,
// test/support/postgres.ts) it runs two signers on the store and the token, and the edge fails
// over between them; services.pid.json names every service's process group, so signer-1 can be
// killed from outside, and certificates keep coming through the edge while it is down and after
// the supervisor restarted it. endpoints.json is written once, whole: a reader polling it from the
// start sees no file (the stale one is gone first) and then the final one, never anything between.
// With EDGECA_SIGNERS=1 (the default store) the only signer is still `signer-1`.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../harness/ports.ts';
import { type Http01, startHttp01 } from '../test/conformance/harness.ts';
import {
  DevEdgeClient,
  metricValue,
  signAnswered,
  signUnreachable,
} from '../test/support/dev-edge-client.ts';
import { watchFile } from '../test/support/file-watch.ts';
import { httpsFetch } from '../test/support/https-fetch.ts';
import {
  alive,
  checkoutForStart,
  npmStart,
  type Started,
  stopStart,
  twoFreePorts,
  until,
} from '../test/support/npm-start.ts';
import { type PgHarness, skipWithoutPostgres, startPostgres } from '../test/support/postgres.ts';
import { ROOT } from './lib/ensure.ts';

const DB = { name: 'edgeca_dev', user: 'edgeca_dev', password: 'start-test-password' };
const START_BOUND_MS = 420_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Json = Record<string, unknown>;

const skip = skipWithoutPostgres();

describe('npm start', { skip, timeout: 1_200_000 }, () => {
  let repo: string;
  let devDir: string;
  let pg: PgHarness;
  let http: Http01;
  let started: Started | undefined;
  let pidFile: string;
  let endpointsFile: string;

  before(async () => {
    repo = checkoutForStart();
    devDir = join(repo, '.edgeca', 'dev');
    pidFile = join(devDir, 'services.pid.json');
    endpointsFile = join(devDir, 'endpoints.json');
    pg = await startPostgres();
    await pg.createDatabase(DB.name, { user: DB.user, password: DB.password });
    http = await startHttp01(['127.0.0.1']);
  });
  after(async () => {
    if (started) await stopStart(started, pidFile).catch(() => {});
    await http?.close();
    await pg?.destroy();
    if (repo) rmSync(repo, { recursive: true, force: true });
  });

  test('package.json runs scripts/start.ts through the bootstrap for npm start', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Json };
    assert.equal(pkg.scripts.start, 'node scripts/bootstrap.mjs start');
  });

  describe('EDGECA_SIGNERS=2 with EDGECA_SIGNER_DATABASE_URL', { timeout: 900_000 }, () => {
    let endpoints: Json;
    let services: Record<string, number>;
    let signerBase: number;
    let fetchEdge: ReturnType<typeof httpsFetch>;
    let client: DevEdgeClient;
    const passwordFile = () => join(repo, 'db-password');

    test('runs two signers on the store, names every process group, writes endpoints.json once, whole', {
      timeout: START_BOUND_MS + 60_000,
    }, async () => {
      signerBase = await twoFreePorts();
      writeFileSync(passwordFile(), `${DB.password}\n`, { mode: 0o600 });
      const watchEndpoints = watchFile(endpointsFile);
      const watchPids = watchFile(pidFile);
      started = npmStart(repo, {
        EDGECA_SIGNERS: '2',
        EDGECA_SIGNER_DATABASE_URL: pg.primary.url(DB.name, DB.user),
        EDGECA_SIGNER_DATABASE_PASSWORD_FILE: passwordFile(),
        EDGECA_PORT: String(await freePort()),
        EDGECA_SIGNER_PORT: String(signerBase),
        EDGECA_VALIDATOR_PORT: String(await freePort()),
        EDGECA_HTTP01_PORT: String(http.port),
        // a loaded machine: the first start builds dist/ and makes the token
        EDGECA_START_TIMEOUT_S: String(START_BOUND_MS / 1000),
        // a signer that was down is tried again after a second (default 30 s)
        EDGECA_RELAY_RETRY_AFTER_S: '1',
      });
      const s = started;
      endpoints = await until(
        'endpoints.json',
        s,
        () => {
          const last = watchEndpoints.seen.at(-1);
          return last?.kind === 'json' ? last.value : undefined;
        },
        START_BOUND_MS,
      );
      await until(
        'the ready banner',
        s,
        () => (/edgeca is running/.test(s.output()) ? true : undefined),
        30_000,
      );
      await sleep(500);
      await watchEndpoints.stop();
      await watchPids.stop();

      // Read from the start: no file, then the final one whole; nothing torn, nothing partial.
      const kinds = watchEndpoints.seen.map((x) => x.kind);
      assert.deepEqual(
        kinds.filter((k, i) => k !== kinds[i - 1]),
        ['absent', 'json'],
        `endpoints.json as a reader saw it: ${JSON.stringify(watchEndpoints.seen).slice(0, 2000)}`,
      );
      assert.equal(watchEndpoints.seen.filter((x) => x.kind === 'json').length, 1, 'written once');
      assert.ok(
        watchPids.seen.every((x) => x.kind !== 'torn'),
        `services.pid.json read torn: ${JSON.stringify(watchPids.seen.filter((x) => x.kind === 'torn'))}`,
      );

      const urls = [`https://127.0.0.1:${signerBase}`, `https://127.0.0.1:${signerBase + 1}`];
      assert.deepEqual(endpoints.signerUrls, urls);
      assert.equal(endpoints.signerUrl, urls[0]);
      for (const k of [
        'directoryUrl',
        'edgeUrl',
        'adminUrl',
        'signerCaFile',
        'tlsCaFile',
        'softhsmConf',
        'pinFile',
      ])
        assert.ok(endpoints[k], `endpoints.json has ${k}`);

      const rec = JSON.parse(readFileSync(pidFile, 'utf8')) as {
        supervisor: number;
        services: Record<string, number>;
      };
      assert.equal(rec.supervisor, s.proc.pid);
      services = rec.services;
      assert.deepEqual(Object.keys(services).sort(), ['edge', 'signer-1', 'signer-2', 'validator']);
      for (const [name, pgid] of Object.entries(services)) {
        assert.ok(alive(pgid), `${name}: process group ${pgid} runs`);
        // its own process group: the leader's pgid is its pid
        const stat = readFileSync(`/proc/${pgid}/stat`, 'utf8');
        assert.equal(
          Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]),
          pgid,
          `${name} leads its group`,
        );
      }

      const signerFetch = httpsFetch(String(endpoints.signerCaFile));
      for (const u of urls) assert.equal((await signerFetch(`${u}/v1/health`)).status, 200, u);
      // Both signers on the PostgreSQL store: the schema is there, made by the first.
      assert.ok(Number(await pg.primary.psql('SELECT COUNT(*) FROM schema_migrations', DB.name)) > 0);

      // The password reached the signers through the file only: not in a config, a command line,
      // or the environment of any process.
      for (const f of ['signer.json', 'signer.start.json', 'signer-2.start.json']) {
        const text = readFileSync(join(devDir, f), 'utf8');
        assert.doesNotMatch(text, new RegExp(DB.password), f);
      }
      const cfg2 = JSON.parse(readFileSync(join(devDir, 'signer-2.start.json'), 'utf8')) as Json;
      assert.equal(cfg2.databasePasswordFile, passwordFile());
      assert.equal(cfg2.database, pg.primary.url(DB.name, DB.user));
      for (const [name, pgid] of Object.entries({ supervisor: s.proc.pid!, ...services })) {
        const cmdline = readFileSync(`/proc/${pgid}/cmdline`, 'utf8');
        const environ = readFileSync(`/proc/${pgid}/environ`, 'utf8');
        assert.doesNotMatch(cmdline, new RegExp(DB.password), `${name} command line`);
        assert.doesNotMatch(environ, new RegExp(DB.password), `${name} environment`);
        if (name === 'edge' || name === 'validator')
          assert.doesNotMatch(environ, /EDGECA_SIGNER_DATABASE/, `${name} gets nothing of the store`);
      }

      fetchEdge = httpsFetch(String(endpoints.tlsCaFile));
      client = await new DevEdgeClient(fetchEdge, String(endpoints.directoryUrl), http).init();
      await client.finalize(await client.readyOrder());
    });

    test('with signer-1 killed -9 from outside, the edge issues through signer-2; after the restart, through signer-1', {
      timeout: 300_000,
    }, async () => {
      assert.ok(started && endpoints, 'npm start is running');
      const s = started;
      const metrics = async () => (await fetchEdge(`${endpoints.edgeUrl}/metrics`)).text();
      const ready = await client.readyOrder();
      const before = await metrics();

      const victim = services['signer-1']!;
      process.kill(-victim, 'SIGKILL');
      for (let i = 0; i < 200 && alive(victim); i++) await sleep(25);
      assert.ok(!alive(victim), 'signer-1 is gone');
      // While it is down (the supervisor waits before restarting it): finalize through the edge.
      await client.finalize(ready);
      const during = await metrics();
      assert.ok(
        metricValue(during, signUnreachable(0)) > metricValue(before, signUnreachable(0)),
        'the edge found signer-1 unreachable',
      );
      assert.ok(
        metricValue(during, signAnswered(1)) > metricValue(before, signAnswered(1)),
        'signer-2 signed it',
      );

      // The supervisor restarts signer-1 in a new process group and records it.
      const restarted = await until(
        'signer-1 restarted',
        s,
        () => {
          try {
            const rec = JSON.parse(readFileSync(pidFile, 'utf8')) as { services: Record<string, number> };
            const pgid = rec.services['signer-1'];
            return pgid && pgid !== victim && alive(pgid) ? rec.services : undefined;
          } catch {
            return undefined;
          }
        },
        120_000,
      );
      assert.equal(restarted['signer-2'], services['signer-2'], 'signer-2 kept running');
      assert.equal(restarted.edge, services.edge, 'the edge kept running');
      const signerFetch = httpsFetch(String(endpoints.signerCaFile));
      const urls = endpoints.signerUrls as string[];
      await until(
        'signer-1 healthy',
        s,
        async () =>
          (await signerFetch(`${urls[0]}/v1/health`).catch(() => undefined))?.status === 200
            ? true
            : undefined,
        120_000,
      );
      assert.match(s.output(), /signer-1 exited \(SIGKILL\); restarting it/);
      // Past EDGECA_RELAY_RETRY_AFTER_S the edge prefers signer-1 again.
      await sleep(1500);
      const beforeAgain = await metrics();
      await client.finalize(await client.readyOrder());
      const afterAgain = await metrics();
      assert.ok(
        metricValue(afterAgain, signAnswered(0)) > metricValue(beforeAgain, signAnswered(0)),
        'the restarted signer-1 signed it',
      );
      assert.equal(
        await pg.primary.psql("SELECT COUNT(*) FROM issuance WHERE status = 'issued'", DB.name),
        '3',
        'three certificates in the PostgreSQL store',
      );
    });

    test('Ctrl-C stops every service and removes services.pid.json', { timeout: 120_000 }, async () => {
      assert.ok(started);
      const rec = JSON.parse(readFileSync(pidFile, 'utf8')) as { services: Record<string, number> };
      const code = await stopStart(started, pidFile);
      started = undefined;
      assert.equal(code, 0);
      for (const [name, pgid] of Object.entries(rec.services)) assert.ok(!alive(pgid), `${name} stopped`);
      assert.ok(!existsSync(pidFile));
    });
  });

  describe('EDGECA_SIGNERS=1 (the default store) after that', { timeout: 600_000 }, () => {
    test('names its only signer signer-1; the stale endpoints.json is gone before the new one comes', {
      timeout: START_BOUND_MS + 60_000,
    }, async () => {
      const staleText = readFileSync(endpointsFile, 'utf8');
      const stale = JSON.parse(staleText) as Json;
      assert.equal((stale.signerUrls as string[]).length, 2, 'the earlier start left its endpoints.json');
      const watchEndpoints = watchFile(endpointsFile);
      const signerPort = await freePort();
      started = npmStart(repo, {
        EDGECA_PORT: String(await freePort()),
        EDGECA_SIGNER_PORT: String(signerPort),
        EDGECA_VALIDATOR_PORT: String(await freePort()),
        EDGECA_HTTP01_PORT: String(http.port),
        EDGECA_START_TIMEOUT_S: String(START_BOUND_MS / 1000),
      });
      const s = started;
      const endpoints = await until(
        'the new endpoints.json',
        s,
        () => {
          const last = watchEndpoints.seen.at(-1);
          return last?.kind === 'json' && last.text !== staleText ? last.value : undefined;
        },
        START_BOUND_MS,
      );
      await watchEndpoints.stop();
      const kinds = watchEndpoints.seen.map((x) =>
        x.kind === 'json' ? (x.text === staleText ? 'stale' : 'new') : x.kind,
      );
      assert.deepEqual(
        kinds.filter((k, i) => k !== kinds[i - 1]),
        ['stale', 'absent', 'new'],
        `endpoints.json as a reader saw it: ${JSON.stringify(kinds)}`,
      );
      assert.deepEqual(endpoints.signerUrls, [`https://127.0.0.1:${signerPort}`]);
      assert.equal(endpoints.signerUrl, `https://127.0.0.1:${signerPort}`);
      const rec = JSON.parse(readFileSync(pidFile, 'utf8')) as { services: Record<string, number> };
      assert.deepEqual(Object.keys(rec.services).sort(), ['edge', 'signer-1', 'validator']);
      assert.ok(!existsSync(join(devDir, 'signer-2.start.json')), 'no config left for a signer-2');
      // the default store: signer.db beside signer.json, not PostgreSQL
      const cfg = JSON.parse(readFileSync(String(endpoints.signerConfigFile), 'utf8')) as Json;
      assert.equal(cfg.database, 'file:signer.db');
      assert.equal(cfg.databasePasswordFile, undefined);
      const client = await new DevEdgeClient(
        httpsFetch(String(endpoints.tlsCaFile)),
        String(endpoints.directoryUrl),
        http,
      ).init();
      await client.finalize(await client.readyOrder());
      assert.equal(await stopStart(s, pidFile), 0);
      started = undefined;
    });
  });
});
