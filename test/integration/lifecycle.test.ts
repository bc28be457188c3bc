// The whole issuance path over real HTTPS with the project's own client, and what must survive:
// an edge restart in the middle of a flow (nonces and state live in the database), and a signer
// that is away at finalize (the order stays processing and completes when it is back, with one
// certificate — invariant 3 in docs/architecture.md).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { makeCsr } from '../../harness/csr.ts';
import type { Http01Server } from '../../harness/http01.ts';
import { accountOn, type OrderDoc, readyOrder, startSystemWithHttp01 } from '../support/issuance.ts';
import type { System } from '../support/system.ts';
import { verifyChain } from '../support/tools.ts';

let sys: System;
let http01: Http01Server;
let rig: Awaited<ReturnType<typeof startSystemWithHttp01>> | undefined;

describe('issuance lifecycle over HTTPS', { timeout: 180_000 }, () => {
  before(async () => {
    rig = await startSystemWithHttp01();
    ({ sys, http01 } = rig);
  });
  after(() => rig?.stop());

  test('an edge restart mid-flow loses nothing: nonce, account, order and authorization survive', async () => {
    const c = await accountOn(sys);
    const { order, url } = await readyOrder(c, http01);
    const nonce = await c.nonce();
    await sys.restartEdge();
    const csr = await makeCsr([], { ips: ['127.0.0.1'] });
    const res = await c.post(order.finalize, { csr: csr.b64u }, { nonce });
    assert.equal(res.status, 200, await res.clone().text());
    const done = await c.poll<OrderDoc>(url, (o) => o.status === 'valid' || o.status === 'invalid');
    assert.equal(done.status, 'valid', JSON.stringify(done.error));
    const cert = await c.post(done.certificate!, '');
    assert.equal(cert.headers.get('content-type'), 'application/pem-certificate-chain');
    await verifyChain(await cert.text(), sys.caFile);
  });

  test('a signer away at finalize leaves the order processing; it completes once the signer is back', async () => {
    const c = await accountOn(sys);
    const { order, url } = await readyOrder(c, http01);
    await sys.stopSigner();
    try {
      const res = await c.post(order.finalize, { csr: (await makeCsr([], { ips: ['127.0.0.1'] })).b64u });
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as OrderDoc).status, 'processing');
      assert.ok(res.headers.get('retry-after'), 'a processing order carries Retry-After');
    } finally {
      await sys.startSigner();
    }
    await new Promise((r) => setTimeout(r, 3100));
    const done = await c.poll<OrderDoc>(url, (o) => o.status !== 'processing');
    assert.equal(done.status, 'valid', JSON.stringify(done.error));
    const first = await (await c.post(done.certificate!, '')).text();
    const again = await c.poll<OrderDoc>(url, (o) => o.status === 'valid');
    assert.equal(await (await c.post(again.certificate!, '')).text(), first, 'one certificate per order');
    await verifyChain(first, sys.caFile);
  });
});
