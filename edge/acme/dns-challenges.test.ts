// dns-account-01 and dns-persist-01 through the edge in process: what an authorization offers
// (dns-persist-01 only where an admin enabled it and while the CA has CAA identities), the challenge
// objects on the wire, and validation against a real mock DNS (pebble-challtestsrv) ending in a
// valid or invalid authorization with the precise problem document.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ChallTestSrv, startChallTestSrv } from '../../harness/challtestsrv.ts';
import { newKey, TestAcme } from '../../test/support/acme.ts';
import { type InprocEdge, startInprocEdge } from '../../test/support/edge-app.ts';
import { uiLogIn } from '../../test/support/ui-client.ts';
import { dns01TxtValue } from '../../validation/dns-01.ts';
import { dnsAccount01Name } from '../../validation/dns-account-01.ts';

interface Chall {
  type: string;
  url: string;
  status: string;
  token?: string;
  error?: { type: string; detail: string };
  [k: string]: unknown;
}
interface Authz {
  status: string;
  wildcard?: boolean;
  challenges: Chall[];
}

async function adminToken(edge: InprocEdge): Promise<string> {
  const { admin } = await edge.svc.stores();
  const t = await admin.newToken('test-write', 'write');
  await admin.commit([t.stmt], {
    tokenId: 'cli',
    action: 'token.create',
    target: 'token',
    before: null,
    after: null,
  });
  return t.token;
}

function adminCall(edge: InprocEdge, token: string, method: string, path: string, body?: unknown) {
  return edge.app.request(`https://acme.test:14000/admin${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function client(edge: InprocEdge): Promise<TestAcme> {
  const c = await new TestAcme(edge.fetch, edge.directoryUrl, await newKey()).init();
  assert.equal((await c.newAccount()).status, 201);
  return c;
}

/** The order's single authorization. */
async function order(c: TestAcme, value: string): Promise<Authz> {
  const res = await c.post(c.dir.newOrder, { identifiers: [{ type: 'dns', value }] });
  assert.equal(res.status, 201, await res.clone().text());
  const o = (await res.json()) as { authorizations: string[] };
  return (await (await c.post(o.authorizations[0] as string, '')).json()) as Authz;
}

/** Responds to the challenge and polls it until it settles. */
async function attempt(c: TestAcme, ch: Chall): Promise<Chall> {
  const res = await c.post(ch.url, {});
  assert.equal(res.status, 200, await res.clone().text());
  return c.poll<Chall>(ch.url, (x) => x.status === 'valid' || x.status === 'invalid', {
    tries: 50,
    gapMs: 100,
  });
}

const byType = (a: Authz, type: string) => a.challenges.find((x) => x.type === type);

describe('dns-account-01 and dns-persist-01 at the edge', () => {
  let dns: ChallTestSrv;
  let edge: InprocEdge;
  let token: string;
  before(async () => {
    dns = await startChallTestSrv();
    edge = await startInprocEdge({
      config: { caaIdentities: ['CA.test', 'ca-alt.test'] },
      dnsResolver: dns.dnsAddress,
    });
    token = await adminToken(edge);
  });
  after(async () => {
    edge?.close();
    await dns?.close();
  });

  it('offers dns-account-01 next to dns-01, and no dns-persist-01 while no profile or EAB key enables it', async () => {
    const c = await client(edge);
    const a = await order(c, 'plain.test');
    assert.deepEqual(
      a.challenges.map((x) => x.type),
      ['http-01', 'dns-01', 'tls-alpn-01', 'dns-account-01'],
    );
    assert.match(byType(a, 'dns-account-01')?.token ?? '', /^[A-Za-z0-9_-]{43}$/);
  });

  it('validates dns-account-01 at the label of the account URL, with the dns-01 record beside it', async () => {
    const c = await client(edge);
    const a = await order(c, 'acct.test');
    const ch = byType(a, 'dns-account-01') as Chall;
    const other = byType(a, 'dns-01') as Chall;
    // dns-01's record for the same name, holding a value of another token: it must not matter
    await dns.setTxt(
      '_acme-challenge.acct.test',
      await dns01TxtValue(await c.keyAuthorization(other.token as string)),
    );
    await dns.setTxt(
      await dnsAccount01Name(c.kid as string, 'acct.test'),
      await dns01TxtValue(await c.keyAuthorization(ch.token as string)),
    );
    const done = await attempt(c, ch);
    assert.equal(done.status, 'valid', JSON.stringify(done.error));
  });

  it("refuses dns-account-01 when the record sits at another account's label, naming the account URL", async () => {
    const c = await client(edge);
    const a = await order(c, 'acct-other.test');
    const ch = byType(a, 'dns-account-01') as Chall;
    await dns.setTxt(
      await dnsAccount01Name(`${c.kid}x`, 'acct-other.test'),
      await dns01TxtValue(await c.keyAuthorization(ch.token as string)),
    );
    const done = await attempt(c, ch);
    assert.equal(done.status, 'invalid');
    assert.equal(done.error?.type, 'urn:ietf:params:acme:error:dns');
    assert.ok(done.error?.detail.includes(`account URL used for the label: ${c.kid}`), done.error?.detail);
  });

  it('offers dns-persist-01 to an account bound to an EAB key that enables it, and to no other', async () => {
    const made = await adminCall(edge, token, 'POST', '/eab-keys', {
      name: 'persist',
      optInChallenges: ['dns-persist-01'],
    });
    const key = (await made.json()) as { kid: string; hmacKey: string };
    const bound = new TestAcme(edge.fetch, edge.directoryUrl, await newKey());
    await bound.init();
    const res = await bound.newAccount({
      termsOfServiceAgreed: true,
      externalAccountBinding: await bound.eab(key.kid, key.hmacKey),
    });
    assert.equal(res.status, 201, await res.clone().text());
    assert.ok(byType(await order(bound, 'eab-bound.test'), 'dns-persist-01'));
    assert.equal(byType(await order(await client(edge), 'eab-free.test'), 'dns-persist-01'), undefined);
  });

  describe('dns-persist-01, enabled for the default profile', () => {
    before(async () => {
      const res = await adminCall(edge, token, 'PUT', '/profiles/default', {
        description: 'with dns-persist-01',
        validitySeconds: 86_400,
        optInChallenges: ['dns-persist-01'],
      });
      assert.equal(res.status, 200, await res.clone().text());
    });

    it('advertises issuerDomainNames and accountHashPrefix in the directory (draft -02 §3.2)', async () => {
      const dir = (await (await edge.fetch(edge.directoryUrl)).json()) as { meta: Record<string, unknown> };
      assert.deepEqual(dir.meta.issuerDomainNames, ['ca.test', 'ca-alt.test']);
      assert.equal(dir.meta.accountHashPrefix, 'https://acme.test:14000/acme/account-hash/');
    });

    it('offers it with the issuer names and the account URL, and no token', async () => {
      const c = await client(edge);
      const a = await order(c, 'offer.test');
      const ch = byType(a, 'dns-persist-01') as Chall;
      assert.ok(ch, JSON.stringify(a.challenges.map((x) => x.type)));
      assert.deepEqual(ch['issuer-domain-names'], ['ca.test', 'ca-alt.test']);
      assert.deepEqual(ch.issuerDomainNames, ['ca.test', 'ca-alt.test']);
      assert.equal(ch.accounturi, c.kid);
      assert.equal(ch.token, undefined);
      // read alone, it shows the same
      const alone = (await (await c.post(ch.url, '')).json()) as Chall;
      assert.equal(alone.accounturi, c.kid);
    });

    const cases: Array<{
      name: string;
      id: string;
      record: (kid: string, hashed: string) => string;
      status: 'valid' | 'invalid';
      type?: string;
      detail?: RegExp;
    }> = [
      {
        name: 'is valid with the record the admin API gives (the -02 hashed URI)',
        id: 'hashed.test',
        record: (_kid, hashed) => hashed,
        status: 'valid',
      },
      {
        name: 'is valid with the -01 record lego and acme.sh write (the raw account URL)',
        id: 'raw.test',
        record: (kid) => `ca.test; accounturi=${kid}`,
        status: 'valid',
      },
      {
        name: 'is valid for a wildcard with policy=wildcard',
        id: '*.wild.test',
        record: (kid) => `ca-alt.test; accounturi=${kid}; policy=wildcard`,
        status: 'valid',
      },
      {
        name: 'is unauthorized for a wildcard without policy=wildcard',
        id: '*.nopolicy.test',
        record: (kid) => `ca.test; accounturi=${kid}`,
        status: 'invalid',
        type: 'unauthorized',
        detail: /lacks policy=wildcard/,
      },
      {
        name: 'is unauthorized for another account',
        id: 'other.test',
        record: (kid) => `ca.test; accounturi=${kid}0`,
        status: 'invalid',
        type: 'unauthorized',
        detail: /is not https:\/\/acme\.test:14000\/acme\/acct\//,
      },
      {
        name: 'is unauthorized once persistUntil has passed',
        id: 'expired.test',
        record: (kid) => `ca.test; accounturi=${kid}; persistUntil=1721952000`,
        status: 'invalid',
        type: 'unauthorized',
        detail: /persistUntil=1721952000 .* has passed/,
      },
      {
        name: "is unauthorized for a record of another CA's issuer domain",
        id: 'foreign.test',
        record: (kid) => `letsencrypt.org; accounturi=${kid}`,
        status: 'invalid',
        type: 'unauthorized',
        detail: /names this CA \(ca\.test, ca-alt\.test\)/,
      },
      {
        name: 'is malformed for a duplicate parameter',
        id: 'dup.test',
        record: (kid) => `ca.test; accounturi=${kid}; accounturi=${kid}`,
        status: 'invalid',
        type: 'malformed',
        detail: /given twice/,
      },
    ];
    for (const k of cases) {
      it(k.name, async () => {
        const c = await client(edge);
        const a = await order(c, k.id);
        const ch = byType(a, 'dns-persist-01') as Chall;
        const accountId = (c.kid as string).split('/').at(-1) as string;
        const rec = await adminCall(
          edge,
          token,
          'GET',
          `/dns-persist-record?account=${accountId}&name=${encodeURIComponent(k.id)}`,
        );
        assert.equal(rec.status, 200, await rec.clone().text());
        const shown = (await rec.json()) as { owner: string; value: string };
        await dns.setTxt(shown.owner, k.record(c.kid as string, shown.value));
        const done = await attempt(c, ch);
        assert.equal(done.status, k.status, JSON.stringify(done.error));
        if (k.status === 'invalid') {
          assert.equal(done.error?.type, `urn:ietf:params:acme:error:${k.type}`);
          assert.match(done.error?.detail ?? '', k.detail as RegExp);
        }
      });
    }

    it('the admin UI shows the exact record, its -01 form and the risk, and escapes what it echoes', async () => {
      const c = await client(edge);
      const accountId = (c.kid as string).split('/').at(-1) as string;
      const b = await uiLogIn(edge, token);
      const { res, text } = await b(`/dns-persist?account=${accountId}&name=ui.test&wildcard=true`);
      assert.equal(res.status, 200);
      assert.match(
        text,
        /_validation-persist\.ui\.test\. IN TXT &quot;ca\.test; accounturi=https:\/\/acme\.test:14000\/acme\/account-hash\/sha-256\/[\w-]{43}; policy=wildcard&quot;/,
      );
      assert.ok(text.includes(`accounturi=${c.kid}; policy=wildcard`), 'the -01 form');
      assert.match(text, /anyone holding this ACME account key can obtain certificates/);
      const bad = await b('/dns-persist?account=nope&name=%3Cscript%3E');
      assert.equal(bad.res.status, 200);
      assert.ok(!bad.text.includes('<script>'), 'what the form echoes is escaped');
      assert.match(bad.text, /name: /);
    });

    it('is unauthorized with no record at all', async () => {
      const c = await client(edge);
      const done = await attempt(c, byType(await order(c, 'none.test'), 'dns-persist-01') as Chall);
      assert.equal(done.error?.type, 'urn:ietf:params:acme:error:unauthorized');
      assert.match(done.error?.detail ?? '', /No TXT record found at _validation-persist\.none\.test/);
    });
  });
});

describe('dns-persist-01 without CAA identities', () => {
  let edge: InprocEdge;
  let token: string;
  before(async () => {
    edge = await startInprocEdge();
    token = await adminToken(edge);
  });
  after(() => edge?.close());

  it('is never offered, even where enabled, and the admin API says why no record can be given', async () => {
    const put = await adminCall(edge, token, 'PUT', '/profiles/default', {
      validitySeconds: 86_400,
      optInChallenges: ['dns-persist-01'],
    });
    assert.equal(put.status, 200);
    const c = await client(edge);
    const a = await order(c, 'nocaa.test');
    assert.equal(byType(a, 'dns-persist-01'), undefined);
    const dir = (await (await edge.fetch(edge.directoryUrl)).json()) as { meta: Record<string, unknown> };
    assert.equal(dir.meta.issuerDomainNames, undefined);
    const accountId = (c.kid as string).split('/').at(-1) as string;
    const rec = await adminCall(
      edge,
      token,
      'GET',
      `/dns-persist-record?account=${accountId}&name=nocaa.test`,
    );
    assert.equal(rec.status, 409);
    assert.match(((await rec.json()) as { detail: string }).detail, /EDGECA_CAA_IDENTITIES/);
  });

  it('admin API: takes only opt-in types, per profile and per EAB key, and shows them', async () => {
    const bad = await adminCall(edge, token, 'PUT', '/profiles/default', {
      validitySeconds: 86_400,
      optInChallenges: ['http-01'],
    });
    assert.equal(bad.status, 400);
    const doc = (await bad.json()) as { field: string; detail: string };
    assert.equal(doc.field, 'optInChallenges');
    assert.match(doc.detail, /"http-01" is not an opt-in challenge type \(dns-persist-01\)/);
    const made = await adminCall(edge, token, 'POST', '/eab-keys', {
      name: 'k',
      optInChallenges: ['dns-persist-01'],
    });
    assert.equal(made.status, 201);
    const key = (await made.json()) as { kid: string; optInChallenges: string[] };
    assert.deepEqual(key.optInChallenges, ['dns-persist-01']);
    const off = await adminCall(edge, token, 'PATCH', `/eab-keys/${key.kid}`, { optInChallenges: [] });
    assert.deepEqual(((await off.json()) as { optInChallenges: string[] }).optInChallenges, []);
    const profile = await adminCall(edge, token, 'GET', '/profiles/default');
    assert.deepEqual(((await profile.json()) as { optInChallenges: string[] }).optInChallenges, [
      'dns-persist-01',
    ]);
  });
});
