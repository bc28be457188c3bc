// The CLI's one HTTP request, against a server on 127.0.0.1: the status and body whatever the
// status, the method, headers and body sent, the timeout's own message, and a refused connection.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../harness/ports.ts';
import { httpRequest } from './http-request.ts';

describe('httpRequest', () => {
  let server: Server;
  let base: string;
  before(async () => {
    server = createServer((req, res) => {
      if (req.url === '/slow') return; // never answers; the client's timeout ends it
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString('utf8');
      });
      req.on('end', () => {
        res.statusCode = req.url === '/missing' ? 404 : 200;
        res.end(JSON.stringify({ method: req.method, auth: req.headers.authorization ?? null, body }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  const o = { timeoutMs: 5000, timeoutMessage: 'too slow' };

  it('sends the method, headers and body, and returns the status and the whole body', async () => {
    const r = await httpRequest(new URL(`${base}/x`), {
      ...o,
      method: 'PUT',
      headers: { authorization: 'Bearer t' },
      body: '{"a":1}',
    });
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.text), { method: 'PUT', auth: 'Bearer t', body: '{"a":1}' });
  });
  it('returns an error status as an answer (GET by default)', async () => {
    const r = await httpRequest(new URL(`${base}/missing`), o);
    assert.equal(r.status, 404);
    assert.equal(JSON.parse(r.text).method, 'GET');
  });
  it('rejects with the given message when no answer comes in time', async () => {
    await assert.rejects(
      httpRequest(new URL(`${base}/slow`), { timeoutMs: 100, timeoutMessage: 'too slow' }),
      {
        message: 'too slow',
      },
    );
  });
  it('rejects when nothing listens', async () => {
    const port = await freePort();
    await assert.rejects(httpRequest(new URL(`http://127.0.0.1:${port}/`), o), /ECONNREFUSED/);
  });
});
