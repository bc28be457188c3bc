// Which addresses validation may connect to. An ACME client names the host; without these rules it
// could make the CA probe its own loopback services or a cloud metadata endpoint (SSRF). Private
// RFC 1918 / ULA ranges are allowed by default because edgeca is a CA for internal networks.

import { type Cidr, formatIp, ipInCidr, ipv4InIpv6, parseCidr, parseIp } from '../../shared/identifiers.ts';
import { AcmeProblem } from '../../shared/problems.ts';

export interface AddressPolicy {
  allowLoopback: boolean;
  allowPrivate: boolean;
  allowLinkLocal: boolean;
}

/** Production default: internal networks yes, loopback and link-local no. */
export const DEFAULT_ADDRESS_POLICY: AddressPolicy = Object.freeze({
  allowLoopback: false,
  allowPrivate: true,
  allowLinkLocal: false,
});

type Rule = 'unspecified' | 'multicast' | 'reserved' | 'metadata' | 'loopback' | 'linkLocal' | 'private';

const cidrs = (...texts: string[]): Cidr[] =>
  texts.map((t) => {
    const c = parseCidr(t);
    if (!c) throw new Error(`bad CIDR constant ${t}`);
    return c;
  });

// Order matters: the first matching rule names the refusal (metadata before link-local/private).
const RULES: ReadonlyArray<{ rule: Rule; ranges: Cidr[]; describe: string }> = [
  { rule: 'unspecified', ranges: cidrs('0.0.0.0/8', '::/128'), describe: 'an unspecified address' },
  { rule: 'multicast', ranges: cidrs('224.0.0.0/4', 'ff00::/8'), describe: 'a multicast address' },
  { rule: 'reserved', ranges: cidrs('240.0.0.0/4'), describe: 'a reserved or broadcast address' },
  {
    rule: 'metadata',
    ranges: cidrs('169.254.169.254/32', 'fd00:ec2::254/128'),
    describe: 'a cloud metadata service address',
  },
  { rule: 'loopback', ranges: cidrs('127.0.0.0/8', '::1/128'), describe: 'a loopback address' },
  { rule: 'linkLocal', ranges: cidrs('169.254.0.0/16', 'fe80::/10'), describe: 'a link-local address' },
  {
    rule: 'private',
    ranges: cidrs('10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fc00::/7'),
    describe: 'a private address',
  },
];

function allowed(rule: Rule, policy: AddressPolicy): boolean {
  switch (rule) {
    case 'loopback':
      return policy.allowLoopback;
    case 'linkLocal':
      return policy.allowLinkLocal;
    case 'private':
      return policy.allowPrivate;
    default:
      // Unspecified, multicast, reserved and metadata addresses are never dialled.
      return false;
  }
}

/**
 * Null when validation may connect to `ip`; otherwise a `connection` problem naming the address and
 * the rule that refused it. IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry.
 */
export function checkAddress(ip: string, policy: AddressPolicy): AcmeProblem | null {
  const parsed = parseIp(ip);
  if (!parsed) return new AcmeProblem('connection', `"${ip}" is not an IP address`);
  const v4 = ipv4InIpv6(parsed);
  const bytes = v4 && parsed[10] === 0xff ? v4 : parsed;
  for (const { rule, ranges, describe } of RULES) {
    if (!ranges.some((r) => ipInCidr(bytes, r))) continue;
    if (allowed(rule, policy)) return null;
    return new AcmeProblem(
      'connection',
      `${formatIp(bytes)} is ${describe}; edgeca does not connect to it for validation (address rule: ${rule})`,
    );
  }
  return null;
}
