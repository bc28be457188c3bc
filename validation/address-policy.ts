// Which addresses validation may connect to. An ACME client names the host; without these rules it
// could make the CA probe its own loopback services or a cloud metadata endpoint (SSRF). Private
// RFC 1918 / ULA ranges are allowed by default because edgeca is a CA for internal networks.

import { type Cidr, formatIp, ipInCidr, ipv4InIpv6, parseCidr, parseIp } from '../shared/identifiers.ts';
import { AcmeProblem } from '../shared/problems.ts';

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

type Rule =
  | 'unspecified'
  | 'multicast'
  | 'reserved'
  | 'metadata'
  | 'translated'
  | 'loopback'
  | 'linkLocal'
  | 'private';

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
    // AWS, GCP, Azure (169.254.169.254, fd00:ec2::254), Azure's host endpoint (168.63.129.16: the
    // WireServer that hands VM agents their configuration, DNS and health probes; a public address
    // that every Azure VM reaches inside the platform), Alibaba Cloud (100.100.100.200, inside the
    // otherwise private 100.64.0.0/10) and Oracle Cloud (192.0.0.192).
    rule: 'metadata',
    ranges: cidrs(
      '169.254.169.254/32',
      'fd00:ec2::254/128',
      '168.63.129.16/32',
      '100.100.100.200/32',
      '192.0.0.192/32',
    ),
    describe: 'a cloud metadata service address',
  },
  {
    // RFC 8215: the IPv4 address behind a local-use NAT64 address depends on the prefix length the
    // operator picked (RFC 6052 §2.2 places it in different bits for /48 … /96), so it cannot be
    // judged; the well-known prefix 64:ff9b::/96 can, below.
    rule: 'translated',
    ranges: cidrs('64:ff9b:1::/48'),
    describe: 'a local-use NAT64 address whose IPv4 address cannot be known',
  },
  { rule: 'loopback', ranges: cidrs('127.0.0.0/8', '::1/128'), describe: 'a loopback address' },
  { rule: 'linkLocal', ranges: cidrs('169.254.0.0/16', 'fe80::/10'), describe: 'a link-local address' },
  {
    rule: 'private',
    ranges: cidrs('10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fc00::/7'),
    describe: 'a private address',
  },
];

const NAT64_WELL_KNOWN = cidrs('64:ff9b::/96')[0];
const SIX_TO_FOUR = cidrs('2002::/16')[0];
const TEREDO = cidrs('2001::/32')[0];

/**
 * The IPv4 address an IPv6 address reaches, when it carries one: IPv4-mapped and IPv4-compatible
 * (RFC 4291 §2.5.5), NAT64 with the well-known prefix (RFC 6052 §2.1, the last 32 bits) and 6to4
 * (RFC 3056 §2, bits 16–47), and Teredo (RFC 4380 §4, the client's address in the last 32 bits,
 * every bit inverted). 64:ff9b::a9fe:a9fe, 2002:a9fe:a9fe:: and 2001:0:4136:e378:8000:63bf:5601:5601
 * all reach 169.254.169.254.
 */
function embeddedIpv4(ip: Uint8Array): Uint8Array | null {
  if (ip.length !== 16) return null;
  const v4 = ipv4InIpv6(ip);
  if (v4) return v4;
  if (NAT64_WELL_KNOWN && ipInCidr(ip, NAT64_WELL_KNOWN)) return ip.subarray(12);
  if (SIX_TO_FOUR && ipInCidr(ip, SIX_TO_FOUR)) return ip.subarray(2, 6);
  if (TEREDO && ipInCidr(ip, TEREDO)) return ip.subarray(12).map((b) => b ^ 0xff);
  return null;
}

function allowed(rule: Rule, policy: AddressPolicy): boolean {
  switch (rule) {
    case 'loopback':
      return policy.allowLoopback;
    case 'linkLocal':
      return policy.allowLinkLocal;
    case 'private':
      return policy.allowPrivate;
    default:
      // Unspecified, multicast, reserved, metadata and untranslatable addresses are never dialled.
      return false;
  }
}

/** The rule that refuses `bytes` under `policy`, or null when it may be dialled. */
function refusingRule(bytes: Uint8Array, policy: AddressPolicy): { rule: Rule; describe: string } | null {
  for (const { rule, ranges, describe } of RULES) {
    if (!ranges.some((r) => ipInCidr(bytes, r))) continue;
    return allowed(rule, policy) ? null : { rule, describe };
  }
  return null;
}

/**
 * Null when validation (or the `purpose` named, such as webhook delivery) may connect to `ip`; otherwise a `connection` problem naming the address and
 * the rule that refused it. An IPv6 address that carries an IPv4 address is judged twice, as itself
 * and as the IPv4 address it reaches, and refused when either is refused.
 */
export function checkAddress(ip: string, policy: AddressPolicy, purpose = 'validation'): AcmeProblem | null {
  const parsed = parseIp(ip);
  if (!parsed) return new AcmeProblem('connection', `"${ip}" is not an IP address`);
  const v4 = embeddedIpv4(parsed);
  const inner = v4 ? refusingRule(v4, policy) : null;
  const refused = inner ?? refusingRule(parsed, policy);
  if (!refused) return null;
  const what = inner && v4 ? `${formatIp(parsed)} reaches ${formatIp(v4)}, which` : formatIp(parsed);
  return new AcmeProblem(
    'connection',
    `${what} is ${refused.describe}; edgeca does not connect to it for ${purpose} (address rule: ${refused.rule})`,
  );
}
