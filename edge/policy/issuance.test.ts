// Admin policy end to end in process (real libSQL file, the project's own ACME client): policies per
// scope, EAB binding once, profiles and invalidProfile, rate limits tripping and recovering,
// pre-authorization on and off, newAuthz, and the profile the edge relays to the signer.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { makeCsr } from '../../harness/csr.ts';
import { newKey, TestAcme } from '../../test/support/acme.ts';
import { type InprocEdge, startInprocEdge } from '../../test/support/edge-app.ts';
import type { SignerClient } from '../relay/signer-client.ts';

const P = 'urn:ietf:params:acme:error:';
let edge: InprocEdge;
let token: string;
const relayed: { profile: string }[] = [];

const signer: SignerClient = {
  sign: async (req) => {
    relayed.push({ profile: req.profile });
    return { status: 'unavailable', detail: 'stand-in' };
  },
  revoke: async () => ({ status: 'unavailable', detail: 'stand-in' }),
  crl: async () => new Uint8Array(),
};

async function admin(method: string, path: string, body?: unknown) {
  const res = await edge.app.request(`https://acme.test:14000/admin${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

async function client(eab?: { kid: string; hmacKey: string }): Promise<TestAcme> {
  const c = await new TestAcme(edge.fetch, edge.directoryUrl, await newKey()).init();
  const res = await c.newAccount({
    termsOfServiceAgreed: true,
    ...(eab ? { externalAccountBinding: await c.eab(eab.kid, eab.hmacKey) } : {}),
  });
  assert.equal(res.status, 201, await res.text());
  return c;
}

async function order(c: TestAcme, names: string[], extra: Record<string, unknown> = {}) {
  const res = await c.post(c.dir.newOrder, {
    identifiers: names.map((n) => ({ type: /^[\d.]+$/.test(n) ? 'ip' : 'dns', value: n })),
    ...extra,
  });
  return { res, body: await res.json() };
}

describe('policy, profiles, EAB keys, rate limits and pre-authorization', () => {
  before(async () => {
    edge = await startInprocEdge({ signer });
    const { admin: store } = await edge.svc.stores();
    const t = await store.newToken('test', 'write');
    await store.commit([t.stmt], {
      tokenId: 'cli',
      action: 'token.create',
      target: 'token',
      before: null,
      after: t.row,
    });
    token = t.token;
    await admin('PUT', '/policies/global', { deny: ['.forbidden.internal'] });
  });
  after(() => edge.close());

  it('binds an EAB key to one account only', async () => {
    const key = await admin('POST', '/eab-keys', { name: 'once' });
    await client(key);
    const second = await new TestAcme(edge.fetch, edge.directoryUrl, await newKey()).init();
    const res = await second.newAccount({
      termsOfServiceAgreed: true,
      externalAccountBinding: await second.eab(key.kid, key.hmacKey),
    });
    assert.equal(res.status, 403);
    assert.match((await res.json()).detail, /already bound/);
  });

  it("refuses an EAB-bound account a name outside its key's policy while another account gets it", async () => {
    const key = await admin('POST', '/eab-keys', { name: 'team-a', policy: { allow: ['.a.internal'] } });
    const bound = await client(key);
    const other = await client();
    const refused = await order(bound, ['web.b.internal']);
    assert.equal(refused.res.status, 400);
    assert.equal(refused.body.type, `${P}rejectedIdentifier`);
    assert.match(refused.body.detail, /EAB key .* not matched by any allow rule/);
    assert.equal((await order(other, ['web.b.internal'])).res.status, 201);
    assert.equal((await order(bound, ['web.a.internal'])).res.status, 201);
  });

  it('refuses several forbidden identifiers with one subproblem each, before any authorization', async () => {
    const c = await client();
    const snap = await edge.snapshot();
    const { res, body } = await order(c, ['x.forbidden.internal', 'ok.internal', 'y.forbidden.internal']);
    assert.equal(res.status, 400);
    assert.equal(body.type, `${P}rejectedIdentifier`);
    assert.deepEqual(
      body.subproblems.map((s: { identifier: { value: string } }) => s.identifier.value).sort(),
      ['x.forbidden.internal', 'y.forbidden.internal'],
    );
    assert.equal(await edge.snapshot(), snap, 'nothing written');
  });

  it('applies an account policy on top of the others, at once', async () => {
    const c = await client();
    const id = c.kid!.split('/').pop()!;
    assert.equal((await order(c, ['one.internal'])).res.status, 201);
    await admin('PUT', `/policies/account:${id}`, { deny: ['one.internal'] });
    assert.equal((await order(c, ['one.internal'])).res.status, 400);
  });

  it('offers the profiles of the database in the directory and issues under the default', async () => {
    await admin('PUT', '/profiles/short', {
      description: 'one hour, DNS only, no wildcards',
      validitySeconds: 3600,
      identifierTypes: ['dns'],
      allowWildcards: false,
      signerProfile: 'tlsserver',
    });
    const dir = await (await edge.fetch(edge.directoryUrl)).json();
    assert.equal(dir.meta.profiles.short, 'one hour, DNS only, no wildcards');
    assert.equal(dir.newAuthz, 'https://acme.test:14000/acme/new-authz');
    const c = await client();
    assert.equal((await order(c, ['p.internal'])).body.profile, 'default');
    assert.equal((await order(c, ['p.internal'], { profile: 'short' })).body.profile, 'short');
  });

  it('refuses an unknown profile, a profile the EAB key does not allow, and identifiers the profile does not take', async () => {
    const c = await client();
    const unknown = await order(c, ['p.internal'], { profile: 'nope' });
    assert.equal(unknown.body.type, `${P}invalidProfile`);
    assert.match(unknown.body.detail, /short/);
    const key = await admin('POST', '/eab-keys', { profiles: ['tlsclient'] });
    const bound = await client(key);
    const forbidden = await order(bound, ['p.internal'], { profile: 'short' });
    assert.equal(forbidden.body.type, `${P}invalidProfile`);
    assert.match(forbidden.body.detail, /not allowed.*tlsclient/);
    const ip = await order(c, ['10.0.0.1'], { profile: 'short' });
    assert.equal(ip.body.type, `${P}rejectedIdentifier`);
    const wild = await order(c, ['*.w.internal'], { profile: 'short' });
    assert.match(wild.body.detail, /wildcard/);
  });

  it('trips the order limit with rateLimited and Retry-After, and recovers', async () => {
    const c = await client();
    const id = c.kid!.split('/').pop()!;
    await admin('PUT', `/rate-limits/newOrdersPerAccount/overrides/account:${id}`, {
      count: 2,
      windowSeconds: 2,
    });
    assert.equal((await order(c, ['r1.internal'])).res.status, 201);
    assert.equal((await order(c, ['r2.internal'])).res.status, 201);
    const limited = await order(c, ['r3.internal']);
    assert.equal(limited.res.status, 429);
    assert.equal(limited.body.type, `${P}rateLimited`);
    assert.equal(limited.res.headers.get('retry-after'), '1');
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal((await order(c, ['r3.internal'])).res.status, 201);
    const other = await client();
    assert.equal((await order(other, ['r4.internal'])).res.status, 201, 'other accounts are not limited');
  });

  it('trips the new-accounts-per-address limit', async () => {
    await admin('PUT', '/rate-limits/newAccountsPerIP', { count: 1, windowSeconds: 60 });
    try {
      await client();
      const c = await new TestAcme(edge.fetch, edge.directoryUrl, await newKey()).init();
      const res = await c.newAccount();
      assert.equal(res.status, 429);
      assert.equal((await res.json()).type, `${P}rateLimited`);
      assert.ok(Number(res.headers.get('retry-after')) > 0);
    } finally {
      await admin('DELETE', '/rate-limits/newAccountsPerIP');
    }
  });

  it('pre-authorizes names in the key allow list only when the key turns it on', async () => {
    const off = await admin('POST', '/eab-keys', { policy: { allow: ['.auto.internal'] } });
    const cOff = await client(off);
    const pending = await order(cOff, ['svc.auto.internal']);
    assert.equal(pending.body.status, 'pending');

    const on = await admin('POST', '/eab-keys', {
      policy: { allow: ['.auto.internal'] },
      preAuthorize: true,
    });
    const cOn = await client(on);
    const ready = await order(cOn, ['svc.auto.internal']);
    assert.equal(ready.body.status, 'ready');
    const authz = await (await cOn.post(ready.body.authorizations[0], '')).json();
    assert.equal(authz.status, 'valid');
    const marks = (await admin('GET', '/preauthorizations')).preauthorizations;
    assert.ok(marks.some((m: { eabKid: string }) => m.eabKid === on.kid));

    const authzRes = await cOn.post(`${edge.directoryUrl.replace('/directory', '')}/acme/new-authz`, {
      identifier: { type: 'dns', value: 'db.auto.internal' },
    });
    assert.equal(authzRes.status, 201);
    assert.equal((await authzRes.json()).status, 'valid');
    const pend = await cOff.post(cOff.dir.newOrder.replace('new-order', 'new-authz'), {
      identifier: { type: 'dns', value: 'db.auto.internal' },
    });
    assert.equal(pend.status, 201);
    assert.equal((await pend.json()).status, 'pending');

    await admin('PATCH', `/eab-keys/${on.kid}`, { preAuthorize: false });
    assert.equal((await order(cOn, ['new.auto.internal'])).body.status, 'pending');
  });

  it('relays the profile as its signer profile and refuses a key type the profile does not accept', async () => {
    await admin('PUT', '/profiles/ec-only', {
      validitySeconds: 3600,
      keyTypes: ['EC-P256'],
      signerProfile: 'tlsserver',
    });
    const key = await admin('POST', '/eab-keys', { policy: { allow: ['.k.internal'] }, preAuthorize: true });
    const c = await client(key);
    const ec = await order(c, ['a.k.internal'], { profile: 'ec-only' });
    const fin = await c.post(ec.body.finalize, { csr: (await makeCsr(['a.k.internal'])).b64u });
    assert.equal(fin.status, 200);
    assert.deepEqual(relayed.at(-1), { profile: 'tlsserver' });
    const rsa = await order(c, ['b.k.internal'], { profile: 'ec-only' });
    const fin2 = await c.post(rsa.body.finalize, {
      csr: (await makeCsr(['b.k.internal'], { alg: 'RS256' })).b64u,
    });
    // Refused at finalize with a problem document; the order stays ready for a better CSR.
    assert.equal(fin2.status, 400);
    const problem = await fin2.json();
    assert.equal(problem.type, `${P}badCSR`);
    assert.match(problem.detail, /accepts EC-P256 keys/);
    assert.equal((await (await c.post(rsa.res.headers.get('location')!, '')).json()).status, 'ready');
  });

  it('cuts off accounts of a revoked or expired EAB key', async () => {
    const key = await admin('POST', '/eab-keys', {});
    const c = await client(key);
    await admin('POST', `/eab-keys/${key.kid}/revoke`);
    const { body } = await order(c, ['z.internal']);
    assert.equal(body.type, `${P}unauthorized`);
    assert.match(body.detail, /revoked/);
  });
});
