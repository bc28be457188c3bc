// `edgeca dev doh-bridge`: a small DNS-over-HTTPS responder for development and tests (RFC 8484,
// plain HTTP on 127.0.0.1). It forwards each wire-format query over UDP to a real DNS server (a
// test DNS such as pebble-challtestsrv) and returns its answer as application/dns-message. The
// Workers edge, which has no UDP, resolves through it. GET ?dns=<base64url> and POST are served.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseCommandLine, requireValue, runCommand, UsageError } from './args.ts';

export interface DohServer {
  /** http://127.0.0.1:PORT/dns-query */
  url: string;
  /** queries forwarded so far */
  count(): number;
  close(): Promise<void>;
}

const UPSTREAM_TIMEOUT_MS = 2000;

function forward(query: Uint8Array, host: string, port: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const sock = createSocket('udp4');
    const timer = setTimeout(() => {
      sock.close();
      reject(new Error('upstream DNS did not answer'));
    }, UPSTREAM_TIMEOUT_MS);
    sock.once('error', (err) => {
      clearTimeout(timer);
      sock.close();
      reject(err);
    });
    sock.once('message', (msg) => {
      clearTimeout(timer);
      sock.close();
      resolve(new Uint8Array(msg));
    });
    sock.send(query, port, host);
  });
}

/** Starts the responder; `upstream` is "127.0.0.1:PORT" (e.g. ChallTestSrv.dnsAddress). */
export async function startDohServer(upstream: string, port = 0): Promise<DohServer> {
  const colon = upstream.lastIndexOf(':');
  const upHost = upstream.slice(0, colon);
  const upPort = Number(upstream.slice(colon + 1));
  let served = 0;
  const srv = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://localhost');
    const fail = (status: number, text: string) =>
      res.writeHead(status, { 'content-type': 'text/plain' }).end(text);
    if (u.pathname !== '/dns-query') return fail(404, 'not found');
    const answer = (query: Uint8Array) => {
      if (query.length < 12) return fail(400, 'not a DNS message');
      served++;
      forward(query, upHost, upPort).then(
        (msg) => res.writeHead(200, { 'content-type': 'application/dns-message' }).end(msg),
        (err: Error) => fail(502, err.message),
      );
    };
    if (req.method === 'GET') {
      const dns = u.searchParams.get('dns');
      if (!dns) return fail(400, 'missing dns parameter');
      return answer(new Uint8Array(Buffer.from(dns, 'base64url')));
    }
    if (req.method === 'POST') {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= 65_535) chunks.push(c);
      });
      req.on('end', () => answer(new Uint8Array(Buffer.concat(chunks))));
      return;
    }
    fail(405, 'GET or POST');
  });
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/dns-query`,
    count: () => served,
    close: () =>
      new Promise<void>((resolve) => {
        srv.close(() => resolve());
        srv.closeAllConnections();
      }),
  };
}

const HELP = `usage: edgeca dev doh-bridge --upstream HOST:PORT [--port N]
Serves DNS-over-HTTPS on http://127.0.0.1:N/dns-query, answering from the DNS server at HOST:PORT.
`;

export function main(args: string[]): Promise<number> {
  return runCommand('edgeca dev', HELP, async () => {
    const { values, positionals } = parseCommandLine(
      args,
      {
        upstream: { type: 'string' },
        port: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      { maxPositionals: 1 },
    );
    if (values.help) {
      process.stdout.write(HELP);
      return 0;
    }
    if (positionals[0] !== 'doh-bridge')
      throw new UsageError(positionals[0] ? `unknown command "${positionals[0]}"` : 'name a command');
    const upstream = requireValue(values, 'upstream');
    const port = Number(values.port ?? 0);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new UsageError('--port must be a TCP port');
    const bridge = await startDohServer(upstream, port);
    console.log(JSON.stringify({ event: 'doh-bridge-listening', url: bridge.url, upstream }));
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    await bridge.close();
    return 0;
  });
}
