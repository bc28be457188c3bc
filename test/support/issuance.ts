// One issuance over the ACME API with the project's own client, as the system tests run it: newOrder,
// each pending authorization answered over http-01 (or none, for pre-authorized names), the order
// polled until ready, finalize with a fresh CSR for its identifiers, the order polled until valid,
// the chain downloaded. Every poll is TestAcme.poll's, bounded. And the system they run against,
// with an http-01 responder on the port the edge dials.
import assert from 'node:assert/strict';
import { makeCsr } from '../../harness/csr.ts';
import { type Http01Server, startHttp01Server } from '../../harness/http01.ts';
import { freePort } from '../../harness/ports.ts';
import type { Identifier } from '../../shared/problems.ts';
import { newKey, TestAcme } from './acme.ts';
import { httpsFetch } from './https-fetch.ts';
import { type System, type SystemOptions, startSystem } from './system.ts';

export interface OrderDoc {
  status: string;
  authorizations: string[];
  finalize: string;
  certificate?: string;
  error?: unknown;
}

export const LOOPBACK: Identifier[] = [{ type: 'ip', value: '127.0.0.1' }];

/**
 * newOrder for `identifiers` (with `extra` order fields, e.g. `replaces`), its pending
 * authorizations answered over `http01` (none may be pending without one), then polled until ready
 * (`poll.tries` reads at most, as TestAcme.poll).
 */
export async function readyOrder(
  c: TestAcme,
  http01: Pick<Http01Server, 'set'> | undefined,
  identifiers: Identifier[] = LOOPBACK,
  extra: Record<string, unknown> = {},
  poll: { tries?: number } = {},
): Promise<{ order: OrderDoc; url: string }> {
  const res = await c.post(c.dir.newOrder, { identifiers, ...extra });
  assert.equal(res.status, 201, await res.clone().text());
  const url = res.headers.get('location');
  assert.ok(url, 'newOrder answers a Location');
  const order = (await res.json()) as OrderDoc;
  for (const a of order.authorizations) {
    const authz = (await (await c.post(a, '')).json()) as {
      status: string;
      challenges: { type: string; url: string; token: string }[];
    };
    if (authz.status === 'valid') continue;
    const ch = authz.challenges.find((x) => x.type === 'http-01');
    assert.ok(ch && http01, `authorization ${a} is ${authz.status} and no http-01 answer is at hand`);
    http01.set(ch.token, await c.keyAuthorization(ch.token));
    const answered = await c.post(ch.url, {});
    assert.equal(answered.status, 200, await answered.clone().text());
    await c.poll(a, (x) => x.status !== 'pending', poll);
  }
  return { order: await c.poll<OrderDoc>(url, (o) => o.status === 'ready', poll), url };
}

/** A CSR (base64url DER) for exactly the order's identifiers, with a fresh key or `keys`. */
export async function csrFor(identifiers: Identifier[], keys?: CryptoKeyPair): Promise<string> {
  const dns = identifiers.filter((i) => i.type === 'dns').map((i) => i.value);
  const ips = identifiers.filter((i) => i.type === 'ip').map((i) => i.value);
  return (await makeCsr(dns, { ...(ips.length ? { ips } : {}), ...(keys ? { key: keys } : {}) })).b64u;
}

/** Finalizes a ready order with `csr`, polls it until valid and downloads the PEM chain. */
export async function finalizeAndDownload(
  c: TestAcme,
  ready: { order: OrderDoc; url: string },
  csr: string,
  poll: { tries?: number } = {},
): Promise<string> {
  const fin = await c.post(ready.order.finalize, { csr });
  assert.equal(fin.status, 200, await fin.clone().text());
  const done = await c.poll<OrderDoc>(ready.url, (o) => o.status === 'valid' || o.status === 'invalid', poll);
  assert.equal(done.status, 'valid', JSON.stringify(done.error));
  assert.ok(done.certificate, 'a valid order names its certificate');
  return (await c.post(done.certificate, '')).text();
}

/** newOrder → http-01 (where needed) → finalize → the PEM chain. */
export async function issueOverHttp01(
  c: TestAcme,
  http01: Pick<Http01Server, 'set'> | undefined,
  {
    identifiers = LOOPBACK,
    extra = {},
  }: { identifiers?: Identifier[]; extra?: Record<string, unknown> } = {},
): Promise<string> {
  const ready = await readyOrder(c, http01, identifiers, extra);
  return finalizeAndDownload(c, ready, await csrFor(identifiers));
}

/** The whole system (startSystem) with an http-01 responder on the port the edge dials. */
export async function startSystemWithHttp01(
  opts: Omit<SystemOptions, 'http01Port'> = {},
): Promise<{ sys: System; http01: Http01Server; stop(): Promise<void> }> {
  const port = await freePort();
  const http01 = await startHttp01Server(port);
  try {
    const sys = await startSystem({ ...opts, http01Port: port });
    return {
      sys,
      http01,
      async stop() {
        await sys.stop();
        await http01.close();
      },
    };
  } catch (e) {
    await http01.close();
    throw e;
  }
}

/** A client of the system's edge over HTTPS with a new account (a fresh ES256 key). */
export async function accountOn(sys: Pick<System, 'caFile' | 'directoryUrl'>): Promise<TestAcme> {
  const c = await new TestAcme(httpsFetch(sys.caFile), sys.directoryUrl, await newKey()).init();
  const res = await c.newAccount();
  assert.equal(res.status, 201, await res.text());
  return c;
}
