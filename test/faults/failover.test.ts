// Failover between two real signer processes (`edgeca signer serve`, SoftHSM, one libSQL file in
// WAL mode shared by both) behind one edge over real HTTPS on 127.0.0.1, with stand-ins for the
// failures a second signer must cover for: a stopped signer (connection refused), a hung one (a
// socket that accepts and never answers) and one answering 503. The order completes through the
// other signer; the failed one is skipped, then probed again after EDGECA_RELAY_RETRY_AFTER_S;
// /ready and /metrics show each signer's state by index and name no signer address.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadEdgeConfigFromEnv, type RunningEdge, startNodeEdge } from '../../edge/main/node.ts';
import { makeCsr } from '../../harness/csr.ts';
import { type Http01Server, startHttp01Server } from '../../harness/http01.ts';
import { freePort } from '../../harness/ports.ts';
import { httpAnswers, waitFor } from '../../harness/wait.ts';
import { type DevInit, initDev } from '../../signer/bootstrap.ts';
import { newKey, TestAcme } from '../support/acme.ts';
import { startFakeSigner } from '../support/fake-signer.ts';
import { httpsFetch } from '../support/https-fetch.ts';
import { readyOrder } from '../support/issuance.ts';
import { sleep } from './rig.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const CLI = join(ROOT, 'bin', 'edgeca.mjs');

type Order = {
  status: string;
  authorizations: string[];
  finalize: string;
  certificate?: string;
  error?: unknown;
};

let dir: string;
let init: DevInit;
let http01: Http01Server;
const signers: SignerProc[] = [];

interface SignerProc {
  url: string;
  port: number;
  configFile: string;
  proc?: ChildProcess;
  tail: string[];
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** One `edgeca signer serve` on its own port, with the shared token and database. */
function signerProc(index: number, port: number): SignerProc {
  const cfg = JSON.parse(readFileSync(init.signerConfigFile, 'utf8')) as { listen: Record<string, unknown> };
  cfg.listen = { ...cfg.listen, host: '127.0.0.1', port };
  // Beside signer.json, so its relative paths (token, database, keys) resolve the same.
  const configFile = join(dir, `signer-${index}.json`);
  writeFileSync(configFile, JSON.stringify(cfg));
  const s: SignerProc = {
    url: `http://127.0.0.1:${port}`,
    port,
    configFile,
    tail: [],
    async start() {
      const env: NodeJS.ProcessEnv = { ...process.env, SOFTHSM2_CONF: init.softhsmConf };
      delete env.NODE_TEST_CONTEXT; // would make the child report to this test runner
      const proc = spawn(process.execPath, [CLI, 'signer', 'serve', '--config', configFile], {
        cwd: ROOT,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      s.proc = proc;
      const keep = (c: Buffer) => {
        s.tail.push(...c.toString('utf8').split('\n').filter(Boolean));
        s.tail.splice(0, Math.max(0, s.tail.length - 30));
      };
      proc.stdout?.on('data', keep);
      proc.stderr?.on('data', keep);
      await waitFor(`signer ${index} healthy`, httpAnswers(`${s.url}/v1/health`), {
        timeoutMs: 15_000,
        intervalMs: 50,
        giveUp: () => (proc.exitCode !== null ? `signer ${index} exited` : undefined),
        context: () => s.tail.join('\n'),
      }).then((r) => r.body?.cancel());
    },
    async stop() {
      const proc = s.proc;
      if (!proc || proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
  return s;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgeca-failover-'));
  init = await initDev({ dir, signerPort: await freePort() });
  http01 = await startHttp01Server(await freePort());
  for (const i of [0, 1]) signers.push(signerProc(i, await freePort()));
  for (const s of signers) await s.start();
});
after(async () => {
  for (const s of signers) await s.stop();
  await http01?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** An edge (Node, HTTPS, in this process) on the shared edge database, with these relay settings. */
async function withEdge(env: Record<string, string>, run: (e: Edge) => Promise<void>): Promise<void> {
  const port = await freePort();
  const logs: Record<string, unknown>[] = [];
  const full = {
    EDGECA_HOST: '127.0.0.1',
    EDGECA_PORT: String(port),
    EDGECA_BASE_URL: `https://127.0.0.1:${port}`,
    EDGECA_DB_URL: `file:${join(dir, 'edge.db')}`,
    EDGECA_RELAY_KEY_FILE: init.relayKeyFile,
    EDGECA_SIGNER_KEY_FILE: init.signerAnswerPublicKeyFile,
    EDGECA_HTTP01_PORT: String(http01.port),
    EDGECA_ALLOW_LOOPBACK: 'true',
    ...env,
  };
  const edge: RunningEdge = await startNodeEdge(loadEdgeConfigFromEnv(full), {
    host: '127.0.0.1',
    port,
    tlsCertFile: init.edgeTlsCertFile,
    tlsKeyFile: init.edgeTlsKeyFile,
    log: (l) => void (logs.length < 5000 && logs.push(l)),
  });
  const fetchEdge = httpsFetch(init.rootCertFile);
  const acme = await new TestAcme(fetchEdge, `${full.EDGECA_BASE_URL}/directory`, await newKey()).init();
  try {
    assert.equal((await acme.newAccount()).status, 201);
    await run({ url: full.EDGECA_BASE_URL, acme, fetch: fetchEdge, logs });
  } finally {
    await edge.close();
  }
}

interface Edge {
  url: string;
  acme: TestAcme;
  fetch: ReturnType<typeof httpsFetch>;
  logs: Record<string, unknown>[];
}

/** An order for 127.0.0.1 made ready through http-01, then finalized: the finalize answer. */
async function finalize(e: Edge): Promise<{ url: string; order: Order }> {
  const c = e.acme;
  const { url, order } = await readyOrder(c, http01);
  const fin = await c.post(order.finalize, { csr: (await makeCsr([], { ips: ['127.0.0.1'] })).b64u });
  assert.equal(fin.status, 200, await fin.clone().text());
  return { url, order: (await fin.json()) as Order };
}

/** Finalize answers `valid` at once: the relay found a live signer within the one request. */
async function issuesAtOnce(e: Edge): Promise<void> {
  const { order } = await finalize(e);
  assert.equal(order.status, 'valid', JSON.stringify(order));
}

const metric = (text: string, line: RegExp) => text.split('\n').find((l) => line.test(l));
const value = (text: string, line: RegExp) => Number(metric(text, line)?.split(' ').pop() ?? Number.NaN);

function assertNoSignerAddress(text: string, extra: string[] = []): void {
  for (const port of [...signers.map((s) => String(s.port)), ...extra]) {
    assert.ok(
      !text.includes(`127.0.0.1:${port}`),
      `no signer address (port ${port}) in:\n${text.slice(0, 2000)}`,
    );
  }
}

describe('the edge fails over between signers', { timeout: 300_000 }, () => {
  test('a stopped signer: the order completes through the other; /ready and /metrics show it by index', async () => {
    await signers[0]!.stop();
    try {
      await withEdge({ EDGECA_SIGNER_URL: `${signers[0]!.url},${signers[1]!.url}` }, async (e) => {
        await issuesAtOnce(e);
        const ready = await e.fetch(`${e.url}/ready`);
        const readyText = await ready.text();
        assert.equal(ready.status, 200, readyText);
        assertNoSignerAddress(readyText);
        const check = (
          JSON.parse(readyText) as { checks: { name: string; detail: string; peers: unknown[] }[] }
        ).checks.find((x) => x.name === 'signer');
        assert.equal(check?.detail, '1 of 2 signers ready');
        assert.deepEqual(
          ((check?.peers ?? []) as { index: number; ok: boolean; up: boolean }[]).map((p) => [
            p.index,
            p.ok,
            p.up,
          ]),
          [
            [0, false, false],
            [1, true, true],
          ],
        );
        const metrics = await (await e.fetch(`${e.url}/metrics`)).text();
        assertNoSignerAddress(metrics);
        assert.equal(value(metrics, /^edgeca_relay_peer_up\{service="signer",peer="0"\}/), 0);
        assert.equal(value(metrics, /^edgeca_relay_peer_up\{service="signer",peer="1"\}/), 1);
        assert.equal(
          value(
            metrics,
            /^edgeca_relay_attempts_total\{service="signer",peer="0",op="sign",outcome="unreachable"\}/,
          ),
          1,
        );
        assert.equal(
          value(
            metrics,
            /^edgeca_relay_attempts_total\{service="signer",peer="1",op="sign",outcome="answered"\}/,
          ),
          1,
        );
        assert.ok(
          e.logs.some((l) => l.event === 'relay-peer-down' && l.peer === 0),
          'the edge log says which',
        );
      });
    } finally {
      await signers[0]!.start();
    }
  });

  test('a hung signer (accepts, never answers): finalize completes through the other at the connect timeout', {
    timeout: 120_000,
  }, async () => {
    const sockets: Socket[] = [];
    const hung: Server = createTcpServer((s) => {
      sockets.push(s); // reads nothing, writes nothing
    });
    await new Promise<void>((r) => hung.listen(0, '127.0.0.1', () => r()));
    const hungPort = (hung.address() as { port: number }).port;
    try {
      // A relay timeout of 10 minutes: an order that waited for it would not be valid at once.
      await withEdge(
        {
          EDGECA_SIGNER_URL: `http://127.0.0.1:${hungPort},${signers[1]!.url}`,
          EDGECA_RELAY_TIMEOUT_MS: '600000',
          EDGECA_RELAY_CONNECT_TIMEOUT_MS: '500',
        },
        async (e) => {
          await issuesAtOnce(e);
          assert.ok(sockets.length >= 1, 'the edge connected to the hung signer');
          const metrics = await (await e.fetch(`${e.url}/metrics`)).text();
          assert.equal(
            value(
              metrics,
              /^edgeca_relay_attempts_total\{service="signer",peer="0",op="sign",outcome="timeout"\}/,
            ),
            1,
          );
          assertNoSignerAddress(metrics, [String(hungPort)]);
        },
      );
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => hung.close(() => r()));
    }
  });

  test('a signer answering 503 is skipped for EDGECA_RELAY_RETRY_AFTER_S while the other serves', async () => {
    const failing = await startFakeSigner(() => ({ status: 503, body: 'HSM gone' }));
    try {
      await withEdge(
        { EDGECA_SIGNER_URL: `${failing.url},${signers[1]!.url}`, EDGECA_RELAY_RETRY_AFTER_S: '300' },
        async (e) => {
          await issuesAtOnce(e);
          await issuesAtOnce(e);
          assert.equal(failing.requests.length, 1, 'asked once, then skipped');
          const ready = (await (await e.fetch(`${e.url}/ready`)).json()) as {
            checks: { name: string; peers?: { index: number; up: boolean; retryInS?: number }[] }[];
          };
          const p0 = ready.checks.find((x) => x.name === 'signer')?.peers?.[0];
          assert.equal(p0?.up, false);
          assert.ok((p0?.retryInS ?? 0) > 200, `skipped for the interval (${p0?.retryInS} s left)`);
        },
      );
    } finally {
      await failing.close();
    }
  });

  test('the skipped signer is probed again once the interval has passed, and serves again', async () => {
    await withEdge(
      { EDGECA_SIGNER_URL: `${signers[0]!.url},${signers[1]!.url}`, EDGECA_RELAY_RETRY_AFTER_S: '1' },
      async (e) => {
        await signers[0]!.stop();
        try {
          await issuesAtOnce(e);
        } finally {
          await signers[0]!.start();
        }
        await sleep(1500);
        await issuesAtOnce(e);
        const metrics = await (await e.fetch(`${e.url}/metrics`)).text();
        assert.equal(
          value(
            metrics,
            /^edgeca_relay_attempts_total\{service="signer",peer="0",op="sign",outcome="answered"\}/,
          ),
          1,
          'signer 0 issued the second order',
        );
        assert.equal(value(metrics, /^edgeca_relay_peer_up\{service="signer",peer="0"\}/), 1);
        assert.ok(e.logs.some((l) => l.event === 'relay-peer-up' && l.peer === 0));
      },
    );
  });

  test('both signers wrote one audit chain that still verifies', () => {
    const r = spawnSync(
      process.execPath,
      [CLI, 'signer', 'audit-verify', '--config', init.signerConfigFile],
      {
        env: { ...process.env, SOFTHSM2_CONF: init.softhsmConf, NODE_TEST_CONTEXT: '' },
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    assert.equal(r.status, 0, `${r.stdout} ${r.stderr}`);
  });
});
