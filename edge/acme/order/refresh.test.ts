import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Http01Server, startHttp01Server } from '../../../harness/http01.ts';
import { newKey, TestAcme } from '../../../test/support/acme.ts';
import { type InprocEdge, startInprocEdge } from '../../../test/support/edge-app.ts';

describe('order state: abandoned validations', () => {
  let edge: InprocEdge;
  let http01: Http01Server;
  before(async () => {
    http01 = await startHttp01Server();
    edge = await startInprocEdge({ config: { http01Port: http01.port } });
  });
  after(async () => {
    edge.close();
    await http01.close();
  });

  it('resumes a validation its process abandoned when the client polls only the order', async () => {
    const c = await new TestAcme(edge.fetch, edge.directoryUrl, await newKey()).init();
    assert.equal((await c.newAccount()).status, 201);
    const res = await c.post(c.dir.newOrder, { identifiers: [{ type: 'ip', value: '127.0.0.1' }] });
    const orderUrl = res.headers.get('location')!;
    const order = (await res.json()) as { authorizations: string[] };
    const authz = (await (await c.post(order.authorizations[0]!, '')).json()) as {
      challenges: { type: string; token: string; url: string }[];
    };
    const ch = authz.challenges.find((x) => x.type === 'http-01')!;
    http01.set(ch.token, await c.keyAuthorization(ch.token));
    // What a process that died mid-validation leaves behind: processing, attempt long ago, no result.
    const id = ch.url.split('/').pop()!;
    await edge.svc.database.client!.execute({
      sql: "UPDATE challenges SET status = 'processing', attempt_at = ? WHERE id = ?",
      args: [Date.now() - 10 * 60_000, id],
    });
    let status = '';
    for (let i = 0; i < 50 && status !== 'ready'; i++) {
      status = ((await (await c.post(orderUrl, '')).json()) as { status: string }).status;
      if (status !== 'ready') await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(status, 'ready');
  });
});
