// Identifier normalisation shared by the edge (newOrder, CSR checks) and the signer (ceiling):
// DNS names (RFC 8555 §7.1.4, wildcards §7.1.3) and IP addresses (RFC 8738, RFC 5952 text form).
import { AcmeProblem, type Identifier } from './problems.ts';

export type { Identifier };

const LABEL_RE = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** Parses dotted-quad IPv4 or RFC 4291 IPv6 text; null when it is neither. */
export function parseIp(text: string): Uint8Array | null {
  if (text.includes(':')) return parseIpv6(text);
  return parseIpv4(text);
}

function parseIpv4(text: string): Uint8Array | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i] ?? '';
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out[i] = n;
  }
  return out;
}

function parseIpv6(text: string): Uint8Array | null {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return null;
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parseGroups = (s: string): number[] | null => {
    if (s === '') return [];
    const groups: number[] = [];
    const parts = s.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i] ?? '';
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIpv4(p);
        if (!v4) return null;
        groups.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return null;
      groups.push(Number.parseInt(p, 16));
    }
    return groups;
  };
  const head = parseGroups(halves[0] ?? '');
  const tail = halves.length === 2 ? parseGroups(halves[1] ?? '') : [];
  if (!head || !tail) return null;
  let groups: number[];
  if (halves.length === 2) {
    const fill = 8 - head.length - tail.length;
    if (fill < 1) return null;
    groups = [...head, ...new Array<number>(fill).fill(0), ...tail];
  } else {
    groups = head;
  }
  if (groups.length !== 8) return null;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/** Canonical text: dotted quad, or RFC 5952 IPv6 (lowercase, longest zero run compressed). */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  if (bytes.length !== 16) throw new TypeError('an IP address is 4 or 16 bytes');
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(((bytes[2 * i] ?? 0) << 8) | (bytes[2 * i + 1] ?? 0));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  const left = hex.slice(0, bestStart).join(':');
  const right = hex.slice(bestStart + bestLen).join(':');
  return `${left}::${right}`;
}

export function isValidDnsName(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split('.');
  if (labels.length < 1) return false;
  return labels.every((l) => LABEL_RE.test(l));
}

/**
 * The IPv4 address an IPv4-mapped (::ffff:0:0/96) or IPv4-compatible (::/96, deprecated by RFC 4291
 * §2.5.5.1) IPv6 address stands for; null for every other address. `::` and `::1` are IPv6's own
 * unspecified and loopback addresses, not IPv4-compatible ones.
 */
export function ipv4InIpv6(ip: Uint8Array): Uint8Array | null {
  if (ip.length !== 16) return null;
  for (let i = 0; i < 10; i++) if (ip[i] !== 0) return null;
  const mapped = ip[10] === 0xff && ip[11] === 0xff;
  const compatible = ip[10] === 0 && ip[11] === 0;
  if (!mapped && !compatible) return null;
  const v4 = ip.subarray(12);
  if (compatible && v4[0] === 0 && v4[1] === 0 && v4[2] === 0 && (v4[3] ?? 0) <= 1) return null;
  return v4;
}

/**
 * Validates one identifier from a client and returns its canonical form.
 * DNS: lowercased, at most one leading `*.` label (RFC 8555 §7.1.3), LDH labels, no trailing dot,
 * not an IP address in disguise. IP: canonical text (RFC 8738 §3).
 * Throws `malformed`, `rejectedIdentifier` or `unsupportedIdentifier` naming the identifier.
 */
export function normalizeIdentifier(raw: unknown): Identifier {
  if (typeof raw !== 'object' || raw === null)
    throw new AcmeProblem('malformed', 'identifier must be an object');
  const { type, value } = raw as { type?: unknown; value?: unknown };
  if (typeof type !== 'string' || typeof value !== 'string') {
    throw new AcmeProblem('malformed', 'identifier needs string "type" and "value"');
  }
  const given = { type, value } as Identifier;
  if (type === 'ip') {
    const bytes = parseIp(value);
    if (!bytes) throw new AcmeProblem('malformed', `"${value}" is not an IP address`, { identifier: given });
    // An IPv4 address written as IPv6 is refused, not rewritten. RFC 8738 §3: the identifier's value
    // is the address the certificate names, and rewriting it would issue for something other than
    // what was asked. Accepted as IPv6, it would escape every IPv4 rule (ceilings, policies, scopes)
    // while TLS stacks that compare addresses after unmapping (Go's net.IP.Equal, for one) accept
    // the certificate for the IPv4 address.
    const v4 = ipv4InIpv6(bytes);
    if (v4) {
      const form = bytes[10] === 0xff ? 'IPv4-mapped' : 'IPv4-compatible';
      throw new AcmeProblem(
        'rejectedIdentifier',
        `"${value}" is an ${form} IPv6 address: use the IPv4 form "${formatIp(v4)}" as the identifier`,
        { identifier: given },
      );
    }
    return { type: 'ip', value: formatIp(bytes) };
  }
  if (type !== 'dns') {
    throw new AcmeProblem(
      'unsupportedIdentifier',
      `identifier type "${type}" is not supported (use dns or ip)`,
      {
        identifier: given,
      },
    );
  }
  const name = value.toLowerCase();
  if (parseIp(name)) {
    throw new AcmeProblem(
      'rejectedIdentifier',
      `"${value}" is an IP address: use an identifier of type "ip" (RFC 8738)`,
      {
        identifier: given,
      },
    );
  }
  if (name.endsWith('.')) {
    throw new AcmeProblem('rejectedIdentifier', `"${value}" has a trailing dot`, { identifier: given });
  }
  const base = name.startsWith('*.') ? name.slice(2) : name;
  if (base.includes('*')) {
    throw new AcmeProblem(
      'rejectedIdentifier',
      `"${value}": a wildcard may only be the whole leftmost label`,
      {
        identifier: given,
      },
    );
  }
  if (!isValidDnsName(base)) {
    throw new AcmeProblem('rejectedIdentifier', `"${value}" is not a valid DNS name`, { identifier: given });
  }
  if (!base.includes('.') && name.startsWith('*.')) {
    throw new AcmeProblem('rejectedIdentifier', `"${value}": a wildcard needs at least two labels under it`, {
      identifier: given,
    });
  }
  return { type: 'dns', value: name };
}

export function isWildcard(id: Identifier): boolean {
  return id.type === 'dns' && id.value.startsWith('*.');
}

export function identifierKey(id: Identifier): string {
  return `${id.type}:${id.value}`;
}

/** Sorted, de-duplicated canonical identifiers: the form orders and CSR checks compare. */
export function canonicalIdentifiers(ids: Identifier[]): Identifier[] {
  const seen = new Map<string, Identifier>();
  for (const id of ids) seen.set(identifierKey(id), id);
  return [...seen.values()].sort((a, b) => identifierKey(a).localeCompare(identifierKey(b)));
}

export interface Cidr {
  network: Uint8Array;
  prefix: number;
}

/**
 * A range ("10.0.0.0/8", "fd00::/8"; a bare address is a /32 or /128). A range inside
 * ::ffff:0:0/96 designates IPv4 addresses and is read as that IPv4 range, so a rule written in the
 * mapped form ("::ffff:10.1.2.0/120") applies to the IPv4 identifiers it names (10.1.2.0/24).
 */
export function parseCidr(text: string): Cidr | null {
  const [addr, len, ...rest] = text.split('/');
  if (rest.length > 0 || addr === undefined) return null;
  const network = parseIp(addr);
  if (!network) return null;
  const max = network.length * 8;
  const prefix = len === undefined ? max : /^[0-9]{1,3}$/.test(len) ? Number(len) : Number.NaN;
  if (!(prefix >= 0 && prefix <= max)) return null;
  if (prefix >= 96 && isIpv4Mapped(network)) return { network: network.slice(12), prefix: prefix - 96 };
  return { network, prefix };
}

function isIpv4Mapped(ip: Uint8Array): boolean {
  return ip.length === 16 && ip[10] === 0xff && ip[11] === 0xff && ip.subarray(0, 10).every((b) => b === 0);
}

/**
 * True when `ip` lies in `cidr`. An IPv4-mapped address is compared with an IPv4 range as the IPv4
 * address it is (as Go's net.IPNet.Contains does), so no rule on IPv4 ranges is bypassed by
 * writing the address as IPv6; an IPv4 address never lies in an IPv6 range.
 */
export function ipInCidr(ip: Uint8Array, cidr: Cidr): boolean {
  const addr = cidr.network.length === 4 && isIpv4Mapped(ip) ? ip.subarray(12) : ip;
  if (addr.length !== cidr.network.length) return false;
  let bits = cidr.prefix;
  for (let i = 0; i < addr.length && bits > 0; i++) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((addr[i] ?? 0) & mask) !== ((cidr.network[i] ?? 0) & mask)) return false;
    bits -= 8;
  }
  return true;
}

/** True when `name` (possibly `*.`-prefixed) equals `suffix` or lies under it, label-aligned. */
export function dnsNameUnder(name: string, suffix: string): boolean {
  const s = suffix.replace(/^\.+/, '').toLowerCase();
  const n = name.toLowerCase().replace(/^\*\./, '');
  return n === s || n.endsWith(`.${s}`);
}

/** RFC 8738 §6: the reverse-mapping name used by tls-alpn-01 SNI for an IP identifier. */
export function reverseDnsName(ip: Uint8Array): string {
  if (ip.length === 4) return `${Array.from(ip).reverse().join('.')}.in-addr.arpa`;
  const nibbles: string[] = [];
  for (const b of ip) nibbles.push((b >> 4).toString(16), (b & 0xf).toString(16));
  return `${nibbles.reverse().join('.')}.ip6.arpa`;
}
