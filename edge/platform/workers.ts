// The Cloudflare Workers adapter of EdgeRuntime. Workers have no UDP and no raw sockets with a
// chosen address, so:
// - DNS goes over DNS-over-HTTPS (doh.ts, RFC 8484 wire format) to a configurable resolver URL;
// - the http-01 GET is a fetch of the URL *by name*: Workers cannot dial the address validation
//   resolved and checked, so the platform resolves the name again itself (docs/runtimes.md: the
//   address rules are checked on the DoH answer; the dial follows the platform's own resolution);
// - tls-alpn-01 is not offered (no raw TLS with a chosen ALPN, no peer certificate);
// - background work (a challenge's validation) is handed to the request's ctx.waitUntil; an attempt
//   cut short is claimed again by the next read of the authorization (edge/acme/authz/challenge.ts).

import {
  ConnectError,
  type HttpGetRequest,
  type HttpGetResult,
  VALIDATION_USER_AGENT,
} from '../../validation/net.ts';
import { createDohResolver } from './doh.ts';
import { http1Get, type RawConn } from './http1-client.ts';
import type { EdgeRuntime } from './types.ts';
import { connectRaw } from './workers-socket.ts';

export const DEFAULT_DOH_URL = 'https://cloudflare-dns.com/dns-query';

export interface WorkersRuntimeOptions {
  /** RFC 8484 resolver endpoint (default Cloudflare's) */
  dohUrl?: string;
  dnsTimeoutMs?: number;
  /** the current request's ctx.waitUntil (looked up per call: services outlive one request) */
  waitUntil(work: Promise<unknown>): void;
  fetch?: typeof fetch;
  /**
   * Plain-HTTP http-01 hops over cloudflare:sockets to the checked address, with our Host header
   * (default). false: fetch by name instead — the platform resolves the name again, which is only
   * for unit tests that stub fetch.
   */
  sockets?: boolean;
}

/** Maps a fetch failure to ConnectError; workerd's messages are the only signal it gives. */
export function fetchConnectError(err: unknown, tls: boolean): ConnectError {
  const msg = err instanceof Error ? err.message : String(err);
  if (/refused/i.test(msg)) return new ConnectError('REFUSED', 'connection refused');
  if (/reset|connection lost|disconnected/i.test(msg))
    return new ConnectError('RESET', 'connection reset by peer');
  if (/timed? ?out/i.test(msg)) return new ConnectError('TIMEOUT', 'timed out');
  if (tls || /tls|ssl|certificate/i.test(msg)) return new ConnectError('TLS', `TLS error: ${msg}`);
  return new ConnectError('OTHER', msg);
}

async function readCapped(
  res: Response,
  maxBytes: number,
): Promise<{ body: Uint8Array; truncated: boolean }> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  const reader = res.body?.getReader();
  if (reader) {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const room = maxBytes - size;
      if (value.length > room) {
        chunks.push(value.subarray(0, room));
        size += room;
        truncated = true;
        await reader.cancel();
        break;
      }
      chunks.push(value);
      size += value.length;
    }
  }
  const body = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    body.set(c, off);
    off += c.length;
  }
  return { body, truncated };
}

export function createWorkersRuntime(opts: WorkersRuntimeOptions): EdgeRuntime {
  const doFetch = opts.fetch ?? ((input, init) => fetch(input, init));
  async function httpGetBySocket(req: HttpGetRequest): Promise<HttpGetResult> {
    let timedOut = false;
    let conn: RawConn | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      conn?.close();
    }, req.timeoutMs);
    try {
      conn = await connectRaw(req.address, req.port);
      return await http1Get(conn, {
        hostHeader: req.hostHeader,
        path: req.path,
        maxBytes: req.maxBytes,
        userAgent: VALIDATION_USER_AGENT,
      });
    } catch (err) {
      if (timedOut) throw new ConnectError('TIMEOUT', `no complete answer within ${req.timeoutMs} ms`);
      throw fetchConnectError(err, false);
    } finally {
      clearTimeout(timer);
      conn?.close();
    }
  }

  async function httpGet(req: HttpGetRequest): Promise<HttpGetResult> {
    // Plain HTTP goes over a TCP socket to the checked address, with our Host header. An https://
    // redirect hop goes through fetch by name (the platform does TLS; it resolves the name itself).
    if (!req.tls && opts.sockets !== false) return httpGetBySocket(req);
    const url = `https://${req.hostHeader}${req.path}`;
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), req.timeoutMs);
    try {
      const res = await doFetch(url, {
        method: 'GET',
        // Validation decides about every redirect hop itself (RFC 8555 §8.3, validation/http-01.ts).
        redirect: 'manual',
        headers: { 'User-Agent': VALIDATION_USER_AGENT, Accept: '*/*' },
        signal: ctl.signal,
      });
      const headers: Record<string, string> = {};
      res.headers.forEach((v, k) => {
        headers[k.toLowerCase()] = v;
      });
      const { body, truncated } = await readCapped(res, req.maxBytes);
      return { status: res.status, headers, body, truncated };
    } catch (err) {
      if (ctl.signal.aborted)
        throw new ConnectError('TIMEOUT', `no complete answer within ${req.timeoutMs} ms`);
      throw fetchConnectError(err, true);
    } finally {
      clearTimeout(timer);
    }
  }
  return {
    name: 'workers',
    dns: createDohResolver({
      url: opts.dohUrl ?? DEFAULT_DOH_URL,
      ...(opts.dnsTimeoutMs ? { timeoutMs: opts.dnsTimeoutMs } : {}),
      fetch: doFetch,
    }),
    httpGet,
    // tlsAlpn: absent — tls-alpn-01 is not offered on Workers.
    waitUntil: (work) => opts.waitUntil(work),
  };
}
