// The edge side of high availability (docs/ha.md, "Node edges behind a load balancer"): two edge
// processes, one on Node (`edgeca edge serve`) and one on Deno (edge/main/deno.ts), on one
// libSQL file, behind a round-robin TCP balancer (test/support/round-robin-proxy.ts) that every
// client goes through, one connection per request. Under load from four ACME clients, the edges
// are killed with SIGKILL in turn (Node, Deno, Node) and started again. Afterwards nothing is lost:
// every order a client created exists and is valid, or invalid with a reason; no order has two
// certificates, and the signer's record agrees with the edge's; every client got its certificates.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { denoRunArgs } from '../../harness/deno-run.ts';
import { freePort } from '../../harness/ports.ts';
import type { DevInit } from '../../signer/bootstrap.ts';
import { type Http01, startHttp01 } from '../conformance/harness.ts';
import { httpsFetch } from '../support/https-fetch.ts';
import { type RoundRobinProxy, startRoundRobinProxy } from '../support/round-robin-proxy.ts';
import { CrashClient } from './client.ts';
import {
  assertClientsServed,
  edgeLedger,
  finishOpenOrders,
  libsqlRows,
  normSerial,
  type Service,
  service,
  sleep,
} from './ha.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const CLI = join(ROOT, 'bin', 'edgeca.mjs');
const DENO = join(ROOT, 'node_modules', '.bin', 'deno');
const IPS = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'];
const KILLS = ['node', 'deno', 'node'] as const;

describe('HA: a Node and a Deno edge on one database behind a balancer, each killed -9 under load', {
  timeout: 900_000,
}, () => {
  let dir: string;
  let init: DevInit;
  let http: Http01;
  let proxy: RoundRobinProxy;
  let signer: Service;
  const edges: Record<'node' | 'deno', Service> = {} as Record<'node' | 'deno', Service>;
  let edgeDbUrl: string;
  let signerDbUrl: string;
  let publicUrl: string;
  const clients: CrashClient[] = [];
  let load: Promise<void>[] = [];
  let stopLoad = false;
  const loadAtStart = loadavg()[0]!.toFixed(1);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'edgeca-ha-edges-'));
    const { initDev } = await import('../../signer/bootstrap.ts');
    const signerPort = await freePort();
    init = await initDev({ dir, signerPort });
    signerDbUrl = `file:${join(dir, 'signer.db')}`;
    signer = service({
      name: 'signer',
      url: `http://127.0.0.1:${signerPort}`,
      command: process.execPath,
      args: [CLI, 'signer', 'serve', '--config', init.signerConfigFile],
      env: {
        ...(process.env as Record<string, string>),
        ...(init.softhsmConf ? { SOFTHSM2_CONF: init.softhsmConf } : {}),
      },
      cwd: ROOT,
      healthUrl: `http://127.0.0.1:${signerPort}/v1/health`,
      fetch: (u) => fetch(u, { signal: AbortSignal.timeout(3000) }),
    });
    await signer.start();

    http = await startHttp01(IPS);
    const ports = { node: await freePort(), deno: await freePort() };
    proxy = await startRoundRobinProxy([ports.node, ports.deno]);
    // One service, two instances: both name the balancer's origin in their URLs.
    publicUrl = `https://127.0.0.1:${proxy.port}`;
    edgeDbUrl = `file:${join(dir, 'edge.db')}`;
    const direct = httpsFetch(init.rootCertFile, 5000);
    const env = (port: number): Record<string, string> => ({
      ...(process.env as Record<string, string>),
      EDGECA_HOST: '127.0.0.1',
      EDGECA_PORT: String(port),
      EDGECA_BASE_URL: publicUrl,
      EDGECA_TLS_CERT_FILE: init.edgeTlsCertFile,
      EDGECA_TLS_KEY_FILE: init.edgeTlsKeyFile,
      EDGECA_DB_URL: edgeDbUrl,
      EDGECA_SIGNER_URL: signer.url,
      EDGECA_RELAY_KEY_FILE: init.relayKeyFile,
      EDGECA_SIGNER_KEY_FILE: init.signerAnswerPublicKeyFile,
      EDGECA_ALLOW_LOOPBACK: 'true',
      EDGECA_HTTP01_PORT: String(http.port),
    });
    edges.node = service({
      name: 'edge on Node',
      url: `https://127.0.0.1:${ports.node}`,
      command: process.execPath,
      args: [CLI, 'edge', 'serve'],
      env: env(ports.node),
      cwd: ROOT,
      healthUrl: `https://127.0.0.1:${ports.node}/directory`,
      fetch: direct,
    });
    edges.deno = service({
      name: 'edge on Deno',
      url: `https://127.0.0.1:${ports.deno}`,
      command: DENO,
      args: denoRunArgs({ readPaths: [dir], writePaths: [dir] }),
      env: env(ports.deno),
      cwd: ROOT,
      healthUrl: `https://127.0.0.1:${ports.deno}/directory`,
      fetch: direct,
      startTimeoutMs: 180_000,
    });
    // Node first: it makes the schema; then Deno on the same file.
    await edges.node.start();
    await edges.deno.start();

    const viaBalancer = httpsFetch(init.rootCertFile, 30_000, { newConnection: true });
    for (let i = 0; i < IPS.length; i++) {
      const c = new CrashClient(`client-${i}`, viaBalancer, `${publicUrl}/directory`, http.answers);
      await c.init();
      clients.push(c);
    }
    load = clients.map(async (c, i) => {
      for (let n = 0; n < 1000 && !stopLoad; n++) await c.issueOne(IPS[(i + n) % IPS.length]!);
    });
  });

  after(async () => {
    stopLoad = true;
    for (const e of Object.values(edges)) await e.stop();
    await signer?.stop();
    await proxy?.close();
    await http?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const certCount = async () =>
    Number((await libsqlRows(edgeDbUrl, 'SELECT COUNT(*) AS n FROM certificates'))[0]?.n ?? 0);

  /** Lets the load run until `more` certificates were added (bounded). */
  async function underLoad(more: number, boundMs = 180_000): Promise<void> {
    const from = await certCount();
    const deadline = Date.now() + boundMs;
    while ((await certCount()) < from + more) {
      assert.ok(
        Date.now() < deadline,
        `the load made fewer than ${more} certificates in ${boundMs / 1000} s`,
      );
      await sleep(250);
    }
  }

  test('each edge killed -9 under load and started again, in turn', { timeout: 600_000 }, async () => {
    for (const which of KILLS) {
      await underLoad(4);
      const servedBefore = [...proxy.served];
      await edges[which].kill9();
      // down a while: the balancer sends everything to the other edge meanwhile
      await sleep(1000);
      await edges[which].start();
      console.log(
        `# ha-edges: killed the ${which} edge; connections per edge since the last kill: ${proxy.served.map((n, i) => n - servedBefore[i]!).join('/')}`,
      );
    }
    await underLoad(4);
  });

  test('afterwards: every order a client made exists and is final, one certificate per order', {
    timeout: 300_000,
  }, async () => {
    stopLoad = true;
    await Promise.all(load);
    const finished = await finishOpenOrders(edgeDbUrl, publicUrl, clients);
    const ledger = await edgeLedger(edgeDbUrl);
    console.log(
      `# ha-edges: ${ledger.orders.length} orders, ${ledger.certs.length} certificates, ${finished} finished by their owner, connections per edge ${proxy.served.join('/')}, none accepted ${proxy.refused}, client retries ${clients.map((c) => c.record.retries).join('/')}; load average ${loadAtStart} at the start, ${loadavg()[0]!.toFixed(1)} now`,
    );

    // Nothing lost: what each client was told is what the shared database holds.
    const status = new Map(ledger.orders.map((o) => [String(o.id), String(o.status)]));
    for (const c of clients) {
      for (const got of c.record.issued) assert.equal(status.get(got.orderUrl.split('/').pop()!), 'valid');
      for (const bad of c.record.invalid) assert.equal(status.get(bad.orderUrl.split('/').pop()!), 'invalid');
    }
    assertClientsServed(clients, ledger);

    // One certificate per order at the signer too, the same serial as at the edge.
    const issuance = await libsqlRows(signerDbUrl, 'SELECT order_id, serial, status FROM issuance');
    const signed = await libsqlRows(signerDbUrl, "SELECT details FROM audit_log WHERE event = 'sign'");
    const bySigner = new Map(issuance.map((r) => [String(r.order_id), r]));
    for (const [orderId, serial] of ledger.certByOrder) {
      const s = bySigner.get(orderId);
      assert.equal(s?.status, 'issued', `order ${orderId} issued at the signer`);
      assert.equal(normSerial(String(s?.serial)), serial, `order ${orderId}: one serial at edge and signer`);
    }
    const signedOrders = signed.map((r) =>
      String((JSON.parse(String(r.details)) as { orderId: string }).orderId),
    );
    assert.equal(new Set(signedOrders).size, signedOrders.length, 'one sign event per order');
    assert.equal(signedOrders.length, ledger.certByOrder.size, 'every issuance reached the edge');

    // Both edges served, before and after their kills.
    assert.ok(
      proxy.served.every((n) => n > 20),
      `connections per edge: ${proxy.served.join('/')}`,
    );
  });
});
