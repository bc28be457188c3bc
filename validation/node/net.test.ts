import 'reflect-metadata';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import * as x509 from '@peculiar/x509';
import { derToPem } from '../../shared/encoding.ts';
import { ConnectError, DnsError } from '../net.ts';
import { classifyDnsError } from './dns.ts';
import { createNodeNet, hostOfHostHeader } from './net.ts';

describe('node network: httpGet', () => {
  let server: http.Server;
  let port = 0;
  const seen: Array<{ host?: string; url?: string }> = [];
  before(async () => {
    server = http.createServer((req, res) => {
      seen.push({ host: req.headers.host, url: req.url });
      if (req.url === '/big') {
        res.end('x'.repeat(100_000));
      } else if (req.url === '/redirect') {
        res.writeHead(302, { Location: '/elsewhere' }).end();
      } else if (req.url === '/slow') {
        // never answers
      } else {
        res.end('hello');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  const rt = createNodeNet();
  const get = (path: string, extra: { timeoutMs?: number; maxBytes?: number; port?: number } = {}) =>
    rt.httpGet({
      address: '127.0.0.1',
      port: extra.port ?? port,
      hostHeader: `a.test:${port}`,
      path,
      timeoutMs: extra.timeoutMs ?? 2000,
      maxBytes: extra.maxBytes ?? 1024,
    });

  it('returns status, body and the Host header it was given', async () => {
    const res = await get('/ok');
    assert.equal(res.status, 200);
    assert.equal(new TextDecoder().decode(res.body), 'hello');
    assert.equal(res.truncated, false);
    assert.equal(seen.at(-1)?.host, `a.test:${port}`);
  });
  it('caps the body at maxBytes and flags it', async () => {
    const res = await get('/big', { maxBytes: 64 });
    assert.equal(res.body.length, 64);
    assert.equal(res.truncated, true);
  });
  it('does not follow redirects itself', async () => {
    const res = await get('/redirect');
    assert.equal(res.status, 302);
    assert.equal(res.headers['location'], '/elsewhere');
  });
  it('times out a server that never answers within the budget', async () => {
    const t0 = Date.now();
    await assert.rejects(
      get('/slow', { timeoutMs: 300 }),
      (e: unknown) => e instanceof ConnectError && e.code === 'TIMEOUT',
    );
    // the budget, not the speed: without it the request would wait for ever
    assert.ok(Date.now() - t0 < 10_000);
  });
  it('reports a closed port as REFUSED', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    await assert.rejects(
      get('/', { port: closedPort }),
      (e: unknown) => e instanceof ConnectError && e.code === 'REFUSED',
    );
  });
});

describe('node network: httpGet over TLS (a redirect to https)', () => {
  it('connects without verifying the certificate and sends SNI from the Host header', async () => {
    const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
    // Test-only key: extractable so node:https can load it.
    const keys = await crypto.subtle.generateKey(alg, true, ['sign', 'verify']);
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '02',
      name: 'CN=self-signed',
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 3_600_000),
      keys,
      signingAlgorithm: alg,
    });
    const key = derToPem(
      new Uint8Array(await crypto.subtle.exportKey('pkcs8', keys.privateKey)),
      'PRIVATE KEY',
    );
    const seen: string[] = [];
    const server = https.createServer({ cert: cert.toString('pem'), key }, (req, res) => {
      seen.push(`${(req.socket as import('node:tls').TLSSocket).servername}|${req.headers.host}`);
      res.end('over tls');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      const res = await createNodeNet().httpGet({
        address: '127.0.0.1',
        port,
        hostHeader: `b.test:${port}`,
        path: '/',
        timeoutMs: 2000,
        maxBytes: 1024,
        tls: true,
      });
      assert.equal(new TextDecoder().decode(res.body), 'over tls');
      assert.deepEqual(seen, [`b.test|b.test:${port}`]);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('node network: dns', () => {
  it('fails an unanswered lookup within its budget as TIMEOUT', async () => {
    const silent = createSocket('udp4');
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', r));
    try {
      const rt = createNodeNet({ dnsResolver: `127.0.0.1:${silent.address().port}`, dnsTimeoutMs: 600 });
      const t0 = Date.now();
      await assert.rejects(
        rt.dns.resolve4('a.test'),
        (e: unknown) => e instanceof DnsError && e.code === 'TIMEOUT',
      );
      // the 600 ms budget, not the 3 s default, ended it (the margin is for a loaded machine)
      assert.ok(Date.now() - t0 < 2500, `took ${Date.now() - t0} ms`);
    } finally {
      silent.close();
    }
  });
  it('answers through the system resolver within its budget when none is configured', async () => {
    const rt = createNodeNet({ dnsTimeoutMs: 1000 });
    const t0 = Date.now();
    await assert.rejects(rt.dns.resolve4('no-such-name.invalid'), (e: unknown) => e instanceof DnsError);
    assert.ok(Date.now() - t0 < 10_000);
  });
  it('accepts the bracketed IPv6 "[::1]:53" server form', () => {
    assert.doesNotThrow(() => createNodeNet({ dnsResolver: '[::1]:53' }));
  });
  const codes: Array<[string, DnsError['code']]> = [
    ['ENOTFOUND', 'NXDOMAIN'],
    ['ENODATA', 'NODATA'],
    ['ESERVFAIL', 'SERVFAIL'],
    ['ETIMEOUT', 'TIMEOUT'],
    ['ECONNREFUSED', 'REFUSED'],
    ['EREFUSED', 'REFUSED'],
    ['EBADRESP', 'OTHER'],
  ];
  for (const [node, ours] of codes) {
    it(`classifies ${node} as ${ours}`, () => assert.equal(classifyDnsError(node), ours));
  }
});

describe('hostOfHostHeader', () => {
  const cases: Array<[string, string]> = [
    ['a.test', 'a.test'],
    ['a.test:5002', 'a.test'],
    ['[::1]:80', '::1'],
    ['[::1]', '::1'],
    ['10.0.0.1:80', '10.0.0.1'],
    ['2001:db8::1', '2001:db8::1'],
  ];
  for (const [header, host] of cases)
    it(`takes ${host} out of ${header}`, () => assert.equal(hostOfHostHeader(header), host));
});
