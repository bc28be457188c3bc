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
      name: 'refuses the Alibaba Cloud metadata address though 100.64/10 is allowed as private',
      ip: '100.100.100.200',
      policy: ALLOW_ALL,
      refusedBy: 'metadata',
    },
    {
      name: "refuses Azure's host endpoint (WireServer), a public address",
      ip: '168.63.129.16',
      policy: ALLOW_ALL,
      refusedBy: 'metadata',
    },
    {
      name: 'refuses the Oracle Cloud metadata address',
      ip: '192.0.0.192',
      policy: ALLOW_ALL,
      refusedBy: 'metadata',
    },
    ...embedded(),
    // RFC 8215: which IPv4 address a local-use NAT64 address reaches depends on the prefix length
    // the operator chose (RFC 6052 §2.2 puts it in different bits for /48 … /96): not dialled at all.
    ...['64:ff9b:1::a9fe:a9fe', '64:ff9b:1:a9fe:a9:fe00::', '64:ff9b:1::5db8:d822'].map((ip) => ({
      name: `refuses the local-use NAT64 address ${ip}`,
      ip,
      policy: ALLOW_ALL,
      refusedBy: 'local-use NAT64',
    })),
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

/**
 * IPv6 forms that carry an IPv4 address and reach it (RFC 4291 §2.5.5 mapped and compatible,
 * RFC 6052 NAT64 with the well-known and the local-use prefix, RFC 3056 6to4, RFC 4380 Teredo):
 * each is judged by
 * the IPv4 address inside.
 */
function embedded(): Array<{ name: string; ip: string; policy: AddressPolicy; refusedBy?: string }> {
  const rows: Array<[form: string, metadata: string, loopback: string, priv: string, pub: string]> = [
    ['IPv4-mapped', '::ffff:169.254.169.254', '::ffff:7f00:1', '::ffff:10.0.0.1', '::ffff:93.184.216.34'],
    ['IPv4-compatible', '::169.254.169.254', '::127.0.0.1', '::10.0.0.1', '::93.184.216.34'],
    ['NAT64 (64:ff9b::/96)', '64:ff9b::a9fe:a9fe', '64:ff9b::7f00:1', '64:ff9b::a00:1', '64:ff9b::5db8:d822'],
    ['6to4 (2002::/16)', '2002:a9fe:a9fe::', '2002:7f00:1::1', '2002:a00:1::1', '2002:5db8:d822::1'],
    [
      'Teredo (2001::/32, client address inverted)',
      '2001:0:4136:e378:8000:63bf:5601:5601',
      '2001:0:4136:e378:8000:63bf:80ff:fffe',
      '2001:0:4136:e378:8000:63bf:f5ff:fffe',
      '2001:0:4136:e378:8000:63bf:a247:27dd',
    ],
    [
      'IPv4-mapped Alibaba metadata',
      '::ffff:100.100.100.200',
      '::ffff:127.1.2.3',
      '::ffff:192.168.0.1',
      '::ffff:8.8.8.8',
    ],
  ];
  return rows.flatMap(([form, metadata, loopback, priv, pub]) => [
    {
      name: `refuses metadata in ${form} form (${metadata})`,
      ip: metadata,
      policy: ALLOW_ALL,
      refusedBy: 'metadata',
    },
    {
      name: `refuses loopback in ${form} form (${loopback})`,
      ip: loopback,
      policy: DEFAULT_ADDRESS_POLICY,
      refusedBy: 'loopback',
    },
    {
      name: `refuses a private IPv4 in ${form} form when private is refused`,
      ip: priv,
      policy: DENY_ALL,
      refusedBy: 'private',
    },
    {
      name: `allows a private IPv4 in ${form} form when private is allowed`,
      ip: priv,
      policy: DEFAULT_ADDRESS_POLICY,
    },
    { name: `allows a public IPv4 in ${form} form`, ip: pub, policy: DENY_ALL },
  ]);
}
