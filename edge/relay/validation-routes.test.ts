import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Identifier } from '../../shared/problems.ts';
import {
  offeredChallenges,
  parseValidationRoutes,
  type RoutingContext,
  routeFor,
} from './validation-routes.ts';

const rules = parseValidationRoutes(
  JSON.stringify([
    { match: 'corp.internal', route: 'onprem' },
    { match: 'public.corp.internal', route: 'edge' },
    { match: 'dmz.corp.internal', route: 'both' },
    { match: '10.0.0.0/8', route: 'onprem' },
    { match: '10.9.0.0/16', route: 'both' },
  ]),
);
const node: RoutingContext = { runtime: { tlsAlpn: true }, validator: true };
const workers: RoutingContext = { runtime: { tlsAlpn: false }, validator: true };
const dns = (value: string): Identifier => ({ type: 'dns', value });
const ip = (value: string): Identifier => ({ type: 'ip', value });

describe('routeFor', () => {
  const cases: {
    name: string;
    id: Identifier;
    type?: 'http-01' | 'tls-alpn-01';
    ctx?: RoutingContext;
    want: string;
  }[] = [
    { name: 'routes a name under an onprem suffix on-prem', id: dns('db7.corp.internal'), want: 'onprem' },
    { name: 'routes the suffix itself', id: dns('corp.internal'), want: 'onprem' },
    { name: 'lets the longest suffix win', id: dns('www.public.corp.internal'), want: 'edge' },
    { name: 'routes both when the rule says so', id: dns('a.dmz.corp.internal'), want: 'both' },
    { name: 'matches labels, not strings', id: dns('notcorp.internal'), want: 'edge' },
    { name: 'matches a wildcard base name', id: dns('*.corp.internal'), want: 'onprem' },
    { name: 'routes an IP in a range', id: ip('10.1.2.3'), want: 'onprem' },
    { name: 'lets the longest prefix win', id: ip('10.9.1.1'), want: 'both' },
    { name: 'keeps an IP outside every range at the edge', id: ip('192.0.2.1'), want: 'edge' },
    { name: 'never matches a DNS rule against an IP', id: ip('10.0.0.1'), want: 'onprem' },
    {
      name: 'sends unmatched tls-alpn-01 on-prem on a runtime without raw TLS',
      id: dns('app.example.com'),
      type: 'tls-alpn-01',
      ctx: workers,
      want: 'onprem',
    },
    {
      name: 'keeps unmatched tls-alpn-01 at a Node edge',
      id: dns('app.example.com'),
      type: 'tls-alpn-01',
      want: 'edge',
    },
    {
      name: 'keeps unmatched tls-alpn-01 at the edge when no validator is configured',
      id: dns('app.example.com'),
      type: 'tls-alpn-01',
      ctx: { runtime: { tlsAlpn: false }, validator: false },
      want: 'edge',
    },
  ];
  for (const c of cases) {
    test(c.name, () => assert.equal(routeFor(c.id, c.type ?? 'http-01', rules, c.ctx ?? node), c.want));
  }
  test('a "." rule matches every name, less specifically than any suffix', () => {
    const r = parseValidationRoutes(
      '[{"match":".","route":"onprem"},{"match":"example.com","route":"edge"}]',
    );
    assert.equal(routeFor(dns('x.test'), 'http-01', r, node), 'onprem');
    assert.equal(routeFor(dns('a.example.com'), 'http-01', r, node), 'edge');
  });
});

describe('offeredChallenges', () => {
  const tlsAlpnOffered = (id: Identifier, r: typeof rules, ctx: RoutingContext) =>
    offeredChallenges(id, r, ctx).includes('tls-alpn-01');
  test('offers tls-alpn-01 on on-prem routes on Workers/Deno, not on edge or both routes', () => {
    assert.equal(tlsAlpnOffered(dns('db7.corp.internal'), rules, workers), true);
    assert.equal(tlsAlpnOffered(dns('www.public.corp.internal'), rules, workers), false);
    assert.equal(tlsAlpnOffered(dns('a.dmz.corp.internal'), rules, workers), false);
    assert.equal(tlsAlpnOffered(dns('x.test'), [], workers), true);
    assert.equal(tlsAlpnOffered(dns('x.test'), [], { runtime: { tlsAlpn: false }, validator: false }), false);
    assert.equal(tlsAlpnOffered(dns('www.public.corp.internal'), rules, node), true);
  });
  const cases: { name: string; id: Identifier; ctx: RoutingContext; want: string[] }[] = [
    {
      name: 'a name on Node',
      id: dns('a.test'),
      ctx: node,
      want: ['http-01', 'dns-01', 'tls-alpn-01', 'dns-account-01'],
    },
    {
      name: 'an IP on Node (RFC 8738: no dns-01)',
      id: ip('192.0.2.1'),
      ctx: node,
      want: ['http-01', 'tls-alpn-01'],
    },
    {
      name: 'a wildcard on Node (the DNS challenges only)',
      id: dns('*.a.test'),
      ctx: node,
      want: ['dns-01', 'dns-account-01'],
    },
    {
      name: 'a name on Workers without a validator',
      id: dns('a.test'),
      ctx: { runtime: { tlsAlpn: false }, validator: false },
      want: ['http-01', 'dns-01', 'dns-account-01'],
    },
    {
      name: 'an IP routed on-prem from Workers',
      id: ip('10.1.2.3'),
      ctx: workers,
      want: ['http-01', 'tls-alpn-01'],
    },
    {
      name: 'a wildcard routed on-prem from Workers',
      id: dns('*.corp.internal'),
      ctx: workers,
      want: ['dns-01', 'dns-account-01'],
    },
  ];
  for (const c of cases) {
    test(`offers ${c.want.join(', ')} for ${c.name}`, () =>
      assert.deepEqual(offeredChallenges(c.id, rules, c.ctx), c.want));
  }
  test('offers dns-persist-01 only when opted into, routed like the other DNS challenges', () => {
    const optedIn = new Set(['dns-persist-01']);
    assert.deepEqual(offeredChallenges(dns('*.corp.internal'), rules, workers, optedIn), [
      'dns-01',
      'dns-account-01',
      'dns-persist-01',
    ]);
    assert.deepEqual(offeredChallenges(ip('10.1.2.3'), rules, workers, optedIn), ['http-01', 'tls-alpn-01']);
  });
});

describe('parseValidationRoutes refuses', () => {
  const bad: [string, string, RegExp][] = [
    ['not JSON', '{', /not JSON/],
    ['an object', '{}', /array/],
    ['an unknown route', '[{"match":"a.test","route":"inside"}]', /edge, onprem or both/],
    ['an empty match', '[{"match":"","route":"edge"}]', /DNS suffix or a CIDR/],
    ['a bad CIDR', '[{"match":"10.0.0.0/33","route":"edge"}]', /not a CIDR/],
  ];
  for (const [name, json, re] of bad) test(name, () => assert.throws(() => parseValidationRoutes(json), re));
});
