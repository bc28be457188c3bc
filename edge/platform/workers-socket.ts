// A RawConn over a Workers TCP socket (`connect()` from cloudflare:sockets), so the http-01 GET can
// dial the address validation resolved and checked, with the Host header validation chose — fetch
// would resolve the name again (and workerd routes by the Host header).
import type { RawConn } from './http1-client.ts';

interface WorkersSocket {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
  opened: Promise<unknown>;
  close(): Promise<void>;
}
type Connect = (address: { hostname: string; port: number }) => WorkersSocket;

let connectFn: Connect | undefined;

async function loadConnect(): Promise<Connect> {
  // A module specifier in a variable keeps type checkers and Node from resolving it; wrangler's
  // bundler leaves `cloudflare:` imports to the runtime.
  const specifier = 'cloudflare:sockets';
  connectFn ??= ((await import(specifier)) as { connect: Connect }).connect;
  return connectFn;
}

export async function connectRaw(hostname: string, port: number): Promise<RawConn> {
  const socket = (await loadConnect())({ hostname, port });
  await socket.opened;
  const reader = socket.readable.getReader();
  const writer = socket.writable.getWriter();
  let pending: Uint8Array | undefined;
  return {
    async read(p) {
      if (!pending || pending.length === 0) {
        const { done, value } = await reader.read();
        if (done || !value) return null;
        pending = value;
      }
      const n = Math.min(p.length, pending.length);
      p.set(pending.subarray(0, n));
      pending = pending.subarray(n);
      return n;
    },
    async write(p) {
      await writer.write(p);
      return p.length;
    },
    close() {
      socket.close().catch(() => {});
    },
  };
}
