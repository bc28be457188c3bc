// IPv4 addresses written as IPv6 (RFC 4291 §2.5.5): refused as identifiers, and never a way around
// an IPv4 rule when they turn up in a range or as an address compared against one.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatIp, ipInCidr, normalizeIdentifier, parseCidr, parseIp } from './identifiers.ts';
import { AcmeProblem } from './problems.ts';

const ip = (value: string) => ({ type: 'ip', value });

describe('normalizeIdentifier and IPv4 addresses in IPv6 form', () => {
  const refused: [string, string, string][] = [
    ['an IPv4-mapped address in dotted form', '::ffff:8.8.8.8', '8.8.8.8'],
    ['an IPv4-mapped address in hex form', '::ffff:808:808', '8.8.8.8'],
    ['an IPv4-mapped address written out in full', '0:0:0:0:0:FFFF:0A01:0203', '10.1.2.3'],
    ['an IPv4-compatible address', '::8.8.8.8', '8.8.8.8'],
    ['an IPv4-compatible address in hex form', '::a01:203', '10.1.2.3'],
  ];
  for (const [name, value, v4] of refused) {
    it(`refuses ${name} with rejectedIdentifier naming the IPv4 form`, () => {
      assert.throws(
        () => normalizeIdentifier(ip(value)),
        (e: unknown) =>
          e instanceof AcmeProblem &&
          e.kind === 'rejectedIdentifier' &&
          e.message.includes(`"${v4}"`) &&
          /IPv4/.test(e.message) &&
          e.identifier?.value === value,
      );
    });
  }
  const accepted: [string, string, string][] = [
    ['the IPv4 form itself', '8.8.8.8', '8.8.8.8'],
    ['the IPv6 loopback (not an IPv4-compatible address)', '::1', '::1'],
    ['a NAT64 address (an IPv6 address of its own)', '64:ff9b::808:808', '64:ff9b::808:808'],
    ['an ordinary IPv6 address with a dotted tail', '2001:db8::1.2.3.4', '2001:db8::102:304'],
  ];
  for (const [name, value, canonical] of accepted) {
    it(`accepts ${name}`, () => {
      assert.deepEqual(normalizeIdentifier(ip(value)), { type: 'ip', value: canonical });
    });
  }
});

describe('ranges and comparisons with IPv4-mapped addresses', () => {
  it('reads a range inside ::ffff:0:0/96 as the IPv4 range it designates', () => {
    const c = parseCidr('::ffff:10.1.2.0/120');
    assert.ok(c);
    assert.equal(`${formatIp(c.network)}/${c.prefix}`, '10.1.2.0/24');
    const bare = parseCidr('::ffff:10.1.2.3');
    assert.ok(bare);
    assert.equal(`${formatIp(bare.network)}/${bare.prefix}`, '10.1.2.3/32');
  });
  it('keeps a range wider than ::ffff:0:0/96 as IPv6', () => {
    const c = parseCidr('::/0');
    assert.ok(c);
    assert.equal(c.network.length, 16);
  });
  it('matches an IPv4-mapped address against the IPv4 range holding its address', () => {
    const mapped = parseIp('::ffff:10.1.2.3');
    const range = parseCidr('10.1.2.0/24');
    assert.ok(mapped && range);
    assert.equal(ipInCidr(mapped, range), true);
    const outside = parseIp('::ffff:10.1.3.3');
    assert.ok(outside);
    assert.equal(ipInCidr(outside, range), false);
  });
  it('does not match an IPv4 address against an IPv6 range', () => {
    const v4 = parseIp('10.1.2.3');
    const all6 = parseCidr('::/0');
    assert.ok(v4 && all6);
    assert.equal(ipInCidr(v4, all6), false);
  });
});
