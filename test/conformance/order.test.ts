// Bad newOrder payloads (RFC 8555 §7.4, §7.1.3, §7.1.4, RFC 8738), other accounts' resources,
// authorization and challenge misuse (§7.5), wrong methods and unknown resources (§6.3).
import assert from 'node:assert/strict';
import type { Identifier } from '../../shared/problems.ts';
import { newKey, type TestAcme } from '../support/acme.ts';
import { type InprocEdge, startInprocEdge } from '../support/edge-app.ts';
import {
  account,
  authzOf,
  type BadRequest,
  type ChallengeInfo,
  newOrder,
  type OrderInfo,
  postOk,
  runTable,
} from './harness.ts';

interface World {
  edge: InprocEdge;
  a: TestAcme;
  b: TestAcme;
  /** account B's order, its authorization and http-01 challenge */
  bOrder: OrderInfo;
  bAuthz: string;
  bChallenge: ChallengeInfo;
  /** account A's authorization deactivated in setup, and one of its challenges */
  deadAuthz: string;
  deadChallenge: ChallengeInfo;
  /** account A's pending authorization */
  aAuthz: string;
}

async function setup(): Promise<World> {
  const edge = await startInprocEdge();
  const a = await account(edge, await newKey('ES256'));
  const b = await account(edge, await newKey('EdDSA'));
  const bOrder = await newOrder(b, [{ type: 'dns', value: 'b.example.test' }]);
  const bAuthz = bOrder.authorizations[0] ?? '';
  const bChallenge = (await authzOf(b, bAuthz)).challenges[0];
  const aOrder = await newOrder(a, [{ type: 'dns', value: 'a.example.test' }]);
  const aAuthz = aOrder.authorizations[0] ?? '';
  const dead = await newOrder(a, [{ type: 'dns', value: 'dead.example.test' }]);
  const deadAuthz = dead.authorizations[0] ?? '';
  await postOk(a, deadAuthz, { status: 'deactivated' });
  const deadState = await authzOf(a, deadAuthz);
  assert.equal(deadState.status, 'deactivated');
  const deadChallenge = deadState.challenges.find((c) => c.type === 'http-01');
  assert.ok(bChallenge && deadChallenge);
  return { edge, a, b, bOrder, bAuthz, bChallenge, deadAuthz, deadChallenge, aAuthz };
}

const order =
  (identifiers: unknown, extra: Record<string, unknown> = {}) =>
  (w: World) =>
    w.a.post(w.a.dir.newOrder, { identifiers, ...extra });

const dns = (value: string): Identifier => ({ type: 'dns', value });

/** One bad identifier: the problem names it (RFC 8555 §6.7.1 "identifier"). */
const rejected = (name: string, value: string, type = 'rejectedIdentifier'): BadRequest<World> => ({
  name,
  status: 400,
  type,
  send: order([dns(value)]),
  check: (doc) => assert.deepEqual(doc.identifier, dns(value), 'the problem names the identifier'),
});

const mal = (name: string, send: (w: World) => Promise<Response>): BadRequest<World> => ({
  name,
  status: 400,
  type: 'malformed',
  send,
});

const inHours = (h: number) => new Date(Date.now() + h * 3_600_000).toISOString();

const get = (w: World, url: string, method = 'GET') => w.a.fetch(url, { method });

const notAllowed = (what: string, url: (w: World) => string, method = 'GET'): BadRequest<World> => ({
  name: `rejects ${method} on ${what}, a POST-only resource, with 405`,
  status: 405,
  type: 'malformed',
  send: (w) => get(w, url(w), method),
  check: (_doc, res) => assert.equal(res.headers.get('allow'), 'POST'),
});

const cases: BadRequest<World>[] = [
  // identifiers (RFC 8555 §7.4, §7.1.4)
  mal('rejects an order with an empty identifiers array as malformed', order([])),
  mal('rejects an order without identifiers as malformed', (w) =>
    w.a.post(w.a.dir.newOrder, { profile: 'default' }),
  ),
  mal('rejects an identifier that is a string as malformed', order(['a.example.test'])),
  mal('rejects an identifier whose value is a number as malformed', order([{ type: 'dns', value: 42 }])),
  {
    name: 'rejects identifier type "email" with unsupportedIdentifier naming it',
    status: 400,
    type: 'unsupportedIdentifier',
    send: order([{ type: 'email', value: 'me@example.test' }]),
    check: (doc) => assert.deepEqual(doc.identifier, { type: 'email', value: 'me@example.test' }),
  },
  rejected('rejects a DNS name with a space with rejectedIdentifier', 'bad name.example.test'),
  rejected('rejects a DNS name with an underscore with rejectedIdentifier', 'bad_name.example.test'),
  rejected('rejects a DNS name with an empty label with rejectedIdentifier', 'a..example.test'),
  rejected(
    'rejects a DNS label longer than 63 octets with rejectedIdentifier',
    `${'a'.repeat(64)}.example.test`,
  ),
  rejected('rejects a DNS label starting with a hyphen with rejectedIdentifier', '-a.example.test'),
  rejected('rejects a DNS name with a trailing dot with rejectedIdentifier', 'a.example.test.'),
  rejected('rejects a wildcard in the middle of a name with rejectedIdentifier', 'a.*.example.test'),
  rejected('rejects a double wildcard with rejectedIdentifier', '*.*.example.test'),
  rejected('rejects a partial-label wildcard with rejectedIdentifier', 'a*.example.test'),
  rejected('rejects an IPv4 address as a dns identifier with rejectedIdentifier', '10.0.0.1'),
  rejected('rejects an IPv6 address as a dns identifier with rejectedIdentifier', '2001:db8::1'),
  mal(
    'rejects an ip identifier that is not an address as malformed',
    order([{ type: 'ip', value: 'host.test' }]),
  ),
  {
    name: 'rejects an order over the identifier limit with rejectedIdentifier',
    status: 400,
    type: 'rejectedIdentifier',
    send: order(Array.from({ length: 101 }, (_, i) => dns(`h${i}.example.test`))),
  },
  {
    name: 'rejects several bad DNS names with one subproblem per name',
    status: 400,
    type: 'rejectedIdentifier',
    send: order([dns('ok.example.test'), dns('a.*.example.test'), dns('bad_name.example.test')]),
    subproblems: [
      { type: 'rejectedIdentifier', identifier: dns('a.*.example.test') },
      { type: 'rejectedIdentifier', identifier: dns('bad_name.example.test') },
    ],
  },
  {
    name: 'rejects identifiers bad in different ways with one subproblem of each type',
    status: 400,
    type: 'rejectedIdentifier',
    send: order([{ type: 'email', value: 'me@example.test' }, dns('10.0.0.1'), dns('ok.example.test')]),
    subproblems: [
      { type: 'unsupportedIdentifier', identifier: { type: 'email', value: 'me@example.test' } as never },
      { type: 'rejectedIdentifier', identifier: dns('10.0.0.1') },
    ],
  },
  // profiles and validity (draft-ietf-acme-profiles; RFC 8555 §7.4 notBefore/notAfter)
  {
    name: 'rejects an unknown profile with invalidProfile',
    status: 400,
    type: 'invalidProfile',
    send: order([dns('p.example.test')], { profile: 'no-such-profile' }),
  },
  {
    name: 'rejects a profile that is not a string with invalidProfile',
    status: 400,
    type: 'invalidProfile',
    send: order([dns('p.example.test')], { profile: 7 }),
  },
  mal(
    'rejects a notBefore that is not an RFC 3339 date as malformed',
    order([dns('d.example.test')], { notBefore: 'tomorrow' }),
  ),
  mal(
    'rejects a notAfter that is a number as malformed',
    order([dns('d.example.test')], { notAfter: Date.now() }),
  ),
  mal(
    'rejects a notAfter before notBefore as malformed',
    order([dns('d.example.test')], { notBefore: inHours(2), notAfter: inHours(1) }),
  ),
  mal(
    "rejects a notAfter beyond the profile's lifetime as malformed",
    order([dns('d.example.test')], { notAfter: inHours(24 * 30) }),
  ),
  mal(
    'rejects a notBefore a month ahead as malformed',
    order([dns('d.example.test')], { notBefore: inHours(24 * 30) }),
  ),
  mal(
    'rejects "replaces" that is not a string as malformed',
    order([dns('d.example.test')], { replaces: 1 }),
  ),
  // another account's resources (answered as unauthorized, never with the resource)
  {
    name: "rejects reading another account's order with unauthorized",
    status: 403,
    type: 'unauthorized',
    send: (w) => w.a.post(w.bOrder.url, ''),
  },
  {
    name: "rejects finalizing another account's order with unauthorized",
    status: 403,
    type: 'unauthorized',
    send: (w) => w.a.post(w.bOrder.finalize, { csr: 'AAAA' }),
  },
  {
    name: "rejects reading another account's authorization with unauthorized",
    status: 403,
    type: 'unauthorized',
    send: (w) => w.a.post(w.bAuthz, ''),
  },
  {
    name: "rejects deactivating another account's authorization with unauthorized",
    status: 403,
    type: 'unauthorized',
    send: (w) => w.a.post(w.bAuthz, { status: 'deactivated' }),
  },
  {
    name: "rejects answering another account's challenge with unauthorized",
    status: 403,
    type: 'unauthorized',
    send: (w) => w.a.post(w.bChallenge.url, {}),
  },
  // unknown resources (404 with a problem document)
  {
    name: 'rejects an order id that does not exist with 404',
    status: 404,
    type: 'malformed',
    send: (w) => w.a.post(w.bOrder.url.replace(/[^/]+$/, 'nope'), ''),
  },
  {
    name: 'rejects an authorization id that does not exist with 404',
    status: 404,
    type: 'malformed',
    send: (w) => w.a.post(w.bAuthz.replace(/[^/]+$/, 'nope'), ''),
  },
  {
    name: 'rejects a challenge id that does not exist with 404',
    status: 404,
    type: 'malformed',
    send: (w) => w.a.post(w.bChallenge.url.replace(/[^/]+$/, 'nope'), {}),
  },
  {
    name: 'rejects a certificate id that does not exist with 404',
    status: 404,
    type: 'malformed',
    send: (w) => w.a.post(w.bOrder.url.replace(/order\/[^/]+$/, 'cert/nope'), ''),
  },
  {
    name: 'rejects a POST to a path that is no resource with 404',
    status: 404,
    type: 'malformed',
    send: (w) => w.a.post(w.a.dir.newOrder.replace('new-order', 'new-thing'), {}),
  },
  {
    name: 'rejects a GET of a path that is no resource with 404',
    status: 404,
    type: 'malformed',
    send: (w) => get(w, w.a.dir.newOrder.replace('new-order', 'new-thing')),
  },
  // authorizations and challenges (RFC 8555 §7.5)
  mal('rejects an authorization update to status "valid" as malformed', (w) =>
    w.a.post(w.aAuthz, { status: 'valid' }),
  ),
  mal('rejects answering a challenge of a deactivated authorization as malformed', (w) =>
    w.a.post(w.deadChallenge.url, {}),
  ),
  mal('rejects a challenge answer that is a JSON array as malformed', (w) =>
    w.a.post(w.deadChallenge.url, []),
  ),
  // methods (RFC 8555 §6.3)
  notAllowed('newAccount', (w) => w.a.dir.newAccount),
  notAllowed('newOrder', (w) => w.a.dir.newOrder),
  notAllowed('revokeCert', (w) => w.a.dir.revokeCert),
  notAllowed('keyChange', (w) => w.a.dir.keyChange),
  notAllowed('an order', (w) => w.bOrder.url),
  notAllowed('an authorization', (w) => w.bAuthz),
  notAllowed('a challenge', (w) => w.bChallenge.url),
  notAllowed('finalize', (w) => w.bOrder.finalize, 'PUT'),
  notAllowed('an account', (w) => w.a.kid ?? '', 'DELETE'),
];

runTable('orders, authorizations, challenges', setup, (w) => w.edge.close(), cases);
