// DNS for validation on Node: node:dns/promises with a chosen server (pebble-challtestsrv in tests, the
// site's resolver in production) or the system's, always with a bounded time so an unresolvable name
// fails validation within seconds instead of hanging the job.
import { Resolver } from 'node:dns/promises';
import { DnsError, type DnsResolver } from '../net.ts';

export interface NodeDnsOptions {
  /** "host", "host:port", "[v6]" or "[v6]:port"; undefined = the system's configured servers */
  server?: string;
  /** whole budget of one lookup, retries included */
  timeoutMs?: number;
}

const DEFAULT_DNS_TIMEOUT_MS = 3000;

/** Maps a node:dns error code to our classification (c-ares codes, see node:dns "Error codes"). */
export function classifyDnsError(code: unknown): DnsError['code'] {
  switch (code) {
    case 'ENOTFOUND':
      return 'NXDOMAIN';
    case 'ENODATA':
      return 'NODATA';
    case 'ESERVFAIL':
      return 'SERVFAIL';
    case 'ETIMEOUT':
    case 'ECANCELLED':
      return 'TIMEOUT';
    case 'ECONNREFUSED':
    case 'EREFUSED':
      return 'REFUSED';
    default:
      return 'OTHER';
  }
}

export function createNodeDns(opts: NodeDnsOptions = {}): DnsResolver {
  const budget = opts.timeoutMs ?? DEFAULT_DNS_TIMEOUT_MS;
  // c-ares waits `timeout` for the first try and longer for later ones; two tries at a third of the
  // budget each stay within it, and the race below is the hard stop.
  const resolver = new Resolver({ timeout: Math.max(200, Math.floor(budget / 3)), tries: 2 });
  // setServers understands "1.2.3.4", "1.2.3.4:53", "::1" and "[::1]:53"; it throws on anything else.
  if (opts.server !== undefined) resolver.setServers([opts.server.trim()]);

  async function bounded<T>(kind: string, name: string, query: () => Promise<T>): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new DnsError('TIMEOUT', `DNS ${kind} lookup of ${name} timed out after ${budget} ms`)),
        budget,
      );
    });
    try {
      return await Promise.race([query(), deadline]);
    } catch (err) {
      if (err instanceof DnsError) throw err;
      const code = classifyDnsError((err as { code?: unknown }).code);
      throw new DnsError(code, `DNS ${kind} lookup of ${name} failed: ${code}`);
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    async resolveTxt(name) {
      const records = await bounded('TXT', name, () => resolver.resolveTxt(name));
      if (records.length === 0) throw new DnsError('NODATA', `no TXT records at ${name}`);
      return records.map((chunks) => chunks.join(''));
    },
    async resolve4(name) {
      const addrs = await bounded('A', name, () => resolver.resolve4(name));
      if (addrs.length === 0) throw new DnsError('NODATA', `no A records at ${name}`);
      return addrs;
    },
    async resolve6(name) {
      const addrs = await bounded('AAAA', name, () => resolver.resolve6(name));
      if (addrs.length === 0) throw new DnsError('NODATA', `no AAAA records at ${name}`);
      return addrs;
    },
  };
}
