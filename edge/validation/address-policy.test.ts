import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AddressPolicy, checkAddress, DEFAULT_ADDRESS_POLICY } from './address-policy.ts';

const ALLOW_ALL: AddressPolicy = { allowLoopback: true, allowPrivate: true, allowLinkLocal: true };
const DENY_ALL: AddressPolicy = { allowLoopback: false, allowPrivate: false, allowLinkLocal: false };

describe('checkAddress', () => {
  const cases: Array<{ name: string; ip: string; policy: AddressPolicy; refusedBy?: string }> = [
    { name: 'allows a public IPv4 address', ip: '93.184.216.34', policy: DENY_ALL },
    { name: 'allows a public IPv6 address', ip: '2001:db8::1', policy: DENY_ALL },
    { name: 'allows RFC 1918 addresses by default', ip: '10.1.2.3', policy: DEFAULT_ADDRESS_POLICY },
    { name: 'allows 172.16/12 by default', ip: '172.31.255.1', policy: DEFAULT_ADDRESS_POLICY },
    { name: 'allows ULA IPv6 by default', ip: 'fd12:3456::1', policy: DEFAULT_ADDRESS_POLICY },
    {
      name: 'refuses private addresses when not allowed',
      ip: '192.168.1.1',
      policy: DENY_ALL,
      refusedBy: 'private',
    },
    {
      name: 'refuses IPv4 loopback by default',
      ip: '127.0.0.1',
      policy: DEFAULT_ADDRESS_POLICY,
      refusedBy: 'loopback',
    },
    {
      name: 'refuses all of 127/8',
      ip: '127.255.0.9',
      policy: DEFAULT_ADDRESS_POLICY,
      refusedBy: 'loopback',
    },
    {
      name: 'refuses IPv6 loopback by default',
      ip: '::1',
      policy: DEFAULT_ADDRESS_POLICY,
      refusedBy: 'loopback',
    },
    { name: 'allows loopback when the policy allows it', ip: '127.0.0.1', policy: ALLOW_ALL },
    {
      name: 'refuses IPv4 link-local',
      ip: '169.254.10.1',
      policy: DEFAULT_ADDRESS_POLICY,
      refusedBy: 'linkLocal',
    },
    {
      name: 'refuses IPv6 link-local',
      ip: 'fe80::1',
      policy: DEFAULT_ADDRESS_POLICY,
      refusedBy: 'linkLocal',
    },
    { name: 'allows link-local when the policy allows it', ip: 'fe80::1', policy: ALLOW_ALL },
    {
      name: 'refuses the cloud metadata address even when link-local is allowed',
      ip: '169.254.169.254',
      policy: ALLOW_ALL,
      refusedBy: 'metadata',
    },
    {
      name: 'refuses the AWS IPv6 metadata address even when private is allowed',
      ip: 'fd00:ec2::254',
      policy: ALLOW_ALL,
      refusedBy: 'metadata',
    },
    {
      name: 'refuses the unspecified IPv4 address',
      ip: '0.0.0.0',
      policy: ALLOW_ALL,
      refusedBy: 'unspecified',
    },
    { name: 'refuses the unspecified IPv6 address', ip: '::', policy: ALLOW_ALL, refusedBy: 'unspecified' },
    { name: 'refuses IPv4 multicast', ip: '224.0.0.1', policy: ALLOW_ALL, refusedBy: 'multicast' },
    { name: 'refuses IPv6 multicast', ip: 'ff02::1', policy: ALLOW_ALL, refusedBy: 'multicast' },
    { name: 'refuses broadcast', ip: '255.255.255.255', policy: ALLOW_ALL, refusedBy: 'reserved' },
    {
      name: 'judges an IPv4-mapped IPv6 address as IPv4',
      ip: '::ffff:127.0.0.1',
      policy: DEFAULT_ADDRESS_POLICY,
      refusedBy: 'loopback',
    },
    {
      name: 'refuses text that is not an address',
      ip: 'localhost',
      policy: ALLOW_ALL,
      refusedBy: 'not an IP',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const problem = checkAddress(c.ip, c.policy);
      if (c.refusedBy === undefined) {
        assert.equal(problem, null);
        return;
      }
      assert.ok(problem, 'expected a refusal');
      assert.equal(problem.kind, 'connection');
      assert.match(problem.message, new RegExp(c.refusedBy));
    });
  }
});
