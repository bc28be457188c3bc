// Crash tests (invariant 3 in docs/architecture.md): under a steady issuance load from a few concurrent
// clients, the signer and the edge are each killed with SIGKILL at least 20 times at random
// moments and started again. Afterwards: every order is valid, or invalid with a reason; no order
// has two certificates (the edge's certificates table and the signer's issuance record agree by
// order id, and the signer audited one issuance per order); the audit chain verifies; and every
// client that retried through the crashes got its certificates.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { createClient } from '@libsql/client';
import { type Http01, startHttp01 } from '../conformance/harness.ts';
import { httpsFetch } from '../support/https-fetch.ts';
import { CrashClient } from './client.ts';
import { type Rig, sleep, startRig, type Which } from './rig.ts';

const KILLS = Number(process.env.EDGECA_CRASH_KILLS ?? 20);
const CLIENTS = 4;
const IPS = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'];
const CLI = new URL('../../bin/edgeca.mjs', import.meta.url).pathname;

let rig: Rig;
let http: Http01;

before(async () => {
  http = await startHttp01(IPS);
  rig = await startRig({ http01Port: http.port });
  await rig.start('signer');
  await rig.start('edge');
});
after(async () => {
  await rig?.stop();
  await http?.close();
});

/** Kills `which` KILLS times at random moments, restarting it each time; returns the kill count. */
async function killer(which: Which, minGapMs: number, maxGapMs: number): Promise<number> {
  let kills = 0;
  for (let i = 0; i < KILLS; i++) {
    await sleep(minGapMs + Math.floor(Math.random() * (maxGapMs - minGapMs)));
    await rig.kill(which);
    kills++;
    // Sometimes the process stays down a while, so requests meet a refused connection.
    if (Math.random() < 0.3) await sleep(200 + Math.floor(Math.random() * 500));
    await rig.start(which);
  }
  return kills;
}

type Row = Record<string, unknown>;

async function rows(url: string, sql: string): Promise<Row[]> {
  const c = createClient({ url });
  try {
    return (await c.execute(sql)).rows as unknown as Row[];
  } finally {
    c.close();
  }
}

describe('crashes under load', () => {
  it('kill -9 of signer and edge loses no order and issues no order twice', async () => {
    const fetch = httpsFetch(rig.caFile);
    const clients = Array.from(
      { length: CLIENTS },
      (_, i) => new CrashClient(`client-${i}`, fetch, rig.directoryUrl, http.answers),
    );
    for (const c of clients) await c.init();
    let stop = false;
    const load = clients.map(async (c, i) => {
      for (let n = 0; n < 500 && !stop; n++) await c.issueOne(IPS[(i + n) % IPS.length]!);
    });
    const [signerKills, edgeKills] = await Promise.all([
      killer('signer', 300, 1200),
      killer('edge', 300, 1200),
    ]);
    stop = true;
    const killedAt = Date.now();
    await Promise.all(load);
    console.log(`# crash test: load drained ${Date.now() - killedAt} ms after the last kill`);
    assert.ok(
      signerKills >= KILLS && edgeKills >= KILLS,
      `killed signer ${signerKills}, edge ${edgeKills} times`,
    );

    // Orders whose newOrder answer was lost in a crash were never seen by their client: finish
    // them now as their owner would (each must still be completable, none stuck).
    const byAccount = new Map(clients.map((c) => [c.acme.kid!.split('/').pop()!, c]));
    const open = await rows(
      rig.edgeDbUrl,
      "SELECT id, account_id, identifiers FROM orders WHERE status NOT IN ('valid', 'invalid')",
    );
    for (const o of open) {
      const owner = byAccount.get(String(o.account_id));
      assert.ok(owner, `order ${o.id} belongs to a test client`);
      const ip = (JSON.parse(String(o.identifiers)) as { value: string }[])[0]!.value;
      await owner.complete(`${rig.edgeUrl}/acme/order/${o.id}`, ip);
    }

    const orders = await rows(rig.edgeDbUrl, 'SELECT id, status, error FROM orders');
    const certs = await rows(rig.edgeDbUrl, 'SELECT order_id, serial FROM certificates');
    const issuance = await rows(rig.signerDbUrl, 'SELECT order_id, serial, status FROM issuance');
    const signed = await rows(rig.signerDbUrl, "SELECT details FROM audit_log WHERE event = 'sign'");
    const summary = `${orders.length} orders, ${certs.length} certificates; kills: signer ${signerKills}, edge ${edgeKills}; retries ${clients.map((c) => c.record.retries).join('/')}`;
    console.log(`# crash test: ${summary}`);

    // Every order is valid, or invalid with a reason.
    for (const o of orders) {
      assert.ok(o.status === 'valid' || o.status === 'invalid', `order ${o.id} is ${o.status} (${summary})`);
      if (o.status === 'invalid')
        assert.ok(o.error && String(o.error).includes('detail'), `order ${o.id} invalid without a reason`);
    }
    // No order has two certificates, at the edge or at the signer, and both records agree.
    const edgeByOrder = new Map<string, string>();
    for (const c of certs) {
      assert.ok(!edgeByOrder.has(String(c.order_id)), `order ${c.order_id} has two certificates at the edge`);
      edgeByOrder.set(String(c.order_id), String(c.serial));
    }
    const signerByOrder = new Map(issuance.map((r) => [String(r.order_id), r]));
    for (const [orderId, serial] of edgeByOrder) {
      const s = signerByOrder.get(orderId);
      assert.ok(s, `order ${orderId}: certificate at the edge, none in the signer's record`);
      assert.equal(s.status, 'issued');
      assert.equal(
        String(s.serial).toLowerCase(),
        serial.toLowerCase(),
        `order ${orderId}: the edge and the signer name one serial`,
      );
    }
    const validOrders = new Set(orders.filter((o) => o.status === 'valid').map((o) => String(o.id)));
    for (const [orderId, s] of signerByOrder) {
      if (s.status === 'issued')
        assert.ok(
          validOrders.has(orderId),
          `order ${orderId}: issued by the signer but not valid at the edge`,
        );
    }
    for (const id of validOrders) assert.ok(edgeByOrder.has(id), `valid order ${id} has no certificate`);
    const auditedOrders = signed.map((r) =>
      String((JSON.parse(String(r.details)) as { orderId: string }).orderId),
    );
    assert.equal(
      new Set(auditedOrders).size,
      auditedOrders.length,
      'the signer audited one issuance per order',
    );
    assert.equal(
      auditedOrders.length,
      [...signerByOrder.values()].filter((s) => s.status === 'issued').length,
    );

    // The audit chain verifies.
    const verify = spawnSync(
      process.execPath,
      [CLI, 'signer', 'audit-verify', '--config', rig.init.signerConfigFile],
      {
        env: { ...process.env, SOFTHSM2_CONF: rig.init.softhsmConf, NODE_TEST_CONTEXT: '' },
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    assert.equal(verify.status, 0, `audit-verify: ${verify.stdout} ${verify.stderr}`);

    // Every client got certificates through the crashes; none gave up; each chain is the edge's record.
    for (const c of clients) {
      assert.deepEqual(c.record.abandoned, [], `${c.name} gave up on orders`);
      assert.ok(c.record.issued.length > 0, `${c.name} got no certificate`);
      for (const got of c.record.issued) {
        const id = got.orderUrl.split('/').pop()!;
        assert.ok(edgeByOrder.has(id), `${c.name}: order ${id} has its certificate on record`);
        assert.match(got.chainPem, /^-----BEGIN CERTIFICATE-----/);
      }
    }
    assert.ok(
      clients.some((c) => c.record.retries > 0),
      'the clients met the crashes (retried at least once)',
    );
  });
});
