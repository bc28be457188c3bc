// An ACME client of the edge `npm start` runs, and the relay metrics a test reads from it: orders
// for 127.0.0.1 made ready by http-01 and finalized later, so a test can hold a ready order across
// a signer going down.
import assert from 'node:assert/strict';
import { makeCsr } from '../../harness/csr.ts';
import type { Http01 } from '../conformance/harness.ts';
import { newKey, TestAcme } from './acme.ts';
import type { httpsFetch } from './https-fetch.ts';

/** The value of the first line of a /metrics text that `line` matches (0 when none does). */
export const metricValue = (text: string, line: RegExp) =>
  Number(
    text
      .split('\n')
      .find((l) => line.test(l))
      ?.split(' ')
      .pop() ?? 0,
  );
/** The edge's sign calls that signer `peer` (0: signer-1) answered ... */
export const signAnswered = (peer: number) =>
  new RegExp(
    `^edgeca_relay_attempts_total\\{service="signer",peer="${peer}",op="sign",outcome="answered"\\}`,
  );
/** ... and those that found it unreachable. */
export const signUnreachable = (peer: number) =>
  new RegExp(
    `^edgeca_relay_attempts_total\\{service="signer",peer="${peer}",op="sign",outcome="unreachable"\\}`,
  );

export type Order = {
  status: string;
  authorizations: string[];
  finalize: string;
  certificate?: string;
  error?: unknown;
};

/** An ACME client of the dev edge: orders for 127.0.0.1 made ready by http-01, finalized later. */
export class DevEdgeClient {
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
