// The network of validation on Node, for the Node edge (edge/platform/node.ts) and the on-prem
// validator: DNS through node:dns (dns.ts), the http-01 GET through node:http/node:https straight to
// an already-checked address (no proxy, no redirects followed here: validation decides about each
// hop), and the tls-alpn-01 probe through node:tls.
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import tls from 'node:tls';
import {
  ConnectError,
  type HttpGetRequest,
  type HttpGetResult,
  type TlsAlpnProbe,
  VALIDATION_USER_AGENT,
  type ValidationNet,
} from '../net.ts';
import { createNodeDns } from './dns.ts';

export interface NodeNetOptions {
  /** DNS server for validation lookups: "host", "host:port" or "[v6]:port"; undefined = system resolver */
  dnsResolver?: string;
  /** budget of one DNS lookup, retries included (default 3000 ms) */
  dnsTimeoutMs?: number;
}

export function createNodeNet(opts: NodeNetOptions = {}): ValidationNet & { tlsAlpn: TlsAlpnProbe } {
  const dnsOpts: { server?: string; timeoutMs?: number } = {};
  if (opts.dnsResolver !== undefined) dnsOpts.server = opts.dnsResolver;
  if (opts.dnsTimeoutMs !== undefined) dnsOpts.timeoutMs = opts.dnsTimeoutMs;
  return {
    name: 'node',
    dns: createNodeDns(dnsOpts),
    httpGet: nodeHttpGet,
    tlsAlpn: nodeTlsAlpn,
  };
}

/**
 * Classifies a socket/TLS error from Node into ConnectError's codes. Messages are short and name no
 * address: the validator that called knows where it connected and says so in its problem detail.
 */
export function toConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  const e = err as { code?: unknown; message?: unknown; reason?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  const msg = typeof e.message === 'string' ? e.message : String(err);
  if (code === 'ECONNREFUSED') return new ConnectError('REFUSED', 'connection refused');
  if (code === 'ETIMEDOUT') return new ConnectError('TIMEOUT', 'timed out');
  if (code === 'ECONNRESET' || code === 'EPIPE' || msg === 'socket hang up') {
    return new ConnectError('RESET', 'connection reset by peer');
  }
  if (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || code === 'EPROTO') {
    // OpenSSL errors carry a readable `reason` ("wrong version number"); the message is a dump.
    const reason = typeof e.reason === 'string' ? e.reason : code || 'handshake failed';
    return new ConnectError('TLS', `TLS error: ${reason}`);
  }
  return new ConnectError('OTHER', code || msg);
}

/** "a.test:5002" → "a.test"; "[::1]:80" → "::1"; "10.0.0.1" → "10.0.0.1". */
export function hostOfHostHeader(hostHeader: string): string {
  if (hostHeader.startsWith('[')) {
    const end = hostHeader.indexOf(']');
    return end > 0 ? hostHeader.slice(1, end) : hostHeader;
  }
  const colon = hostHeader.lastIndexOf(':');
  // More than one colon without brackets is a bare IPv6 address, not host:port.
  if (colon > 0 && hostHeader.indexOf(':') === colon) return hostHeader.slice(0, colon);
  return hostHeader;
}

function nodeHttpGet(req: HttpGetRequest): Promise<HttpGetResult> {
  return new Promise<HttpGetResult>((resolve, reject) => {
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const host = hostOfHostHeader(req.hostHeader);
    const common: http.RequestOptions = {
      host: req.address,
      port: req.port,
      path: req.path,
      method: 'GET',
      // agent:false: a fresh connection to exactly this address, never a pooled or proxied one.
      agent: false,
      headers: {
        Host: req.hostHeader,
        'User-Agent': VALIDATION_USER_AGENT,
        Accept: '*/*',
        Connection: 'close',
      },
    };
    const request = req.tls
      ? https.request({
          ...common,
          // As Boulder: a redirect to https is followed without checking the certificate (RFC 8555 §8.3
          // asks for the key authorization, not for a trusted server).
          rejectUnauthorized: false,
          ...(isIP(host) === 0 ? { servername: host } : {}),
        })
      : http.request(common);

    const timer = setTimeout(() => {
      finish(() => reject(new ConnectError('TIMEOUT', `no complete answer within ${req.timeoutMs} ms`)));
      request.destroy();
    }, req.timeoutMs);

    request.on('error', (err) => finish(() => reject(toConnectError(err))));
    request.on('response', (res) => {
      const chunks: Uint8Array[] = [];
      let size = 0;
      let truncated = false;
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) {
        if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
      }
      const done = () => {
        const body = new Uint8Array(size);
        let off = 0;
        for (const c of chunks) {
          body.set(c, off);
          off += c.length;
        }
        finish(() => resolve({ status: res.statusCode ?? 0, headers, body, truncated }));
      };
      res.on('data', (chunk: Buffer) => {
        if (settled) return;
        const room = req.maxBytes - size;
        if (chunk.length >= room) {
          const part = new Uint8Array(chunk.subarray(0, room));
          chunks.push(part);
          size += part.length;
          truncated = chunk.length > room;
          done();
          res.destroy();
          return;
        }
        chunks.push(new Uint8Array(chunk));
        size += chunk.length;
      });
      res.on('end', done);
      res.on('error', (err) => finish(() => reject(toConnectError(err))));
    });
    request.end();
  });
}

const nodeTlsAlpn: TlsAlpnProbe = {
  peerCertificate(req) {
    return new Promise((resolve, reject) => {
      let settled = false;
      const socket = tls.connect({
        host: req.address,
        port: req.port,
        // Node refuses IP literals as SNI; RFC 8738 §6 sends the reverse name for IPs anyway.
        ...(isIP(req.servername) === 0 ? { servername: req.servername } : {}),
        ALPNProtocols: ['acme-tls/1'],
        // RFC 8737 §3: the validation certificate is self-signed; it is checked by its content.
        rejectUnauthorized: false,
      });
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        fn();
      };
      const timer = setTimeout(
        () =>
          finish(() =>
            reject(new ConnectError('TIMEOUT', `TLS handshake not done within ${req.timeoutMs} ms`)),
          ),
        req.timeoutMs,
      );
      socket.on('secureConnect', () => {
        const cert = socket.getPeerCertificate(false);
        const raw = (cert as { raw?: Buffer }).raw;
        const alpn = socket.alpnProtocol ?? false;
        finish(() => {
          if (!raw) reject(new ConnectError('TLS', 'the server presented no certificate'));
          else resolve({ certDer: new Uint8Array(raw), alpn });
        });
      });
      socket.on('error', (err) => finish(() => reject(toConnectError(err))));
    });
  },
};
