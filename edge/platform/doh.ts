// DNS over HTTPS (RFC 8484) with fetch only, for runtimes without UDP (Workers) and anywhere an
// operator prefers it. We speak the RFC's wire format (GET ?dns=<base64url query>, Accept:
// application/dns-message) rather than the JSON dialects, because every DoH server implements the
// RFC (Unbound, CoreDNS, BIND, dnsdist, Cloudflare, Google, Quad9) and the JSON APIs differ between
// vendors. Answers are read from the answer section by type; a CNAME chain is followed by the
// recursive server, which returns the final records after it.
import { b64uEncode } from '../../shared/encoding.ts';
import { formatIp } from '../../shared/identifiers.ts';
import { DnsError, type DnsResolver } from '../../validation/net.ts';

export interface DohOptions {
  /** resolver endpoint, e.g. https://cloudflare-dns.com/dns-query */
  url: string;
  /** budget of one lookup (default 3000 ms) */
  timeoutMs?: number;
  /** fetch to use (default: the global one) */
  fetch?: typeof fetch;
}

const TYPE = { A: 1, TXT: 16, AAAA: 28 } as const;
type RecordType = keyof typeof TYPE;

/** A DNS query message: id 0 (RFC 8484 §4.1, cache friendly), recursion desired, one question IN. */
export function encodeQuery(name: string, type: RecordType): Uint8Array {
  const labels = name.replace(/\.$/, '').split('.').filter(Boolean);
  const enc = new TextEncoder();
  const parts: number[] = [0, 0, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
  for (const label of labels) {
    const bytes = enc.encode(label);
    if (bytes.length > 63) throw new DnsError('OTHER', `DNS label too long in ${name}`);
    parts.push(bytes.length, ...bytes);
  }
  parts.push(0, 0, TYPE[type], 0, 1);
  return new Uint8Array(parts);
}

/** Offset just past the (possibly compressed) name starting at `off`. */
function skipName(msg: Uint8Array, off: number): number {
  for (let hops = 0; hops < 128; hops++) {
    const len = msg[off];
    if (len === undefined) throw new DnsError('OTHER', 'truncated DNS answer');
    if ((len & 0xc0) === 0xc0) return off + 2;
    if (len === 0) return off + 1;
    off += 1 + len;
  }
  throw new DnsError('OTHER', 'malformed name in DNS answer');
}

export interface DnsAnswer {
  rcode: number;
  /** rdata of the answer records of the asked type, in order */
  records: Uint8Array[];
}

/** Reads the rcode and the answer records of one type from a DNS response message. */
export function decodeAnswer(msg: Uint8Array, type: RecordType): DnsAnswer {
  if (msg.length < 12) throw new DnsError('OTHER', 'DNS answer shorter than its header');
  const view = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  const rcode = view.getUint16(2) & 0x0f;
  const qd = view.getUint16(4);
  const an = view.getUint16(6);
  let off = 12;
  for (let i = 0; i < qd; i++) off = skipName(msg, off) + 4;
  const records: Uint8Array[] = [];
  for (let i = 0; i < an; i++) {
    off = skipName(msg, off);
    if (off + 10 > msg.length) throw new DnsError('OTHER', 'truncated DNS answer');
    const rtype = view.getUint16(off);
    const rdlen = view.getUint16(off + 8);
    off += 10;
    if (off + rdlen > msg.length) throw new DnsError('OTHER', 'truncated DNS answer');
    if (rtype === TYPE[type]) records.push(msg.subarray(off, off + rdlen));
    off += rdlen;
  }
  return { rcode, records };
}

/** TXT rdata: one or more <length><bytes> strings, joined (RFC 8555 §8.4 compares the whole value). */
function txtOf(rdata: Uint8Array): string {
  const dec = new TextDecoder();
  let out = '';
  for (let off = 0; off < rdata.length; ) {
    const len = rdata[off]!;
    out += dec.decode(rdata.subarray(off + 1, off + 1 + len));
    off += 1 + len;
  }
  return out;
}

const RCODES: Record<number, DnsError['code']> = { 2: 'SERVFAIL', 3: 'NXDOMAIN', 5: 'REFUSED' };

export function createDohResolver(opts: DohOptions): DnsResolver {
  const budget = opts.timeoutMs ?? 3000;
  const doFetch = opts.fetch ?? ((input, init) => fetch(input, init));
  const endpoint = new URL(opts.url);

  async function query(name: string, type: RecordType): Promise<Uint8Array[]> {
    const url = new URL(endpoint);
    url.searchParams.set('dns', b64uEncode(encodeQuery(name, type)));
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), budget);
    let body: Uint8Array;
    try {
      const res = await doFetch(url.href, {
        headers: { accept: 'application/dns-message' },
        signal: ctl.signal,
      });
      body = new Uint8Array(await res.arrayBuffer());
      if (res.status !== 200) {
        throw new DnsError('SERVFAIL', `DNS ${type} lookup of ${name}: resolver answered HTTP ${res.status}`);
      }
    } catch (err) {
      if (err instanceof DnsError) throw err;
      if (ctl.signal.aborted) {
        throw new DnsError('TIMEOUT', `DNS ${type} lookup of ${name} timed out after ${budget} ms`);
      }
      throw new DnsError('OTHER', `DNS ${type} lookup of ${name}: resolver unreachable`);
    } finally {
      clearTimeout(timer);
    }
    const { rcode, records } = decodeAnswer(body, type);
    if (rcode !== 0) {
      const code = RCODES[rcode] ?? 'OTHER';
      throw new DnsError(code, `DNS ${type} lookup of ${name} failed: ${code}`);
    }
    if (records.length === 0) throw new DnsError('NODATA', `no ${type} records at ${name}`);
    return records;
  }

  return {
    resolveTxt: async (name) => (await query(name, 'TXT')).map(txtOf),
    resolve4: async (name) => (await query(name, 'A')).filter((r) => r.length === 4).map(formatIp),
    resolve6: async (name) => (await query(name, 'AAAA')).filter((r) => r.length === 16).map(formatIp),
  };
}
