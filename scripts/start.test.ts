// `npm start` as a newcomer runs it, on a copy of the checkout (the real .edgeca/dev and dist/ are
// left alone): with EDGECA_SIGNERS=2 and a PostgreSQL store (a throwaway server on 127.0.0.1,
// test/support/postgres.ts) it runs two signers on the store and the token, and the edge fails
// over between them; services.pid.json names every service's process group, so signer-1 can be
// killed from outside, and certificates keep coming through the edge while it is down and after
// the supervisor restarted it. endpoints.json is written once, whole: a reader polling it from the
// start sees no file (the stale one is gone first) and then the final one, never anything between.
// With EDGECA_SIGNERS=1 (the default store) the only signer is still `signer-1`.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeCsr } from '../harness/csr.ts';
import { freePort } from '../harness/ports.ts';
import { type Http01, startHttp01 } from '../test/conformance/harness.ts';
import { newKey, TestAcme } from '../test/support/acme.ts';
import { copyCheckout } from '../test/support/checkout-copy.ts';
import { httpsFetch } from '../test/support/https-fetch.ts';
import { type PgHarness, skipWithoutPostgres, startPostgres } from '../test/support/postgres.ts';
import { ROOT } from './lib/ensure.ts';

const DB = { name: 'edgeca_dev', user: 'edgeca_dev', password: 'start-test-password' };
const START_BOUND_MS = 420_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Json = Record<string, unknown>;

/** Two free ports in a row on 127.0.0.1 (signer-1 and signer-2), found within a bounded search. */
async function twoFreePorts(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const p = await freePort();
    if (p >= 65535) continue;
    const ok = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(p + 1, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (ok) return p;
  }
  throw new Error('no two free ports in a row on 127.0.0.1');
}

/** What a reader of a file saw, in order: no file, a file that does not parse, or JSON. */
type Seen = { kind: 'absent' } | { kind: 'torn'; text: string } | { kind: 'json'; value: Json; text: string };

/** Reads `file` every few milliseconds until stop(); keeps each change of what it saw. */
function watchFile(file: string): { seen: Seen[]; stop(): Promise<void> } {
  const seen: Seen[] = [];
  let running = true;
  const loop = (async () => {
    let last = '\u0000';
    while (running) {
      let text: string | undefined;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        text = undefined;
      }
      const key = text ?? '\u0001absent';
      if (key !== last) {
        last = key;
        if (text === undefined) seen.push({ kind: 'absent' });
        else {
          try {
            seen.push({ kind: 'json', value: JSON.parse(text) as Json, text });
          } catch {
            seen.push({ kind: 'torn', text });
          }
        }
      }
      await sleep(3);
    }
  })();
  return {
    seen,
    async stop() {
      running = false;
      await loop;
    },
  };
}

interface Started {
  proc: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

/** `npm start` (package.json: node scripts/bootstrap.mjs start) in the copy, with these variables. */
function npmStart(repo: string, vars: Record<string, string>): Started {
  const env: NodeJS.ProcessEnv = {};
  // Only what a shell would hand it: no EDGECA_* of the test's own, no test-runner context.
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('EDGECA_') && k !== 'NODE_TEST_CONTEXT' && !k.startsWith('NODE_OPTIONS')) env[k] = v;
  }
  const proc = spawn(process.execPath, ['scripts/bootstrap.mjs', 'start'], {
    cwd: repo,
    env: { ...env, ...vars },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  const keep = (c: Buffer) => {
    out = (out + c.toString('utf8')).slice(-60_000);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return { proc, output: () => out, exited };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Polls until `f` gives a value (bounded), failing with the supervisor's output. */
async function until<T>(
  what: string,
  s: Started,
  f: () => T | undefined | Promise<T | undefined>,
  ms: number,
) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await f();
    if (v !== undefined) return v;
    if (s.proc.exitCode !== null)
      throw new Error(`npm start exited while waiting for ${what}:\n${s.output()}`);
    await sleep(100);
  }
  throw new Error(`${what}: not within ${ms / 1000} s:\n${s.output().slice(-6000)}`);
}

/** Ctrl-C: SIGINT to the supervisor; then whatever the pid file still names is killed (bounded). */
async function stopStart(s: Started, pidFile: string): Promise<number | null> {
  if (s.proc.exitCode === null) s.proc.kill('SIGINT');
  const code = await Promise.race([s.exited, sleep(60_000).then(() => 'timeout' as const)]);
  if (code === 'timeout') {
    s.proc.kill('SIGKILL');
    try {
      const rec = JSON.parse(readFileSync(pidFile, 'utf8')) as { services: Record<string, number> };
      for (const pgid of Object.values(rec.services)) {
        try {
          process.kill(-pgid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    } catch {
      // no pid file
    }
    throw new Error(`npm start did not stop within 60 s of SIGINT:\n${s.output().slice(-4000)}`);
  }
  return code;
}

const metricValue = (text: string, line: RegExp) =>
  Number(
    text
      .split('\n')
      .find((l) => line.test(l))
      ?.split(' ')
      .pop() ?? 0,
  );
const signAnswered = (peer: number) =>
  new RegExp(
    `^edgeca_relay_attempts_total\\{service="signer",peer="${peer}",op="sign",outcome="answered"\\}`,
  );
const signUnreachable = (peer: number) =>
  new RegExp(
    `^edgeca_relay_attempts_total\\{service="signer",peer="${peer}",op="sign",outcome="unreachable"\\}`,
  );

type Order = {
  status: string;
  authorizations: string[];
  finalize: string;
  certificate?: string;
  error?: unknown;
};

/** An ACME client of the dev edge: orders for 127.0.0.1 made ready by http-01, finalized later. */
class Client {
  acme!: TestAcme;
  constructor(
    private readonly fetch: ReturnType<typeof httpsFetch>,
    private readonly directoryUrl: string,
    private readonly http: Http01,
  ) {}
  async init(): Promise<this> {
    this.acme = await new TestAcme(this.fetch, this.directoryUrl, await newKey()).init();
    const res = await this.acme.newAccount();
    assert.equal(res.status, 201, await res.text());
    return this;
  }
  /** A new order, validated: ready to finalize. */
  async readyOrder(): Promise<{ url: string; order: Order }> {
    const c = this.acme;
    const res = await c.post(c.dir.newOrder, { identifiers: [{ type: 'ip', value: '127.0.0.1' }] });
    assert.equal(res.status, 201, await res.clone().text());
    const url = res.headers.get('location')!;
    const order = (await res.json()) as Order;
    for (const a of order.authorizations) {
      const authz = (await (await c.post(a, '')).json()) as {
        challenges: { type: string; url: string; token: string }[];
      };
      const ch = authz.challenges.find((x) => x.type === 'http-01');
      assert.ok(ch, 'an http-01 challenge');
      this.http.answers.set(ch.token, await c.keyAuthorization(ch.token));
      await c.post(ch.url, {});
      await c.poll(a, (x: { status: string }) => x.status !== 'pending', { tries: 300 });
    }
    return { url, order: await c.poll<Order>(url, (o) => o.status === 'ready', { tries: 300 }) };
  }
  /** Finalizes a ready order and returns its certificate chain. */
  async finalize(ready: { url: string; order: Order }): Promise<string> {
    const c = this.acme;
    const fin = await c.post(ready.order.finalize, { csr: (await makeCsr([], { ips: ['127.0.0.1'] })).b64u });
    assert.equal(fin.status, 200, await fin.clone().text());
    const done = await c.poll<Order>(ready.url, (o) => o.status === 'valid' || o.status === 'invalid', {
      tries: 300,
    });
    assert.equal(done.status, 'valid', JSON.stringify(done));
    const chain = await (await c.post(done.certificate!, '')).text();
    assert.match(chain, /^-----BEGIN CERTIFICATE-----/);
    return chain;
  }
}

/**
 * A copy of the checkout with node_modules linked, as a fresh clone after `npm ci` looks. The
 * copy keeps the files' times: npm start runs `npm ci` when package-lock.json is newer than
 * node_modules, and through the link that would empty the checkout's own node_modules under
 * every other test; so a checkout that needs `npm ci` is refused here instead.
 */
function checkoutForStart(): string {
  const lock = statSync(join(ROOT, 'package-lock.json')).mtimeMs;
  const installed = join(ROOT, 'node_modules', '.package-lock.json');
  if (!existsSync(installed) || statSync(installed).mtimeMs < lock) {
    throw new Error('node_modules is older than package-lock.json: run `npm ci` in the checkout first');
  }
  const repo = copyCheckout('edgeca-start-');
  return repo;
}

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
    let client: Client;
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
      client = await new Client(fetchEdge, String(endpoints.directoryUrl), http).init();
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
      const client = await new Client(
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
