// Finalize reads the order's profile once: the CSR check and the relay to the signer see the same
// profile, and a finalize costs one profile read, not two.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { makeCsr } from '../../../harness/csr.ts';
import { type Http01Server, startHttp01Server } from '../../../harness/http01.ts';
import { newKey, TestAcme } from '../../../test/support/acme.ts';
import { type InprocEdge, startInprocEdge } from '../../../test/support/edge-app.ts';
import type { SignerClient } from '../../relay/signer-client.ts';

describe('finalize', () => {
  let edge: InprocEdge;
  let http01: Http01Server;
  const signed: Parameters<SignerClient['sign']>[0][] = [];
  before(async () => {
    http01 = await startHttp01Server();
    edge = await startInprocEdge({
      config: { http01Port: http01.port, sqlStatementMetrics: true },
      signer: {
        sign: async (req) => {
          signed.push(req);
          return { status: 'unavailable', detail: 'the order stays processing in this test' };
        },
        revoke: async () => ({ status: 'unavailable', detail: 'not in this test' }),
        crl: async () => new Uint8Array(),
      },
    });
  });
  after(async () => {
    edge.close();
    await http01.close();
  });

  it('reads the order profile once and relays with the profile it checked the CSR against', async () => {
    const c = await new TestAcme(edge.fetch, edge.directoryUrl, await newKey()).init();
    assert.equal((await c.newAccount()).status, 201);
    const res = await c.post(c.dir.newOrder, { identifiers: [{ type: 'ip', value: '127.0.0.1' }] });
    assert.equal(res.status, 201);
    const orderUrl = res.headers.get('location')!;
    const order = (await res.json()) as { authorizations: string[]; finalize: string; profile: string };
    const authz = (await (await c.post(order.authorizations[0]!, '')).json()) as {
      challenges: { type: string; token: string; url: string }[];
    };
    const ch = authz.challenges.find((x) => x.type === 'http-01')!;
    http01.set(ch.token, await c.keyAuthorization(ch.token));
    assert.equal((await c.post(ch.url, {})).status, 200);
    let status = '';
    for (let i = 0; i < 50 && status !== 'ready'; i++) {
      status = ((await (await c.post(orderUrl, '')).json()) as { status: string }).status;
      if (status !== 'ready') await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(status, 'ready');

    const settings = (await edge.svc.stores()).settings;
    const before = edge.svc.database.statements!.snapshot();
    const read = settings.profile.bind(settings);
    const reads: string[] = [];
    settings.profile = async (name) => {
      reads.push(name);
      return read(name);
    };
    try {
      const fin = await c.post(order.finalize, { csr: (await makeCsr([], { ips: ['127.0.0.1'] })).b64u });
      assert.equal(fin.status, 200, await fin.clone().text());
      assert.equal(((await fin.json()) as { status: string }).status, 'processing');
    } finally {
      settings.profile = read;
    }
    assert.deepEqual(reads, [order.profile]);
    // one read of the order and one guarded write before the relay (whose answer here leaves it
    // processing): no re-reads, no blocked-key query (the key's block is in the write's guard)
    const after = edge.svc.database.statements!.snapshot();
    const ran = (kind: string) => (after.get(kind) ?? 0) - (before.get(kind) ?? 0);
    assert.equal(ran('select orders'), 1);
    assert.equal(ran('update orders'), 1);
    assert.equal(ran('select blocked_keys'), 0);
    const profile = await read(order.profile);
    assert.equal(signed.length, 1);
    assert.equal(signed[0]!.profile, profile!.signerProfile);
  });
});
