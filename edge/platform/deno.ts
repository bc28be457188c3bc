// The Deno adapter of EdgeRuntime: DNS through Deno.resolveDns (a chosen name server, or DoH when the
// resolver is an https:// URL), the http-01 GET over Deno.connect to the already-checked address
// with our own Host header (http1-client.ts), and no tls-alpn-01: Deno's TLS API neither exposes the
// peer certificate nor lets us skip verification, so tls-alpn-01 is not offered on Deno.
// Deno's types are declared here, minimally, instead of loading lib.deno.d.ts into the Node build.

import {
  ConnectError,
  DnsError,
  type DnsResolver,
  type HttpGetRequest,
  VALIDATION_USER_AGENT,
} from '../../validation/net.ts';
import { databaseFilePath, looseModeWarning } from './db-file.ts';
import { createDohResolver } from './doh.ts';
import envNames from './env-names.json' with { type: 'json' };
import { http1Get, type RawConn } from './http1-client.ts';
import type { EdgeRuntime } from './types.ts';

/** The part of the Deno namespace the adapter and edge/main/deno.ts use. */
export interface DenoApi {
  resolveDns(
    query: string,
    type: 'A' | 'AAAA' | 'TXT',
    opts?: { nameServer?: { ipAddr: string; port?: number }; signal?: AbortSignal },
  ): Promise<string[] | string[][]>;
  connect(opts: { hostname: string; port: number; transport?: 'tcp' }): Promise<RawConn>;
  startTls(conn: RawConn, opts: { hostname: string }): Promise<RawConn>;
  env: { toObject(): Record<string, string>; get(name: string): string | undefined };
  readTextFileSync(path: string): string;
  createHttpClient(opts: { caCerts?: string[] }): unknown;
  openSync(path: string, opts: { write?: boolean; createNew?: boolean; mode?: number }): { close(): void };
  statSync(path: string): { mode: number | null };
  serve(
    opts: {
      hostname?: string;
      port?: number;
      cert?: string;
      key?: string;
      signal?: AbortSignal;
      onListen?: (addr: { hostname: string; port: number }) => void;
    },
    handler: (
      req: Request,
      info: { remoteAddr: { hostname: string; port: number } },
    ) => Response | Promise<Response>,
  ): { finished: Promise<void>; shutdown(): Promise<void> };
  addSignalListener(signal: 'SIGINT' | 'SIGTERM', handler: () => void): void;
  exit(code: number): never;
}

/**
 * The settings the edge reads, for Deno's `--allow-env=<these>` (docs/runtimes.md): env-names.json,
 * made from edge/settings.ts by `npm run gen`, which the `deno run` arguments of npm start, the
 * tests and the benchmark (harness/deno-run.ts) read too.
 */
export const EDGE_ENV_NAMES: readonly string[] = envNames;

export function deno(): DenoApi {
  const d = (globalThis as { Deno?: DenoApi }).Deno;
  if (!d) throw new Error('the Deno adapter needs the Deno runtime');
  return d;
}

export interface DenoRuntimeOptions {
  /** "host", "host:port", "[v6]:port" (a DNS server), or an https:// DoH URL; undefined = system */
  dnsResolver?: string;
  dnsTimeoutMs?: number;
}

/** "1.2.3.4:53" → {ipAddr, port}; "[::1]:53" → {ipAddr: "::1", port}; "1.2.3.4" → port 53. */
export function parseNameServer(s: string): { ipAddr: string; port: number } {
  const t = s.trim();
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  if (v6) return { ipAddr: v6[1]!, port: v6[2] ? Number(v6[2]) : 53 };
  const colon = t.lastIndexOf(':');
  if (colon > 0 && t.indexOf(':') === colon)
    return { ipAddr: t.slice(0, colon), port: Number(t.slice(colon + 1)) };
  return { ipAddr: t, port: 53 };
}

function denoDns(opts: DenoRuntimeOptions): DnsResolver {
  const budget = opts.dnsTimeoutMs ?? 3000;
  const nameServer = opts.dnsResolver ? parseNameServer(opts.dnsResolver) : undefined;
  async function query<T>(name: string, type: 'A' | 'AAAA' | 'TXT'): Promise<T[]> {
    const signal = AbortSignal.timeout(budget);
    let out: string[] | string[][];
    try {
      out = await deno().resolveDns(name, type, { ...(nameServer ? { nameServer } : {}), signal });
    } catch (err) {
      const e = err as { name?: string; message?: string };
      if (signal.aborted || e.name === 'TimeoutError' || e.name === 'TimedOut') {
        throw new DnsError('TIMEOUT', `DNS ${type} lookup of ${name} timed out after ${budget} ms`);
      }
      // Deno reports both NXDOMAIN and an empty answer as NotFound; the message names the rcode.
      if (e.name === 'NotFound') {
        const code = /NXDomain/i.test(e.message ?? '') ? 'NXDOMAIN' : 'NODATA';
        throw new DnsError(code, `DNS ${type} lookup of ${name} failed: ${code}`);
      }
      const code = /refused/i.test(e.message ?? '')
        ? 'REFUSED'
        : /servfail/i.test(e.message ?? '')
          ? 'SERVFAIL'
          : 'OTHER';
      throw new DnsError(code, `DNS ${type} lookup of ${name} failed: ${code}`);
    }
    if (out.length === 0) throw new DnsError('NODATA', `no ${type} records at ${name}`);
    return out as T[];
  }
  return {
    resolveTxt: async (name) => (await query<string[]>(name, 'TXT')).map((chunks) => chunks.join('')),
    resolve4: (name) => query<string>(name, 'A'),
    resolve6: (name) => query<string>(name, 'AAAA'),
  };
}

/** Classifies a Deno socket/TLS error (Deno.errors.* names) into ConnectError's codes. */
export function denoConnectError(err: unknown, tls: boolean): ConnectError {
  if (err instanceof ConnectError) return err;
  const e = err as { name?: string; message?: string };
  switch (e.name) {
    case 'ConnectionRefused':
      return new ConnectError('REFUSED', 'connection refused');
    case 'TimedOut':
      return new ConnectError('TIMEOUT', 'timed out');
    case 'ConnectionReset':
    case 'ConnectionAborted':
    case 'BrokenPipe':
    case 'UnexpectedEof':
      return new ConnectError('RESET', 'connection reset by peer');
    case 'HttpProtocolError':
      return new ConnectError('OTHER', e.message ?? 'bad HTTP response');
  }
  if (tls || e.name === 'InvalidData') return new ConnectError('TLS', `TLS error: ${e.message ?? e.name}`);
  return new ConnectError('OTHER', e.name ?? String(err));
}

/** "a.test:5002" → "a.test"; "[::1]:80" → "::1". */
function hostOf(hostHeader: string): string {
  if (hostHeader.startsWith('[')) return hostHeader.slice(1, hostHeader.indexOf(']'));
  const colon = hostHeader.lastIndexOf(':');
  return colon > 0 && hostHeader.indexOf(':') === colon ? hostHeader.slice(0, colon) : hostHeader;
}

async function denoHttpGet(req: HttpGetRequest) {
  let conn: RawConn | undefined;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    conn?.close();
  }, req.timeoutMs);
  try {
    conn = await deno().connect({ hostname: req.address, port: req.port });
    if (timedOut) throw new ConnectError('TIMEOUT', `no complete answer within ${req.timeoutMs} ms`);
    if (req.tls) {
      // Deno verifies the certificate against the name (no opt-out in its API): a redirect to an
      // https:// URL with an untrusted certificate fails here, where Node follows it unchecked.
      conn = await deno().startTls(conn, { hostname: hostOf(req.hostHeader) });
    }
    return await http1Get(conn, {
      hostHeader: req.hostHeader,
      path: req.path,
      maxBytes: req.maxBytes,
      userAgent: VALIDATION_USER_AGENT,
    });
  } catch (err) {
    if (timedOut) throw new ConnectError('TIMEOUT', `no complete answer within ${req.timeoutMs} ms`);
    throw denoConnectError(err, req.tls === true);
  } finally {
    clearTimeout(timer);
    try {
      conn?.close();
    } catch {
      // already closed (by the timer or the peer)
    }
  }
}

/**
 * fetch through a Deno HttpClient given the CA. Deno adds `caCerts` to its default roots (its API
 * has no way to trust ONLY them): the pinned CA is accepted, and so would be a certificate for the
 * signer's name from a CA in Deno's store (docs/runtimes.md). http:// URLs are refused, as on Node.
 */
function denoPinnedFetch(caPem: string): typeof fetch {
  const client = deno().createHttpClient({ caCerts: [caPem] });
  const pinned = (input: string | URL | Request, init: RequestInit = {}) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.protocol !== 'https:')
      return Promise.reject(
        new TypeError(`a pinned-CA fetch is for https:// URLs only, not ${url.protocol}`),
      );
    return fetch(input, { ...init, client } as RequestInit);
  };
  return pinned as typeof fetch;
}

export function createDenoRuntime(opts: DenoRuntimeOptions = {}): EdgeRuntime {
  const doh = opts.dnsResolver !== undefined && /^https?:\/\//i.test(opts.dnsResolver);
  return {
    name: 'deno',
    dns: doh
      ? createDohResolver({
          url: opts.dnsResolver!,
          ...(opts.dnsTimeoutMs ? { timeoutMs: opts.dnsTimeoutMs } : {}),
        })
      : denoDns(opts),
    httpGet: denoHttpGet,
    pinnedFetch: denoPinnedFetch,
    // tlsAlpn: absent — tls-alpn-01 is not offered on Deno (see the module comment).
    waitUntil(work) {
      // The process keeps running; only make sure a failure is not an unhandled rejection.
      work.catch((err: unknown) => {
        console.error('background work failed:', err instanceof Error ? err.message : err);
      });
    },
  };
}

/** Deno's half of edge/platform/db-file.ts: the edge database file created 0600 before libSQL opens it. */
export function prepareDenoDatabaseFile(url: string): string | undefined {
  const path = databaseFilePath(url);
  if (path === undefined) return undefined;
  const D = deno();
  try {
    D.openSync(path, { write: true, createNew: true, mode: 0o600 }).close();
    return undefined;
  } catch (e) {
    if ((e as { name?: string }).name !== 'AlreadyExists') throw e;
  }
  const { mode } = D.statSync(path);
  return mode === null ? undefined : looseModeWarning(path, mode);
}
