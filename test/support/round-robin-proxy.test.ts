// The test balancer itself: connections go to the backends in turn, a backend that is down is
// skipped, and with none up the client's connection is closed.
import assert from 'node:assert/strict';
import { connect, createServer, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../../harness/ports.ts';
import { type RoundRobinProxy, startRoundRobinProxy } from './round-robin-proxy.ts';

/** A TCP server that answers every connection with its name and closes it. */
async function namedServer(name: string, port: number): Promise<Server> {
  const srv = createServer((s) => s.end(name));
  await new Promise<void>((resolve) => srv.listen(port, '127.0.0.1', () => resolve()));
  return srv;
}

/** Connects through the proxy and returns what the backend said ('' when it was closed). */
function ask(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    let text = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      text += d;
    });
    s.on('close', () => resolve(text));
    s.on('error', reject);
  });
}

describe('round-robin TCP proxy', () => {
  const ports: number[] = [];
  const servers: Server[] = [];
  let proxy: RoundRobinProxy;
  before(async () => {
    ports.push(await freePort(), await freePort());
    servers.push(await namedServer('a', ports[0]!), await namedServer('b', ports[1]!));
    proxy = await startRoundRobinProxy(ports, { connectTimeoutMs: 500 });
  });
  after(async () => {
    await proxy?.close();
    for (const s of servers) await new Promise((r) => s.close(r));
  });

  test('hands connections to the backends in turn', async () => {
    const got = [];
    for (let i = 0; i < 4; i++) got.push(await ask(proxy.port));
    assert.deepEqual(got, ['a', 'b', 'a', 'b']);
    assert.deepEqual(proxy.served, [2, 2]);
  });

  test('skips a backend that is down', async () => {
    await new Promise((r) => servers[0]!.close(r));
    const got = [];
    for (let i = 0; i < 3; i++) got.push(await ask(proxy.port));
    assert.deepEqual(got, ['b', 'b', 'b']);
  });

  test('closes the connection when no backend accepts it', async () => {
    await new Promise((r) => servers[1]!.close(r));
    assert.equal(await ask(proxy.port), '');
    assert.equal(proxy.refused, 1);
  });
});
