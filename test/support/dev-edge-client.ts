// An ACME client of the edge `npm start` runs, and the relay metrics a test reads from it: orders
// for 127.0.0.1 made ready by http-01 and finalized later, so a test can hold a ready order across
// a signer going down.
import assert from 'node:assert/strict';
import type { Http01 } from '../conformance/harness.ts';
import { newKey, TestAcme } from './acme.ts';
import type { httpsFetch } from './https-fetch.ts';
import { csrFor, finalizeAndDownload, LOOPBACK, type OrderDoc, readyOrder } from './issuance.ts';

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
  /** A new order, validated: ready to finalize (npm start's edge may be slow: 300 reads at most). */
  readyOrder(): Promise<{ url: string; order: OrderDoc }> {
    const http01 = { set: (token: string, answer: string) => void this.http.answers.set(token, answer) };
    return readyOrder(this.acme, http01, LOOPBACK, {}, { tries: 300 });
  }
  /** Finalizes a ready order and returns its certificate chain. */
  async finalize(ready: { url: string; order: OrderDoc }): Promise<string> {
    const chain = await finalizeAndDownload(this.acme, ready, await csrFor(LOOPBACK), { tries: 300 });
    assert.match(chain, /^-----BEGIN CERTIFICATE-----/);
    return chain;
  }
}
