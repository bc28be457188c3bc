// The account an edge process keeps per `kid` (edge/storage/account-cache.ts) never outlives a change
// this process made: a deactivation (by the account, RFC 8555 §7.3.6, or by an admin), a key change
// (§7.3.5) and a key block each refuse the account's next request here, with an expiry far longer
// than the test so that only the invalidation can explain it. A change made through ANOTHER edge
// process on the same database reaches the cache only at its expiry, so finalize — the request that
// makes a certificate — re-checks the account in its own guarded write: it is refused at once and the
// order is not touched. Two edges in this process share one libSQL file; the signer is a stand-in that
// never answers (what matters is whether finalize starts).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { makeCsr } from '../../harness/csr.ts';
import { type Http01Server, startHttp01Server } from '../../harness/http01.ts';
import { type AcmeKey, newKey, TestAcme } from '../../test/support/acme.ts';
import { adminToken } from '../../test/support/admin-api.ts';
import { type InprocEdge, startInprocEdge } from '../../test/support/edge-app.ts';
import type { SignerClient } from '../relay/signer-client.ts';
import { blockKeys } from './block-keys.ts';

/** Far longer than the test: an entry that disappears was forgotten, not expired. */
const LONG_CACHE_S = 600;

const signer: SignerClient = {
  sign: async () => ({ status: 'unavailable', detail: 'the order stays processing in this test' }),
  revoke: async () => ({ status: 'unavailable', detail: 'not in this test' }),
  crl: async () => new Uint8Array(),
};

let a: InprocEdge;
let b: InprocEdge;
let http01: Http01Server;
let token: string;

async function account(edge: InprocEdge, key?: AcmeKey): Promise<TestAcme> {
  const c = await new TestAcme(edge.fetch, edge.directoryUrl, key ?? (await newKey())).init();
  const res = await c.newAccount();
  assert.equal(res.status, 201, await res.text());
  return c;
}

/** The same account (kid and key) talking to another edge. */
async function sameAccountOn(edge: InprocEdge, c: TestAcme): Promise<TestAcme> {
  const other = await new TestAcme(edge.fetch, edge.directoryUrl, c.key).init();
  other.kid = c.kid;
  return other;
}

const idOf = (c: TestAcme) => c.kid!.split('/').pop()!;

function newOrder(c: TestAcme, o: { key?: AcmeKey } = {}): Promise<Response> {
  return c.post(
    c.dir.newOrder,
    { identifiers: [{ type: 'ip', value: '127.0.0.1' }] },
    o.key ? { key: o.key } : {},
  );
}

async function problem(res: Response, status: number, type: string): Promise<{ detail: string }> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  const doc = JSON.parse(text) as { type: string; detail: string };
  assert.equal(doc.type, `urn:ietf:params:acme:error:${type}`, text);
  return doc;
}

/** An order of `c` validated through http-01, ready to finalize. */
async function readyOrder(c: TestAcme): Promise<{ url: string; finalize: string }> {
  const res = await newOrder(c);
  assert.equal(res.status, 201, await res.clone().text());
  const url = res.headers.get('location')!;
  const order = (await res.json()) as { authorizations: string[]; finalize: string };
  const authz = (await (await c.post(order.authorizations[0]!, '')).json()) as {
    challenges: { type: string; token: string; url: string }[];
  };
  const ch = authz.challenges.find((x) => x.type === 'http-01')!;
  http01.set(ch.token, await c.keyAuthorization(ch.token));
  assert.equal((await c.post(ch.url, {})).status, 200);
  // the authorization, not the order: finalize then finds the order pending with every
  // authorization valid (the path where it moves pending → ready → processing in one statement)
  await c.poll(order.authorizations[0]!, (x) => x.status === 'valid', { tries: 100, gapMs: 50 });
  return { url, finalize: order.finalize };
}

async function orderStatus(edge: InprocEdge, url: string): Promise<string | undefined> {
  return (await edge.svc.orders.get(url.split('/').pop()!))?.status;
}

function finalize(c: TestAcme, url: string): Promise<Response> {
  return makeCsr([], { ips: ['127.0.0.1'] }).then((csr) => c.post(url, { csr: csr.b64u }));
}

/** keyChange (RFC 8555 §7.3.5) of `c` to `next`; `c` signs with `next` afterwards. */
async function rollKey(c: TestAcme, next: AcmeKey): Promise<void> {
  const inner = await c.keyChangeInner(next);
  const res = await c.post(c.dir.keyChange, inner);
  assert.equal(res.status, 200, await res.text());
}

describe('the account cache', () => {
  before(async () => {
    http01 = await startHttp01Server();
    a = await startInprocEdge({
      signer,
      config: { http01Port: http01.port, accountCacheSeconds: LONG_CACHE_S },
    });
    const dbUrl = a.svc.config.dbUrl;
    b = await startInprocEdge({
      signer,
      config: { http01Port: http01.port, accountCacheSeconds: LONG_CACHE_S, dbUrl },
    });
    token = (await adminToken(a.svc, 'write', 'cache-test')).token;
  });
  after(async () => {
    a.close();
    b.close();
    await http01.close();
  });

  it('keeps a valid account between requests and reads it once', async () => {
    const c = await account(a);
    assert.equal((await newOrder(c)).status, 201);
    const cached = a.svc.accountCache.get(idOf(c));
    assert.equal(cached?.status, 'valid');
    const get = a.svc.accounts.get;
    let reads = 0;
    a.svc.accounts.get = (id) => {
      reads++;
      return get(id);
    };
    try {
      assert.equal((await newOrder(c)).status, 201);
    } finally {
      a.svc.accounts.get = get;
    }
    assert.equal(reads, 0);
  });

  it('refuses a deactivated account on its next request on the same edge', async () => {
    const c = await account(a);
    assert.equal((await newOrder(c)).status, 201);
    assert.ok(a.svc.accountCache.get(idOf(c)), 'cached by the newOrder');
    const res = await c.post(c.kid!, { status: 'deactivated' });
    assert.equal(res.status, 200, await res.text());
    const doc = await problem(await newOrder(c), 401, 'unauthorized');
    assert.match(doc.detail, /account is deactivated/);
  });

  it('refuses an account an admin deactivated on its next request on the same edge', async () => {
    const c = await account(a);
    assert.equal((await newOrder(c)).status, 201);
    const res = await a.app.request(`https://acme.test:14000/admin/accounts/${idOf(c)}/deactivate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 200, await res.text());
    await problem(await newOrder(c), 401, 'unauthorized');
  });

  it('refuses an account whose key was blocked on its next request on the same edge', async () => {
    const c = await account(a);
    assert.equal((await newOrder(c)).status, 201);
    const digest = (await a.svc.accounts.get(idOf(c)))!.keyDigest!;
    const out = await blockKeys(
      a.svc,
      [
        {
          spkiSha256: digest,
          source: 'admin-block',
          serial: null,
          accountId: null,
          note: 'account cache test',
          createdAt: Date.now(),
        },
      ],
      { tokenId: 'cli' },
    );
    assert.deepEqual(out.deactivatedAccounts, [idOf(c)]);
    const doc = await problem(await newOrder(c), 401, 'unauthorized');
    assert.match(doc.detail, /reported compromised/);
  });

  it('refuses the old key after a key change on the next request on the same edge', async () => {
    const c = await account(a);
    const old = c.key;
    assert.equal((await newOrder(c)).status, 201);
    const next = await newKey();
    await rollKey(c, next);
    await problem(await newOrder(c, { key: old }), 400, 'malformed');
    c.key = next;
    assert.equal((await newOrder(c)).status, 201);
  });

  it('refuses finalize at once for an account deactivated through another edge, and the order is not touched', async () => {
    const c = await account(a);
    const { url, finalize: fin } = await readyOrder(c);
    assert.ok(a.svc.accountCache.get(idOf(c)), 'edge A holds the account');
    const onB = await sameAccountOn(b, c);
    assert.equal((await onB.post(onB.kid!, { status: 'deactivated' })).status, 200);
    const doc = await problem(await finalize(c, fin), 401, 'unauthorized');
    assert.match(doc.detail, /account is deactivated/);
    assert.equal(await orderStatus(a, url), 'pending', 'unwritten: still as the validation left it');
    // and edge A reads the account afresh from then on
    await problem(await newOrder(c), 401, 'unauthorized');
  });

  it('refuses finalize at once with a key rolled over through another edge, and the order is not touched', async () => {
    const c = await account(a);
    const { url, finalize: fin } = await readyOrder(c);
    const onB = await sameAccountOn(b, c);
    await rollKey(onB, await newKey());
    await problem(await finalize(c, fin), 400, 'malformed');
    assert.equal(await orderStatus(a, url), 'pending', 'unwritten: still as the validation left it');
  });

  it('finalizes a ready order of a valid account (the guard lets it through once)', async () => {
    const c = await account(a);
    const { url, finalize: fin } = await readyOrder(c);
    const res = await finalize(c, fin);
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(((await res.json()) as { status: string }).status, 'processing');
    assert.equal(await orderStatus(a, url), 'processing');
    await problem(await finalize(c, fin), 403, 'orderNotReady');
  });
});
