// Resource limits, each configurable through an EDGECA_* setting and each proved here:
// request body cap, identifiers per order, unfinished orders and pending authorizations per
// account, the nonce used-set pruned at expiry, expiry of stale orders and authorizations, and the
// Node server cutting off a slow client.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { defaultEdgeConfig, type EdgeConfig, edgeConfigFromEnv } from '../../edge/config.ts';
import { startNodeEdge } from '../../edge/main/node.ts';
import { newKey, TestAcme } from '../support/acme.ts';
import { type InprocEdge, startInprocEdge } from '../support/edge-app.ts';
import { sleep } from './rig.ts';

const RELAY_KEY = JSON.stringify({ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: 'd', kid: 'k' });
const SIGNER_KEY = JSON.stringify({ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid: 's' });
const KEYS = { EDGECA_RELAY_KEY: RELAY_KEY, EDGECA_SIGNER_KEY: SIGNER_KEY };

describe('resource limits are read from the environment', () => {
  const table: [string, keyof EdgeConfig, number][] = [
    ['EDGECA_MAX_BODY_BYTES', 'maxBodyBytes', 4096],
    ['EDGECA_MAX_IDENTIFIERS_PER_ORDER', 'maxIdentifiersPerOrder', 7],
    ['EDGECA_MAX_PENDING_AUTHZS', 'maxPendingAuthzsPerAccount', 11],
    ['EDGECA_MAX_PENDING_ORDERS', 'maxPendingOrdersPerAccount', 12],
    ['EDGECA_NONCE_LIFETIME_S', 'nonceLifetimeSeconds', 60],
    ['EDGECA_ORDER_LIFETIME_S', 'orderLifetimeSeconds', 3600],
    ['EDGECA_AUTHZ_LIFETIME_S', 'authzLifetimeSeconds', 1800],
    ['EDGECA_RELAY_TIMEOUT_MS', 'relayTimeoutMs', 2500],
    ['EDGECA_RELAY_CONNECT_TIMEOUT_MS', 'relayConnectTimeoutMs', 750],
    ['EDGECA_RELAY_RETRY_AFTER_S', 'relayRetryAfterS', 5],
    ['EDGECA_HEADERS_TIMEOUT_MS', 'headersTimeoutMs', 5000],
    ['EDGECA_REQUEST_TIMEOUT_MS', 'requestTimeoutMs', 20_000],
    ['EDGECA_NONCE_REJECT_PERCENT', 'nonceRejectPercent', 25],
  ];
  for (const [name, key, value] of table) {
    it(`${name} sets ${key}`, () => {
      const cfg = edgeConfigFromEnv({ ...KEYS, [name]: String(value) });
      assert.equal(cfg[key], value);
    });
    it(`${name} refuses a value that is not a non-negative integer`, () => {
      assert.throws(() => edgeConfigFromEnv({ ...KEYS, [name]: '-1' }), new RegExp(name));
    });
  }
  it('EDGECA_NONCE_REJECT_PERCENT refuses more than 100', () => {
    assert.throws(() => edgeConfigFromEnv({ ...KEYS, EDGECA_NONCE_REJECT_PERCENT: '101' }));
  });
});

describe('limits on requests and accounts', () => {
  let edge: InprocEdge;
  let acme: TestAcme;
  before(async () => {
    edge = await startInprocEdge({
      config: {
        maxBodyBytes: 2048,
        maxIdentifiersPerOrder: 3,
        maxPendingOrdersPerAccount: 3,
        maxPendingAuthzsPerAccount: 5,
      },
    });
    acme = await new TestAcme(edge.fetch, edge.directoryUrl, await newKey()).init();
    assert.equal((await acme.newAccount()).status, 201);
  });
  after(() => edge.close());

  const ids = (...names: string[]) => ({ identifiers: names.map((value) => ({ type: 'dns', value })) });

  async function refused(res: Response, status: number, type: string): Promise<Record<string, unknown>> {
    const doc = (await res.json()) as Record<string, unknown>;
    assert.equal(res.status, status, JSON.stringify(doc));
    assert.equal(doc.type, `urn:ietf:params:acme:error:${type}`);
    return doc;
  }

  it('refuses a body over the cap with 413 and changes nothing', async () => {
    const before = await edge.snapshot();
    const big = ids(...Array.from({ length: 3 }, (_, i) => `${'a'.repeat(60)}${i}.${'b'.repeat(60)}.test`));
    const res = await acme.post(acme.dir.newOrder, { ...big, padding: 'x'.repeat(3000) });
    await refused(res, 413, 'malformed'); // 413 has no ACME type of its own (shared/problems.ts)
    assert.equal(await edge.snapshot(), before);
  });

  it('refuses a body over the cap even without a Content-Length (streamed)', async () => {
    const chunks = new TextEncoder().encode(`{"protected":"${'A'.repeat(4000)}"}`);
    const body = new ReadableStream({
      start(c) {
        c.enqueue(chunks);
        c.close();
      },
    });
    const res = await edge.fetch(acme.dir.newOrder, {
      method: 'POST',
      headers: { 'content-type': 'application/jose+json' },
      body,
      duplex: 'half',
    } as RequestInit);
    await refused(res, 413, 'malformed'); // 413 has no ACME type of its own (shared/problems.ts)
  });

  it('refuses more identifiers than maxIdentifiersPerOrder', async () => {
    const res = await acme.post(acme.dir.newOrder, ids('a.test', 'b.test', 'c.test', 'd.test'));
    await refused(res, 400, 'rejectedIdentifier');
  });

  it('refuses a new order once the account holds maxPendingOrdersPerAccount unfinished ones', async () => {
    for (const n of ['o1.test', 'o2.test', 'o3.test'])
      assert.equal((await acme.post(acme.dir.newOrder, ids(n))).status, 201);
    const before = await edge.snapshot();
    const res = await acme.post(acme.dir.newOrder, ids('o4.test'));
    const doc = await refused(res, 429, 'rateLimited');
    assert.match(String(doc.detail), /unfinished orders/);
    assert.ok(res.headers.get('retry-after'), 'Retry-After');
    assert.equal(await edge.snapshot(), before);
  });

  it('refuses an order that would take the account past maxPendingAuthzsPerAccount', async () => {
    const other = await new TestAcme(edge.fetch, edge.directoryUrl, await newKey()).init();
    assert.equal((await other.newAccount()).status, 201);
    assert.equal((await other.post(other.dir.newOrder, ids('p1.test', 'p2.test', 'p3.test'))).status, 201);
    const before = await edge.snapshot();
    const res = await other.post(other.dir.newOrder, ids('p4.test', 'p5.test', 'p6.test'));
    const doc = await refused(res, 429, 'rateLimited');
    assert.match(String(doc.detail), /pending authorizations/);
    assert.equal(await edge.snapshot(), before);
    // two more fit exactly
    assert.equal((await other.post(other.dir.newOrder, ids('p4.test', 'p5.test'))).status, 201);
  });

  it('refuses a pre-authorization (newAuthz) past maxPendingAuthzsPerAccount too', async () => {
    const third = await new TestAcme(edge.fetch, edge.directoryUrl, await newKey()).init();
    assert.equal((await third.newAccount()).status, 201);
    const newAuthz = third.dir.newAuthz ?? '';
    assert.ok(newAuthz, 'the directory offers newAuthz');
    for (const n of ['q1.test', 'q2.test', 'q3.test', 'q4.test', 'q5.test'])
      assert.equal((await third.post(newAuthz, { identifier: { type: 'dns', value: n } })).status, 201);
    const before = await edge.snapshot();
    const res = await third.post(newAuthz, { identifier: { type: 'dns', value: 'q6.test' } });
    const doc = await refused(res, 429, 'rateLimited');
    assert.match(String(doc.detail), /pending authorizations \(at most 5\)/);
    assert.equal(await edge.snapshot(), before);
  });
});

describe('expiry and clean-up', () => {
  let edge: InprocEdge;
  let acme: TestAcme;
  before(async () => {
    edge = await startInprocEdge({
      config: { orderLifetimeSeconds: 1, authzLifetimeSeconds: 1, nonceLifetimeSeconds: 1 },
    });
    acme = await new TestAcme(edge.fetch, edge.directoryUrl, await newKey()).init();
    assert.equal((await acme.newAccount()).status, 201);
  });
  after(() => edge.close());

  it('a stale order turns invalid with a reason, its authorization expired, and they stop counting', async () => {
    const res = await acme.post(acme.dir.newOrder, { identifiers: [{ type: 'dns', value: 'stale.test' }] });
    assert.equal(res.status, 201);
    const url = res.headers.get('location')!;
    const order = (await res.json()) as { authorizations: string[] };
    await sleep(1200);
    const o = (await (await acme.post(url, '')).json()) as { status: string; error?: { detail: string } };
    assert.equal(o.status, 'invalid');
    assert.match(o.error?.detail ?? '', /expired/);
    const a = (await (await acme.post(order.authorizations[0]!, '')).json()) as { status: string };
    assert.equal(a.status, 'expired');
    assert.deepEqual(await edge.svc.orders.countOpen(acme.kid!.split('/').pop()!, Date.now()), {
      orders: 0,
      authzs: 0,
    });
  });

  it('used nonces are pruned once expired: the used set stays bounded', async () => {
    for (let i = 0; i < 20; i++) assert.ok(await edge.svc.nonces.consume(await edge.svc.nonces.issue()));
    const count = async () =>
      Number((await edge.svc.database.client!.execute('SELECT count(*) AS n FROM nonces')).rows[0]?.n);
    assert.ok((await count()) >= 20);
    await sleep(1200);
    assert.ok((await edge.svc.nonces.prune()) >= 20);
    assert.equal(await count(), 0);
  });

  it('an expired nonce is refused with badNonce', async () => {
    const nonce = await acme.nonce();
    await sleep(1100);
    const res = await acme.post(
      acme.dir.newOrder,
      { identifiers: [{ type: 'dns', value: 'n.test' }] },
      { nonce },
    );
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { type: string }).type, 'urn:ietf:params:acme:error:badNonce');
  });
});

describe('slow clients on the Node server', () => {
  it('cuts off a client that does not finish its headers within headersTimeoutMs', async () => {
    const { generateKeyPair, exportJWK } = await import('jose');
    const k = await generateKeyPair('ES256', { extractable: true });
    const dir = (await import('node:fs')).mkdtempSync(`${(await import('node:os')).tmpdir()}/edgeca-slow-`);
    const config = defaultEdgeConfig({
      baseUrl: 'http://127.0.0.1:1',
      dbUrl: `file:${dir}/edge.db`,
      signerUrl: 'http://127.0.0.1:9',
      relayKeyJwk: { ...(await exportJWK(k.privateKey)), kid: 'slow' },
      headersTimeoutMs: 500,
      requestTimeoutMs: 1000,
    });
    const edge = await startNodeEdge(config);
    try {
      const started = Date.now();
      const closed = await new Promise<number>((resolve, reject) => {
        const s = connect(edge.port, '127.0.0.1', () => {
          s.write('GET /directory HTTP/1.1\r\nHost: 127.0.0.1\r\n');
          // ...and never the blank line: a slowloris trickle of one header a while
          const t = setInterval(() => s.write('X-Slow: 1\r\n'), 100);
          s.on('close', () => {
            clearInterval(t);
            resolve(Date.now() - started);
          });
        });
        s.on('error', () => {});
        setTimeout(() => reject(new Error('the server kept a slow client for 5 s')), 5000).unref();
      });
      assert.ok(closed < 3000, `closed after ${closed} ms`);
    } finally {
      await edge.close();
    }
  });
});
