// renewalInfo (RFC 9773 §4) and `replaces` in newOrder (§5), in process: windows of fresh, mid-life
// and expired certificates, malformed and unknown certIDs, and every refusal of `replaces`.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { authorizations } from '../../edge/storage/schema.ts';
import type { Identifier } from '../../shared/problems.ts';
import { certIdOfPem, newKey, TestAcme } from '../../test/support/acme.ts';
import { issueLeaf, makeIssuer, storeCert, type TestIssuer } from '../../test/support/ari.ts';
import { type InprocEdge, startInprocEdge } from '../../test/support/edge-app.ts';
import { newId } from '../storage/ids.ts';

const H = 3_600_000;
const PROBLEM = 'urn:ietf:params:acme:error:';
let edge: InprocEdge;
let issuer: TestIssuer;
let alice: TestAcme;
let bob: TestAcme;

const idOf = (c: TestAcme) => c.kid!.split('/').pop()!;
const dns = (value: string): Identifier => ({ type: 'dns', value });

/** A certificate of `owner` for `names`, issued `agoH` hours ago with a 24 h lifetime; its PEM. */
async function cert(owner: TestAcme, names: string[], agoH = 0): Promise<string> {
  const nb = Date.now() - agoH * H;
  const ids = names.map(dns);
  const pem = await issueLeaf(issuer, ids, nb, nb + 24 * H);
  await storeCert(edge.svc, idOf(owner), pem, ids);
  return pem;
}

async function problem(res: Response, status: number, type: string): Promise<Record<string, unknown>> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  const doc = JSON.parse(text);
  assert.equal(doc.type, PROBLEM + type, text);
  return doc;
}

describe('renewalInfo and replaces', () => {
  before(async () => {
    edge = await startInprocEdge();
    issuer = await makeIssuer();
    alice = await new TestAcme(edge.fetch, edge.directoryUrl, await newKey()).init();
    bob = await new TestAcme(edge.fetch, edge.directoryUrl, await newKey()).init();
    assert.equal((await alice.newAccount()).status, 201);
    assert.equal((await bob.newAccount()).status, 201);
  });
  after(() => edge.close());

  it('lists renewalInfo in the directory', () => {
    assert.equal(alice.dir.renewalInfo, 'https://acme.test:14000/acme/renewal-info');
  });

  const windows: [string, number, (w: { start: number; end: number }, nb: number) => void][] = [
    [
      'a fresh certificate: the window opens at 16–17 h, in the future',
      0,
      (w) => assert.ok(w.start > Date.now()),
    ],
    ['a mid-life certificate: still ahead', 12, (w) => assert.ok(w.start > Date.now())],
    ['an expired certificate: wholly in the past (renew at once)', 30, (w) => assert.ok(w.end < Date.now())],
  ];
  for (const [name, ago, check] of windows) {
    it(`answers ${name}`, async () => {
      const pem = await cert(alice, [`w${ago}.test`], ago);
      const info = await alice.renewalInfo(pem);
      assert.equal(info.status, 200, JSON.stringify(info.body));
      const nb = Date.now() - ago * H;
      assert.ok(info.window!.start >= nb + 16 * H - 2000 && info.window!.start < nb + 17 * H);
      assert.equal(info.window!.end - info.window!.start, H);
      assert.equal(info.retryAfter, 3600);
      assert.equal(info.body.explanationURL, undefined);
      check(info.window!, nb);
    });
  }

  it('answers 404 for a well-formed certID of no certificate here, and for a foreign issuer', async () => {
    const pem = await cert(alice, ['known.test']);
    const [aki, serial] = certIdOfPem(pem).split('.');
    await problem(await edge.fetch(`${alice.dir.renewalInfo}/${aki}.AQIDBA`), 404, 'malformed');
    const other = await makeIssuer('Other');
    const foreign = certIdOfPem(await issueLeaf(other, [dns('x.test')], Date.now(), Date.now() + H));
    await problem(
      await edge.fetch(`${alice.dir.renewalInfo}/${foreign.split('.')[0]}.${serial}`),
      404,
      'malformed',
    );
  });

  for (const bad of ['nodot', 'a.b.c', 'AA.', 'AA=.AQ', 'AA.gA']) {
    it(`answers malformed for the certID "${bad}"`, async () => {
      const res = await edge.fetch(`${alice.dir.renewalInfo}/${bad}`);
      await problem(res, 400, 'malformed');
      assert.ok(res.headers.get('replay-nonce'), 'an error carries a fresh nonce');
    });
  }

  it('accepts an order replacing its own certificate and records the certID', async () => {
    const pem = await cert(alice, ['renew.test']);
    const res = await alice.post(alice.dir.newOrder, {
      identifiers: [dns('renew.test')],
      replaces: certIdOfPem(pem),
    });
    assert.equal(res.status, 201, await res.clone().text());
    const order = await edge.svc.orders.get(res.headers.get('location')!.split('/').pop()!);
    assert.equal(order?.replaces, certIdOfPem(pem));
  });

  it('accepts an order of another account holding valid authorizations for every identifier', async () => {
    const pem = await cert(alice, ['shared.test']);
    await edge.svc.database.db.insert(authorizations).values({
      id: newId(),
      accountId: idOf(bob),
      identifierType: 'dns',
      identifierValue: 'shared.test',
      wildcard: false,
      status: 'valid',
      expiresAt: Date.now() + 24 * H,
      createdAt: Date.now(),
    });
    const res = await bob.post(bob.dir.newOrder, {
      identifiers: [dns('shared.test')],
      replaces: certIdOfPem(pem),
    });
    assert.equal(res.status, 201, await res.clone().text());
  });

  const refusals: [
    string,
    () => Promise<{ ids: string[]; replaces: string; by?: TestAcme }>,
    number,
    string,
  ][] = [
    ['a malformed certID', async () => ({ ids: ['m.test'], replaces: 'not-a-cert-id' }), 400, 'malformed'],
    [
      'an unknown certificate',
      async () => ({
        ids: ['u.test'],
        replaces: `${certIdOfPem(await cert(alice, ['u.test'])).split('.')[0]}.AQID`,
      }),
      400,
      'malformed',
    ],
    [
      "another account's certificate without authorizations",
      async () => ({ ids: ['b.test'], replaces: certIdOfPem(await cert(bob, ['b.test'])) }),
      403,
      'unauthorized',
    ],
    [
      'a certificate sharing no identifier with the order',
      async () => ({ ids: ['other.test'], replaces: certIdOfPem(await cert(alice, ['n.test'])) }),
      400,
      'malformed',
    ],
    [
      'a certificate already replaced by an issued order',
      async () => {
        const pem = await cert(alice, ['twice.test']);
        const first = await cert(alice, ['twice.test']);
        await edge.svc.database.db.run(
          // the replacement that was issued: the order of `first` names `pem`
          (await import('drizzle-orm')).sql`UPDATE orders SET replaces = ${certIdOfPem(pem)}
            WHERE certificate_id = (SELECT id FROM certificates WHERE chain_pem = ${first})`,
        );
        return { ids: ['twice.test'], replaces: certIdOfPem(pem) };
      },
      409,
      'alreadyReplaced',
    ],
  ];
  for (const [name, setup, status, type] of refusals) {
    it(`refuses replaces naming ${name} (${type}) and writes no order`, async () => {
      const { ids, replaces, by } = await setup();
      const c = by ?? alice;
      const before = await edge.snapshot();
      const res = await c.post(c.dir.newOrder, { identifiers: ids.map(dns), replaces });
      await problem(res, status, type);
      assert.equal(await edge.snapshot(), before);
    });
  }

  it('refuses a second account racing for a replacement in progress, not the owner retrying', async () => {
    const pem = await cert(alice, ['race.test']);
    const id = certIdOfPem(pem);
    await edge.svc.database.db.insert(authorizations).values({
      id: newId(),
      accountId: idOf(bob),
      identifierType: 'dns',
      identifierValue: 'race.test',
      wildcard: false,
      status: 'valid',
      expiresAt: Date.now() + 24 * H,
      createdAt: Date.now(),
    });
    assert.equal(
      (await alice.post(alice.dir.newOrder, { identifiers: [dns('race.test')], replaces: id })).status,
      201,
    );
    assert.equal(
      (await alice.post(alice.dir.newOrder, { identifiers: [dns('race.test')], replaces: id })).status,
      201,
    );
    await problem(
      await bob.post(bob.dir.newOrder, { identifiers: [dns('race.test')], replaces: id }),
      409,
      'alreadyReplaced',
    );
  });

  it('exempts a renewal inside its window from the order rate limit, not one before it', async () => {
    const { settings, admin } = await edge.svc.stores();
    await admin.commit([settings.putLimit('newOrdersPerAccount', { count: 1, windowSeconds: 3600 })], {
      tokenId: 'test',
      action: 'ratelimit.set',
      target: 'ratelimit:newOrdersPerAccount',
      before: null,
      after: null,
    });
    const carol = await new TestAcme(edge.fetch, edge.directoryUrl, await newKey()).init();
    await carol.newAccount();
    const early = await cert(carol, ['early.test'], 1);
    const due = await cert(carol, ['due.test'], 18);
    assert.equal((await carol.post(carol.dir.newOrder, { identifiers: [dns('first.test')] })).status, 201);
    const res = await carol.post(carol.dir.newOrder, {
      identifiers: [dns('early.test')],
      replaces: certIdOfPem(early),
    });
    await problem(res, 429, 'rateLimited');
    const ok = await carol.post(carol.dir.newOrder, {
      identifiers: [dns('due.test')],
      replaces: certIdOfPem(due),
    });
    assert.equal(ok.status, 201, await ok.clone().text());
  });
});
