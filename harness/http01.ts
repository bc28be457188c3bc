// A tiny http-01 responder on 127.0.0.1 for the tests and the benchmark, which answer challenges themselves.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Http01Server {
  port: number;
  set(token: string, keyAuthorization: string): void;
  remove(token: string): void;
  close(): Promise<void>;
}

export async function startHttp01Server(port = 0): Promise<Http01Server> {
  const tokens = new Map<string, string>();
  const srv = createServer((req, res) => {
    const m = /^\/\.well-known\/acme-challenge\/([A-Za-z0-9_-]+)$/.exec(req.url ?? '');
    const ka = m ? tokens.get(m[1]!) : undefined;
    if (!ka) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end(ka);
  });
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    port: (srv.address() as AddressInfo).port,
    set: (t, ka) => void tokens.set(t, ka),
    remove: (t) => void tokens.delete(t),
    close: () =>
      new Promise<void>((resolve) => {
        srv.close(() => resolve());
        srv.closeAllConnections();
      }),
  };
}
