// The Deno adapter's HTTP/1.1 GET, driven from Node over node:net (the code uses no Deno API):
// bodies by Content-Length, chunked and close-delimited, the cap, and malformed answers.
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { HttpProtocolError, http1Get, type RawConn } from './http1-client.ts';

/** node:net socket → the read/write/close connection http1Get expects. */
function rawConn(sock: Socket): RawConn {
  const queue: Buffer[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  sock.on('data', (d: Buffer) => {
    queue.push(d);
    wake?.();
  });
  sock.on('end', () => {
    ended = true;
    wake?.();
  });
  return {
    async read(p) {
      while (queue.length === 0 && !ended) await new Promise<void>((r) => (wake = r));
      const d = queue.shift();
      if (!d) return null;
      const n = Math.min(d.length, p.length);
      p.set(d.subarray(0, n));
      if (n < d.length) queue.unshift(d.subarray(n));
      return n;
    },
    write: (p) => new Promise((resolve) => sock.write(p, () => resolve(p.length))),
    close: () => sock.destroy(),
  };
}

const ANSWERS: Record<string, string> = {
  '/length': 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\n\r\nhello',
  '/chunked': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\n\r\n',
  '/close': 'HTTP/1.0 404 Not Found\r\n\r\nnot here',
  '/big': `HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n${'x'.repeat(100)}`,
  '/bigchunk': `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n64\r\n${'y'.repeat(100)}\r\n0\r\n\r\n`,
  '/redirect': 'HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n',
  '/garbage': 'SSH-2.0-OpenSSH\r\n\r\n',
  '/short': 'HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nonly this',
};

describe('http1Get (Deno adapter, HTTP/1.1 over a raw connection)', () => {
  let server: Server;
  let port = 0;
  const hosts: string[] = [];
  before(async () => {
    server = createServer((s) => {
      let buf = '';
      s.on('data', (d: Buffer) => {
        buf += d.toString();
        if (!buf.includes('\r\n\r\n')) return;
        const path = /^GET (\S+)/.exec(buf)?.[1] ?? '';
        hosts.push(/\r\nHost: ([^\r]+)/.exec(buf)?.[1] ?? '');
        s.end(ANSWERS[path] ?? 'HTTP/1.1 500 x\r\nContent-Length: 0\r\n\r\n');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  after(() => server.close());

  const get = async (path: string, maxBytes = 1000) => {
    const sock = connect(port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    const conn = rawConn(sock);
    try {
      return await http1Get(conn, { hostHeader: 'a.test:5002', path, maxBytes, userAgent: 't' });
    } finally {
      conn.close();
    }
  };
  const text = (b: Uint8Array) => new TextDecoder().decode(b);

  test('reads a Content-Length body, headers lower-cased, and sends our Host header', async () => {
    const r = await get('/length');
    assert.equal(r.status, 200);
    assert.equal(text(r.body), 'hello');
    assert.equal(r.headers['x-a'], '1');
    assert.equal(hosts.at(-1), 'a.test:5002');
  });
  test('decodes a chunked body (chunk extensions ignored)', async () => {
    assert.equal(text((await get('/chunked')).body), 'abcdefg');
  });
  test('reads a close-delimited body of an HTTP/1.0 answer', async () => {
    const r = await get('/close');
    assert.equal(r.status, 404);
    assert.equal(text(r.body), 'not here');
  });
  test('caps a long body and flags it truncated (Content-Length and chunked)', async () => {
    for (const path of ['/big', '/bigchunk']) {
      const r = await get(path, 10);
      assert.equal(r.body.length, 10, path);
      assert.equal(r.truncated, true, path);
    }
  });
  test('returns a redirect with its Location for validation to judge', async () => {
    const r = await get('/redirect');
    assert.equal(r.status, 302);
    assert.equal(r.headers.location, '/elsewhere');
  });
  test('rejects a non-HTTP answer and a body cut short', async () => {
    await assert.rejects(get('/garbage'), HttpProtocolError);
    await assert.rejects(get('/short'), HttpProtocolError);
  });
});
