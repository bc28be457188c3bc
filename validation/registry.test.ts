import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Identifier } from '../shared/problems.ts';
import type { Capabilities } from './net.ts';
import {
  CHALLENGE_TYPES,
  CHALLENGES,
  challengeOf,
  isChallengeType,
  OPT_IN_TYPES,
  offeredTypes,
} from './registry.ts';

const dns = (value: string): Identifier => ({ type: 'dns', value });
const ip = (value: string): Identifier => ({ type: 'ip', value });
const rawTls: Capabilities = { tlsAlpn: true };
const noRawTls: Capabilities = { tlsAlpn: false };

describe('challenge registry', () => {
  test('names each type once', () => {
    assert.equal(new Set(CHALLENGE_TYPES).size, CHALLENGES.length);
    assert.deepEqual(
      CHALLENGE_TYPES,
      CHALLENGES.map((c) => c.type),
    );
  });
  test('finds a challenge by its type, and nothing for another name', () => {
    for (const c of CHALLENGES) {
      assert.equal(challengeOf(c.type), c);
      assert.equal(isChallengeType(c.type), true);
    }
    for (const other of ['tkauth-01', 'HTTP-01', '', 'constructor', 'toString']) {
      assert.equal(challengeOf(other), undefined, other);
      assert.equal(isChallengeType(other), false, other);
    }
    assert.equal(isChallengeType(undefined), false);
    assert.equal(isChallengeType(1), false);
  });

  // RFC 8555 §8, RFC 8737, RFC 8738 §4, §6, §7; wildcards by the DNS challenges only;
  // dns-account-01 for names only (draft-ietf-acme-dns-account-label-03 §5.1).
  const cases: { name: string; id: Identifier; can: Capabilities; want: string[] }[] = [
    {
      name: 'a name, raw TLS',
      id: dns('a.test'),
      can: rawTls,
      want: ['http-01', 'dns-01', 'tls-alpn-01', 'dns-account-01'],
    },
    {
      name: 'a name, no raw TLS',
      id: dns('a.test'),
      can: noRawTls,
      want: ['http-01', 'dns-01', 'dns-account-01'],
    },
    { name: 'a wildcard, raw TLS', id: dns('*.a.test'), can: rawTls, want: ['dns-01', 'dns-account-01'] },
    { name: 'an IPv4 address, raw TLS', id: ip('192.0.2.1'), can: rawTls, want: ['http-01', 'tls-alpn-01'] },
    { name: 'an IPv6 address, no raw TLS', id: ip('2001:db8::1'), can: noRawTls, want: ['http-01'] },
  ];
  for (const c of cases) {
    test(`offers ${c.want.join(', ')} for ${c.name}`, () => {
      assert.deepEqual(offeredTypes(c.id, c.can), c.want);
    });
  }

  test('offers dns-persist-01 only where it was opted into, and for names only', () => {
    assert.deepEqual(OPT_IN_TYPES, ['dns-persist-01']);
    const optedIn = new Set(['dns-persist-01']);
    assert.deepEqual(offeredTypes(dns('*.a.test'), noRawTls, optedIn), [
      'dns-01',
      'dns-account-01',
      'dns-persist-01',
    ]);
    assert.deepEqual(offeredTypes(dns('a.test'), rawTls, optedIn).at(-1), 'dns-persist-01');
    assert.deepEqual(offeredTypes(ip('192.0.2.1'), rawTls, optedIn), ['http-01', 'tls-alpn-01']);
    assert.equal(offeredTypes(dns('a.test'), rawTls).includes('dns-persist-01'), false);
  });
});
