// The client address that rate limits and the admin login throttle key their buckets on. One rule
// on every runtime: the address of the connection, as the runtime's server reports it (Node: the
// socket; Deno: Deno.serve's remoteAddr; Workers: CF-Connecting-IP, which Cloudflare sets itself —
// the Worker sees no connection of its own), unless EDGECA_TRUSTED_PROXY_HEADER names the header
// a proxy in front of the edge sets. Only then is a forwarding header read, and only its last
// entry: the one that proxy wrote (a client may send the header too, and the proxy appends to it).
// A client can thus never choose its own bucket by sending a header.

/** What each runtime's entry point hands the app as Hono's env: the connection's peer address. */
export interface ConnectionInfo {
  remoteAddress?: string | undefined;
}

const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9a-f:]+(?:\.[0-9.]+)?$/i;

/** An IP literal as a bucket key: brackets, a port and the IPv4-mapped prefix removed; v6 lower-case. */
export function normalizeAddress(raw: string): string | undefined {
  let a = raw.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(a);
  if (bracketed) a = bracketed[1]!;
  else {
    const v4port = /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(a);
    if (v4port) a = v4port[1]!;
  }
  a = a.replace(/%.*$/, '').toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (mapped) a = mapped[1]!;
  if (IPV4.test(a)) return a;
  if (a.includes(':') && a.length <= 45 && IPV6.test(a)) return a;
  return undefined;
}

/**
 * The client's address: the last entry of the trusted proxy header when one is configured and the
 * request carries it, else the connection's address; "unknown" when the runtime reported none
 * (in-process requests in tests).
 */
export function clientAddressOf(
  conn: ConnectionInfo | undefined,
  headers: Headers,
  trustedProxyHeader: string | undefined,
): string {
  if (trustedProxyHeader) {
    const last = headers.get(trustedProxyHeader)?.split(',').at(-1);
    const fromProxy = last === undefined ? undefined : normalizeAddress(last);
    if (fromProxy) return fromProxy;
  }
  const peer = conn?.remoteAddress ? normalizeAddress(conn.remoteAddress) : undefined;
  return peer ?? 'unknown';
}
