// A small TCP load balancer for tests: it listens on 127.0.0.1 and hands each connection to the
// next backend in turn (round robin), passing the bytes through untouched (TLS ends at the
// backend, as behind a layer-4 balancer). A backend that refuses the connection or does not
// accept it within connectTimeoutMs is skipped for that connection, as a balancer's health check
// would; when none accepts, the client's connection is closed. Bounded: at most maxConnections at
// once.
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface RoundRobinProxy {
  readonly port: number;
  /** connections handed to each backend (by index), for showing that every backend served */
  readonly served: number[];
  /** connections no backend accepted */
  readonly refused: number;
  close(): Promise<void>;
}

export async function startRoundRobinProxy(
  backends: number[],
  o: { connectTimeoutMs?: number; maxConnections?: number } = {},
): Promise<RoundRobinProxy> {
  const connectTimeoutMs = o.connectTimeoutMs ?? 1000;
  const served = backends.map(() => 0);
  let refused = 0;
  let next = 0;
  const open = new Set<Socket>();

  /** Connects to backend i, or rejects on refusal or after the connect timeout. */
  const dial = (i: number) =>
    new Promise<Socket>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port: backends[i]! });
      const timer = setTimeout(() => s.destroy(new Error('connect timeout')), connectTimeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        resolve(s);
      });
      s.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });

  const server: Server = createServer({ pauseOnConnect: true }, async (client) => {
    open.add(client);
    client.once('close', () => open.delete(client));
    client.on('error', () => client.destroy());
    const first = next;
    next = (next + 1) % backends.length;
    for (let k = 0; k < backends.length; k++) {
      const i = (first + k) % backends.length;
      let upstream: Socket;
      try {
        upstream = await dial(i);
      } catch {
        continue;
      }
      if (client.destroyed) {
        upstream.destroy();
        return;
      }
      served[i]!++;
      open.add(upstream);
      upstream.once('close', () => {
        open.delete(upstream);
        client.destroy();
      });
      upstream.on('error', () => upstream.destroy());
      client.once('close', () => upstream.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
      return;
    }
    refused++;
    client.destroy();
  });
  server.maxConnections = o.maxConnections ?? 256;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('the proxy has no address');
  return {
    port: address.port,
    served,
    get refused() {
      return refused;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
