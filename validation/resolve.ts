// Name → addresses for http-01 and tls-alpn-01, and the deadline that bounds one validation attempt.

import { formatIp, parseIp } from '../shared/identifiers.ts';
import { AcmeProblem } from '../shared/problems.ts';
import { DnsError, type ValidationNet } from './net.ts';

/** A monotonic-enough budget shared by every step of one attempt. */
export class Deadline {
  private readonly end: number;
  constructor(ms: number) {
    this.end = Date.now() + ms;
  }
  remaining(): number {
    return Math.max(0, this.end - Date.now());
  }
  /** Rejects with `onTimeout()` when the budget runs out before `work` settles. */
  async race<T>(work: Promise<T>, onTimeout: () => Error): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(onTimeout()), this.remaining());
    });
    // The losing promise may still reject later; keep that from becoming an unhandled rejection.
    work.catch(() => {});
    try {
      return await Promise.race([work, expired]);
    } finally {
      clearTimeout(timer);
    }
  }
}

export interface Resolved {
  /** every address found, IPv4 first, canonical text */
  addresses: string[];
  /** the one to dial: the first IPv4 address if any, else the first IPv6 (prefer IPv4) */
  preferred: string;
}

/** An IP literal resolves to itself; a name to its A and AAAA records. DNS failure → `dns` problem. */
export async function resolveHost(net: ValidationNet, host: string, deadline: Deadline): Promise<Resolved> {
  const literal = parseIp(host);
  if (literal) {
    const ip = formatIp(literal);
    return { addresses: [ip], preferred: ip };
  }
  const timeout = () => new DnsError('TIMEOUT', `DNS lookup of ${host} timed out`);
  const [v4, v6] = await Promise.allSettled([
    deadline.race(net.dns.resolve4(host), timeout),
    deadline.race(net.dns.resolve6(host), timeout),
  ]);
  const a = v4.status === 'fulfilled' ? v4.value : [];
  const aaaa = v6.status === 'fulfilled' ? v6.value : [];
  const addresses = [...a, ...aaaa].map((t) => {
    const b = parseIp(t);
    return b ? formatIp(b) : t;
  });
  const preferred = addresses[0];
  if (preferred !== undefined) return { addresses, preferred };
  throw new AcmeProblem('dns', `DNS lookup of ${host} failed: ${dnsFailureCode(v4, v6)}`);
}

function dnsFailureCode(v4: PromiseSettledResult<string[]>, v6: PromiseSettledResult<string[]>): string {
  const code = (r: PromiseSettledResult<string[]>): string => {
    if (r.status === 'fulfilled') return 'NODATA';
    return r.reason instanceof DnsError ? r.reason.code : 'OTHER';
  };
  const c4 = code(v4);
  const c6 = code(v6);
  // NXDOMAIN is the most telling; a NODATA for A next to a real failure for AAAA reports the failure.
  if (c4 === 'NXDOMAIN' || c6 === 'NXDOMAIN') return 'NXDOMAIN';
  if (c4 === 'NODATA' && c6 === 'NODATA') return 'no A or AAAA records';
  return c4 === 'NODATA' ? c6 : c4;
}

/** "host" or "[v6]" plus ":port" unless it is the scheme's default (RFC 9110 §7.2 Host). */
export function hostPort(host: string, port: number, defaultPort: number): string {
  const h = host.includes(':') ? `[${host}]` : host;
  return port === defaultPort ? h : `${h}:${port}`;
}
