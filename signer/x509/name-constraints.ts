// A NameConstraints extension (RFC 5280 §4.2.1.10) for an intermediate, derived from the signer's
// ceiling: the intermediate itself then cannot certify a name the ceiling would refuse, whatever
// signs with its key. dNSName subtrees are the ceiling's DNS suffixes ("internal.test" permits it
// and every name under it, §4.2.1.10); iPAddress subtrees are its CIDRs as address and mask. A
// ceiling that allows every name ('.') puts no DNS constraint; one that allows no IP address
// excludes all of IPv4 and IPv6. Marked critical, as §4.2.1.10 requires of CAs.
import { id_ce_nameConstraints } from '@peculiar/asn1-x509';
import { type Bytes, seq, tlv } from '../../shared/der.ts';
import { parseCidr } from '../../shared/identifiers.ts';
import type { Ceiling } from '../config.ts';
import { extension } from './common.ts';

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** GeneralSubtree { base } with minimum 0 (DER omits the default) and no maximum. */
const subtree = (generalName: Uint8Array): Bytes => seq(generalName);
const dnsName = (name: string): Bytes => tlv(0x82, ascii(name)); // [2] IMPLICIT IA5String
const ipSubnet = (network: Uint8Array, prefix: number): Bytes => {
  const mask = new Uint8Array(network.length);
  for (let i = 0; i < mask.length; i++) {
    const bits = Math.min(8, Math.max(0, prefix - 8 * i));
    mask[i] = (0xff00 >> bits) & 0xff;
  }
  const addr = network.map((b, i) => b & (mask[i] as number));
  return tlv(0x87, addr, mask); // [7] IMPLICIT OCTET STRING: address then mask (§4.2.1.10)
};

export interface DerivedConstraints {
  permittedDns: string[];
  permittedIp: string[];
  excludeAllIp: boolean;
}

/** What the ceiling allows, as name constraints; throws on a suffix or range it cannot encode. */
export function constraintsFromCeiling(
  ceiling: Pick<Ceiling, 'dnsSuffixes' | 'ipRanges'>,
): DerivedConstraints {
  const all = ceiling.dnsSuffixes.some((s) => s.replace(/^\.+/, '') === '');
  const permittedDns = all
    ? []
    : [...new Set(ceiling.dnsSuffixes.map((s) => s.replace(/^\.+/, '').toLowerCase()))];
  for (const d of permittedDns)
    if (!/^[a-z0-9.-]{1,253}$/.test(d)) throw new TypeError(`ceiling suffix "${d}" is not an ASCII DNS name`);
  for (const r of ceiling.ipRanges)
    if (!parseCidr(r)) throw new TypeError(`ceiling range "${r}" is not a CIDR`);
  return { permittedDns, permittedIp: [...ceiling.ipRanges], excludeAllIp: ceiling.ipRanges.length === 0 };
}

/** The critical NameConstraints extension for `c`, or undefined when it would constrain nothing. */
export function nameConstraintsExtension(c: DerivedConstraints): Bytes | undefined {
  const permitted = [
    ...c.permittedDns.map((d) => subtree(dnsName(d))),
    ...c.permittedIp.map((r) => {
      const cidr = parseCidr(r);
      if (!cidr) throw new TypeError(`"${r}" is not a CIDR`);
      return subtree(ipSubnet(cidr.network, cidr.prefix));
    }),
  ];
  const excluded = c.excludeAllIp
    ? [subtree(ipSubnet(new Uint8Array(4), 0)), subtree(ipSubnet(new Uint8Array(16), 0))]
    : [];
  if (permitted.length === 0 && excluded.length === 0) return undefined;
  const value = seq(
    ...(permitted.length > 0 ? [tlv(0xa0, ...permitted)] : []),
    ...(excluded.length > 0 ? [tlv(0xa1, ...excluded)] : []),
  );
  return extension(id_ce_nameConstraints, true, value);
}
