// Admin policy problems through the conformance table runner (problem document, fresh nonce, Link
// index, no row changed): rejectedIdentifier from name policies and profiles, invalidProfile,
// rateLimited with Retry-After, newAuthz misuse, and EAB keys that expired or were revoked.
// The admin API's own 400s (naming the field) are tabled in edge/admin/admin.test.ts.
import assert from 'node:assert/strict';
import type { Identifier } from '../../shared/problems.ts';
import { newKey, TestAcme } from '../support/acme.ts';
import { type InprocEdge, startInprocEdge } from '../support/edge-app.ts';
import { account, type BadRequest, noteNonce, runTable } from './harness.ts';

interface World {
  edge: InprocEdge;
  /** no EAB key; its own account policy denies own.deny.test */
  a: TestAcme;
  /** bound to a key allowing only .a.test and the tlsclient and short profiles */
  bound: TestAcme;
  /** under an order limit of zero */
  limited: TestAcme;
  /** bound to a key revoked after binding */
  cutOff: TestAcme;
  expiredKey: { kid: string; hmacKey: string };
}

async function setup(): Promise<World> {
  const edge = await startInprocEdge();
  const { admin: store } = await edge.svc.stores();
  const t = await store.newToken('conformance', 'write');
  await store.commit([t.stmt], {
    tokenId: 'cli',
    action: 'token.create',
    target: 't',
    before: null,
    after: t.row,
  });
  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await edge.app.request(`https://acme.test:14000/admin${path}`, {
      method,
      headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    assert.ok(res.status < 300, `${path}: ${await res.clone().text()}`);
    return res.status === 204 ? undefined : res.json();
  };
  const withKey = async (key: { kid: string; hmacKey: string }) => {
    const c = await new TestAcme(edge.fetch, edge.directoryUrl, await newKey()).init();
    const res = await c.newAccount({
      termsOfServiceAgreed: true,
      externalAccountBinding: await c.eab(key.kid, key.hmacKey),
    });
    assert.equal(res.status, 201, await res.clone().text());
    noteNonce(res.headers.get('replay-nonce'));
    return c;
  };
  await admin('PUT', '/policies/global', { deny: ['.denied.test', '192.0.2.0/24'] });
  await admin('PUT', '/profiles/short', {
    validitySeconds: 3600,
    identifierTypes: ['dns'],
    allowWildcards: false,
  });
  const a = await account(edge, await newKey());
  await admin('PUT', `/policies/account:${a.kid!.split('/').pop()}`, { deny: ['own.deny.test'] });
  const bound = await withKey(
    await admin('POST', '/eab-keys', { policy: { allow: ['.a.test'] }, profiles: ['tlsclient', 'short'] }),
  );
  const limited = await account(edge, await newKey());
  await admin('PUT', `/rate-limits/newOrdersPerAccount/overrides/account:${limited.kid!.split('/').pop()}`, {
    count: 0,
    windowSeconds: 30,
  });
  const revokedKey = await admin('POST', '/eab-keys', {});
  const cutOff = await withKey(revokedKey);
  await admin('POST', `/eab-keys/${revokedKey.kid}/revoke`);
  const expiredKey = await admin('POST', '/eab-keys', {
    expiresAt: new Date(Date.now() + 1500).toISOString(),
  });
  await new Promise((r) => setTimeout(r, 1600));
  return { edge, a, bound, limited, cutOff, expiredKey };
}

const dns = (value: string): Identifier => ({ type: 'dns', value });
const ip = (value: string): Identifier => ({ type: 'ip', value });
const order =
  (who: (w: World) => TestAcme, identifiers: Identifier[], extra: Record<string, unknown> = {}) =>
  (w: World) =>
    who(w).post(who(w).dir.newOrder, { identifiers, ...extra });
const newAuthz = (payload: unknown) => (w: World) =>
  w.a.post(w.a.dir.newOrder.replace('new-order', 'new-authz'), payload);
const A = (w: World) => w.a;
const BOUND = (w: World) => w.bound;

const CASES: BadRequest<World>[] = [
  {
    name: 'rejects a name the global policy denies with rejectedIdentifier naming the rule',
    status: 400,
    type: 'rejectedIdentifier',
    detail: /global policy: denied by rule "\.denied\.test"/,
    send: order(A, [dns('x.denied.test')]),
    check: (d) => assert.deepEqual(d.identifier, dns('x.denied.test')),
  },
  {
    name: 'rejects an IP in a denied range',
    status: 400,
    type: 'rejectedIdentifier',
    detail: /192\.0\.2\.0\/24/,
    send: order(A, [ip('192.0.2.9')]),
  },
  {
    name: 'rejects the IPv4-mapped IPv6 form of an address in a denied range, asking for the IPv4 form',
    status: 400,
    type: 'rejectedIdentifier',
    detail: /"192\.0\.2\.9".*IPv4|IPv4.*"192\.0\.2\.9"/,
    send: order(A, [ip('::ffff:192.0.2.9')]),
    check: (d) => assert.deepEqual(d.identifier, ip('::ffff:192.0.2.9')),
  },
  {
    name: 'rejects the IPv4-compatible IPv6 form of an address with rejectedIdentifier',
    status: 400,
    type: 'rejectedIdentifier',
    detail: /"10\.0\.0\.1"/,
    send: order(A, [ip('::10.0.0.1')]),
  },
  {
    name: 'rejects several denied identifiers with one subproblem each',
    status: 400,
    type: 'rejectedIdentifier',
    subproblems: [
      { type: 'rejectedIdentifier', identifier: dns('x.denied.test') },
      { type: 'rejectedIdentifier', identifier: ip('192.0.2.1') },
    ],
    send: order(A, [dns('x.denied.test'), dns('fine.test'), ip('192.0.2.1')]),
  },
  {
    name: "rejects a name the account's own policy denies",
    status: 400,
    type: 'rejectedIdentifier',
    detail: /account policy/,
    send: order(A, [dns('own.deny.test')]),
  },
  {
    name: "rejects a name outside the EAB key's allow list",
    status: 400,
    type: 'rejectedIdentifier',
    detail: /EAB key .*not matched by any allow rule/,
    send: order(BOUND, [dns('b.test')], { profile: 'tlsclient' }),
  },
  {
    name: 'rejects an unknown profile with invalidProfile listing the offered ones',
    status: 400,
    type: 'invalidProfile',
    detail: /unknown profile "gold".*default/,
    send: order(A, [dns('fine.test')], { profile: 'gold' }),
  },
  {
    name: 'rejects a profile the EAB key does not allow with invalidProfile',
    status: 400,
    type: 'invalidProfile',
    detail: /not allowed.*tlsclient, short/,
    send: order(BOUND, [dns('x.a.test')], { profile: 'tlsserver' }),
  },
  {
    name: 'rejects an IP identifier under a DNS-only profile',
    status: 400,
    type: 'rejectedIdentifier',
    detail: /profile "short" does not issue for ip/,
    send: order(A, [ip('10.0.0.1')], { profile: 'short' }),
  },
  {
    name: 'rejects a wildcard under a profile without wildcards',
    status: 400,
    type: 'rejectedIdentifier',
    detail: /wildcard/,
    send: order(A, [dns('*.w.test')], { profile: 'short' }),
  },
  {
    name: "rejects a notAfter beyond the profile's validity with malformed",
    status: 400,
    type: 'malformed',
    detail: /at most 3600 s/,
    send: order(A, [dns('fine.test')], {
      profile: 'short',
      notAfter: new Date(Date.now() + 7200_000).toISOString(),
    }),
  },
  {
    name: 'refuses an order over the rate limit with rateLimited and Retry-After',
    status: 429,
    type: 'rateLimited',
    detail: /newOrdersPerAccount/,
    send: order((w) => w.limited, [dns('fine.test')]),
    check: (_d, res) => assert.equal(res.headers.get('retry-after'), '30'),
  },
  {
    name: 'refuses an account whose EAB key was revoked with unauthorized',
    status: 403,
    type: 'unauthorized',
    detail: /revoked/,
    send: order((w) => w.cutOff, [dns('fine.test')]),
  },
  {
    name: 'refuses to bind an expired EAB key with unauthorized',
    status: 403,
    type: 'unauthorized',
    detail: /expired/,
    send: async (w) => {
      const c = await new TestAcme(w.edge.fetch, w.edge.directoryUrl, await newKey()).init();
      return c.newAccount({
        termsOfServiceAgreed: true,
        externalAccountBinding: await c.eab(w.expiredKey.kid, w.expiredKey.hmacKey),
      });
    },
  },
  {
    name: 'rejects a wildcard in newAuthz (RFC 8555 §7.4.1)',
    status: 400,
    type: 'rejectedIdentifier',
    detail: /wildcard/,
    send: newAuthz({ identifier: dns('*.fine.test') }),
  },
  {
    name: 'rejects a denied name in newAuthz',
    status: 400,
    type: 'rejectedIdentifier',
    detail: /global policy/,
    send: newAuthz({ identifier: dns('x.denied.test') }),
  },
  {
    name: 'rejects a newAuthz payload without an identifier object',
    status: 400,
    type: 'malformed',
    send: newAuthz({ identifiers: [dns('fine.test')] }),
  },
  {
    name: 'rejects a newAuthz payload that is not an object',
    status: 400,
    type: 'malformed',
    send: newAuthz(['fine.test']),
  },
];

runTable('conformance: policy, profiles, rate limits, newAuthz', setup, (w) => w.edge.close(), CASES);
