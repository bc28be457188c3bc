import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type ChallTestSrv, startChallTestSrv } from '../harness/challtestsrv.ts';
import type { Identifier } from '../shared/problems.ts';
import { DEFAULT_ADDRESS_POLICY } from './address-policy.ts';
import { validateHttp01 } from './http-01.ts';
import type { ValidationNet } from './net.ts';
import { createNodeNet } from './node/net.ts';
import type { ValidationOptions } from './types.ts';
import { keyAuthorization, validateChallenge, validationOptions } from './validate.ts';

const TOKEN = 'tok_abcDEF-123';
const KEY_AUTH = keyAuthorization(TOKEN, 'thumbprint_0123456789');
const SECRET = 'internal-secret-b71f0a';
const dns = (value: string): Identifier => ({ type: 'dns', value });

describe('validateHttp01 against a real HTTP server on 127.0.0.1', () => {
  let dnsSrv: ChallTestSrv;
  let rt: ValidationNet;
  let server: http.Server;
  let port = 0;
  let opts: ValidationOptions;
  const hosts: string[] = [];
  // path → handler; the table of behaviours each test relies on
  const routes: Record<string, (req: http.IncomingMessage, res: http.ServerResponse) => void> = {};

  before(async () => {
    dnsSrv = await startChallTestSrv();
    rt = createNodeNet({ dnsResolver: dnsSrv.dnsAddress });
    server = http.createServer((req, res) => {
      hosts.push(req.headers.host ?? '');
      const route = routes[`${req.headers.host?.split(':')[0]}${req.url}`] ?? routes[req.url ?? ''];
      if (route) route(req, res);
      else res.writeHead(404).end('not found');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
    opts = validationOptions({
      http01Port: port,
      timeoutMs: 3000,
      addressPolicy: { ...DEFAULT_ADDRESS_POLICY, allowLoopback: true },
    });
    const challenge = `/.well-known/acme-challenge/${TOKEN}`;
    routes[`ok.test${challenge}`] = (_q, s) => s.end(`${KEY_AUTH}\r\n`);
    routes[`127.0.0.1${challenge}`] = (_q, s) => s.end(KEY_AUTH);
    routes[`wrong.test${challenge}`] = (_q, s) => s.end('something else\n\u0000');
    routes[`otherkey.test${challenge}`] = (_q, s) => s.end(`${TOKEN}.someone_elses_thumbprint`);
    routes[`tosecret.test${challenge}`] = (_q, s) =>
      s.writeHead(302, { Location: `http://hop.test:${port}/internal/config` }).end();
    routes['hop.test/internal/config'] = (_q, s) => s.end(`${SECRET}\n`);
    routes[`offscope.test${challenge}`] = (_q, s) =>
      s.writeHead(302, { Location: `http://hop.test:${port}/internal/config` }).end();
    routes[`huge.test${challenge}`] = (_q, s) => s.end(KEY_AUTH + 'x'.repeat(20_000));
    routes[`redir.test${challenge}`] = (_q, s) =>
      s.writeHead(302, { Location: `http://hop.test:${port}/one` }).end();
    routes['hop.test/one'] = (_q, s) => s.writeHead(301, { Location: '/two' }).end();
    routes['hop.test/two'] = (_q, s) =>
      s.writeHead(307, { Location: `http://ok.test:${port}${challenge}` }).end();
    routes[`loop.test${challenge}`] = (_q, s) => s.writeHead(302, { Location: `/loop/0` }).end();
    for (let i = 0; i < 20; i++)
      routes[`loop.test/loop/${i}`] = (_q, s) => s.writeHead(302, { Location: `/loop/${i + 1}` }).end();
    routes[`badport.test${challenge}`] = (_q, s) =>
      s.writeHead(302, { Location: 'http://ok.test:8081/x' }).end();
    routes[`tometa.test${challenge}`] = (_q, s) =>
      s.writeHead(302, { Location: `http://169.254.169.254:${port}/latest/meta-data/` }).end();
    routes[`tonat64.test${challenge}`] = (_q, s) =>
      s.writeHead(302, { Location: `http://[64:ff9b::a9fe:a9fe]:${port}/latest/meta-data/` }).end();
    routes[`ftp.test${challenge}`] = (_q, s) => s.writeHead(302, { Location: 'ftp://ok.test/x' }).end();
    routes[`slow.test${challenge}`] = () => {
      // accepts the request and never answers
    };
  });
  after(async () => {
    server.closeAllConnections();
    server.close();
    await dnsSrv?.close();
  });

  const cases: Array<{
    name: string;
    id: Identifier;
    status: 'valid' | 'invalid';
    kind?: string;
    detail?: RegExp;
    hops?: number;
    policy?: 'default';
    /** text that must not appear in the detail (bytes of a response body) */
    absent?: string[];
  }> = [
    {
      name: 'is valid when the body is the key authorization (trailing whitespace ignored)',
      id: dns('ok.test'),
      status: 'valid',
      hops: 1,
    },
    {
      name: 'is valid for an IPv4 identifier, connecting to the IP itself',
      id: { type: 'ip', value: '127.0.0.1' },
      status: 'valid',
      hops: 1,
    },
    {
      name: 'is incorrectResponse when the body differs, with a fixed summary instead of the body',
      id: dns('wrong.test'),
      status: 'invalid',
      kind: 'incorrectResponse',
      detail: /the response body \(16 bytes\) is not the key authorization/,
      absent: ['something', 'else'],
    },
    {
      name: 'is incorrectResponse naming another account key when the body has this token',
      id: dns('otherkey.test'),
      status: 'invalid',
      kind: 'incorrectResponse',
      detail: /key authorization of this token for another account key/,
      absent: ['someone_elses_thumbprint'],
    },
    {
      name: 'echoes no byte of a body reached through a redirect',
      id: dns('tosecret.test'),
      status: 'invalid',
      kind: 'incorrectResponse',
      detail: /is not the key authorization/,
      absent: [SECRET, 'internal'],
    },
    {
      name: 'echoes no byte of the body of an error page',
      id: dns('missing.test'),
      status: 'invalid',
      kind: 'unauthorized',
      absent: ['not found'],
    },
    {
      name: 'is incorrectResponse when the body is longer than the cap',
      id: dns('huge.test'),
      status: 'invalid',
      kind: 'incorrectResponse',
    },
    {
      name: 'is unauthorized on a 404, naming the URL and status',
      id: dns('missing.test'),
      status: 'invalid',
      kind: 'unauthorized',
      detail:
        /Invalid response from http:\/\/missing\.test:\d+\/\.well-known\/acme-challenge\/tok_abcDEF-123: 404/,
    },
    {
      name: 'follows a redirect chain across hosts and is valid',
      id: dns('redir.test'),
      status: 'valid',
      hops: 4,
    },
    {
      name: 'is connection after more than 10 redirects',
      id: dns('loop.test'),
      status: 'invalid',
      kind: 'connection',
      detail: /Too many redirects/,
      hops: 11,
    },
    {
      name: 'is connection on a redirect to a port other than 80, 443 or the http-01 port',
      id: dns('badport.test'),
      status: 'invalid',
      kind: 'connection',
      detail: /Invalid port in redirect target/,
    },
    {
      name: 'is connection on a redirect to the metadata address, never dialled',
      id: dns('tometa.test'),
      status: 'invalid',
      kind: 'connection',
      detail: /169\.254\.169\.254 is a cloud metadata service address/,
      hops: 2,
    },
    {
      name: 'is connection on a redirect to the metadata address in NAT64 form',
      id: dns('tonat64.test'),
      status: 'invalid',
      kind: 'connection',
      detail: /64:ff9b::a9fe:a9fe reaches 169\.254\.169\.254, which is a cloud metadata service address/,
      hops: 2,
    },
    {
      name: 'is connection on a redirect to a non-HTTP scheme',
      id: dns('ftp.test'),
      status: 'invalid',
      kind: 'connection',
      detail: /Invalid protocol scheme/,
    },
    {
      name: 'is connection when loopback is not allowed by the address policy',
      id: dns('ok.test'),
      status: 'invalid',
      kind: 'connection',
      detail: /127\.0\.0\.1 is a loopback address/,
      policy: 'default',
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const o = c.policy === 'default' ? { ...opts, addressPolicy: DEFAULT_ADDRESS_POLICY } : opts;
      const result = await validateHttp01(
        rt,
        { identifier: c.id, token: TOKEN, keyAuthorization: KEY_AUTH },
        o,
      );
      assert.equal(result.status, c.status, result.status === 'invalid' ? result.problem.message : 'valid');
      if (result.status === 'invalid') {
        assert.equal(result.problem.kind, c.kind);
        assert.deepEqual(result.problem.identifier, c.id);
        if (c.detail) assert.match(result.problem.message, c.detail);
        for (const a of c.absent ?? [])
          assert.ok(!result.problem.message.includes(a), result.problem.message);
      }
      if (c.hops !== undefined) assert.equal(result.validationRecord?.length, c.hops);
    });
  }

  it('refuses a redirect target the scope refuses, before resolving or dialling it', async () => {
    const seen: string[] = [];
    const scoped: ValidationOptions = {
      ...opts,
      redirectScope: (target) => {
        seen.push(`${target.type}:${target.value}`);
        return target.value === 'hop.test' ? 'hop.test is outside the scope' : null;
      },
    };
    hosts.length = 0;
    const result = await validateHttp01(
      rt,
      { identifier: dns('offscope.test'), token: TOKEN, keyAuthorization: KEY_AUTH },
      scoped,
    );
    assert.equal(result.status, 'invalid');
    assert.equal(result.status === 'invalid' && result.problem.kind, 'connection');
    assert.match(
      result.status === 'invalid' ? result.problem.message : '',
      /redirect from http:\/\/offscope\.test:\d+\/\.well-known\/acme-challenge\/tok_abcDEF-123 to hop\.test refused: hop\.test is outside the scope/,
    );
    assert.deepEqual(seen, ['dns:hop.test']);
    assert.deepEqual(hosts, [`offscope.test:${port}`], 'only the first hop was fetched');
    assert.equal(result.validationRecord?.length, 1);
  });

  it('hands the scope an IP redirect target as an ip identifier', async () => {
    const seen: string[] = [];
    routes[`toip.test/.well-known/acme-challenge/${TOKEN}`] = (_q, s) =>
      s.writeHead(302, { Location: `http://127.0.0.1:${port}/.well-known/acme-challenge/${TOKEN}` }).end();
    const result = await validateHttp01(
      rt,
      { identifier: dns('toip.test'), token: TOKEN, keyAuthorization: KEY_AUTH },
      {
        ...opts,
        redirectScope: (t) => {
          seen.push(`${t.type}:${t.value}`);
          return null;
        },
      },
    );
    assert.equal(result.status, 'valid');
    assert.deepEqual(seen, ['ip:127.0.0.1']);
  });

  it('records url, hostname, port and addresses like Boulder', async () => {
    const result = await validateHttp01(
      rt,
      { identifier: dns('ok.test'), token: TOKEN, keyAuthorization: KEY_AUTH },
      opts,
    );
    assert.deepEqual(result.validationRecord, [
      {
        url: `http://ok.test:${port}/.well-known/acme-challenge/${TOKEN}`,
        hostname: 'ok.test',
        port: String(port),
        addressesResolved: ['127.0.0.1'],
        addressUsed: '127.0.0.1',
      },
    ]);
  });

  it('sends the IP (and port) as Host for an IP identifier (RFC 8738 §4)', async () => {
    hosts.length = 0;
    await validateHttp01(
      rt,
      {
        identifier: { type: 'ip', value: '127.0.0.1' },
        token: TOKEN,
        keyAuthorization: KEY_AUTH,
      },
      opts,
    );
    assert.deepEqual(hosts, [`127.0.0.1:${port}`]);
  });

  it('is valid for an IPv6 identifier, sending the bracketed IP as Host', async () => {
    const seen: string[] = [];
    const v6 = http.createServer((req, res) => {
      seen.push(req.headers.host ?? '');
      res.end(KEY_AUTH);
    });
    await new Promise<void>((r) => v6.listen(0, '::1', r));
    try {
      const v6Port = (v6.address() as AddressInfo).port;
      const result = await validateHttp01(
        rt,
        {
          identifier: { type: 'ip', value: '::1' },
          token: TOKEN,
          keyAuthorization: KEY_AUTH,
        },
        { ...opts, http01Port: v6Port },
      );
      assert.equal(result.status, 'valid');
      assert.deepEqual(seen, [`[::1]:${v6Port}`]);
      assert.equal(
        result.validationRecord?.[0]?.url,
        `http://[::1]:${v6Port}/.well-known/acme-challenge/${TOKEN}`,
      );
    } finally {
      v6.close();
    }
  });

  it('is connection, naming address and port, when the port is closed', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const result = await validateHttp01(
      rt,
      { identifier: dns('ok.test'), token: TOKEN, keyAuthorization: KEY_AUTH },
      { ...opts, http01Port: closedPort },
    );
    assert.equal(result.status, 'invalid');
    assert.equal(result.status === 'invalid' && result.problem.kind, 'connection');
    assert.match(
      result.status === 'invalid' ? result.problem.message : '',
      new RegExp(`127\\.0\\.0\\.1:${closedPort}: Connection refused`),
    );
  });

  it('is connection (timeout) within the budget when the server never answers', async () => {
    const t0 = Date.now();
    const result = await validateHttp01(
      rt,
      { identifier: dns('slow.test'), token: TOKEN, keyAuthorization: KEY_AUTH },
      { ...opts, timeoutMs: 800 },
    );
    const took = Date.now() - t0;
    assert.equal(result.status, 'invalid');
    assert.equal(result.status === 'invalid' && result.problem.kind, 'connection');
    assert.match(result.status === 'invalid' ? result.problem.message : '', /Timeout/);
    // the 800 ms budget, not the 5 s default, ended it (the margin is for a loaded machine)
    assert.ok(took < 4000, `took ${took} ms`);
  });

  it('is dns within ~5 s when the name cannot be resolved (silent resolver)', async () => {
    const { createSocket } = await import('node:dgram');
    const silent = createSocket('udp4');
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', r));
    try {
      const deaf = createNodeNet({ dnsResolver: `127.0.0.1:${silent.address().port}` });
      const t0 = Date.now();
      const result = await validateChallenge(
        deaf,
        { type: 'http-01', identifier: dns('nowhere.test'), token: TOKEN, keyAuthorization: KEY_AUTH },
        validationOptions({ addressPolicy: opts.addressPolicy }),
      );
      const took = Date.now() - t0;
      assert.equal(result.status, 'invalid');
      assert.equal(result.status === 'invalid' && result.problem.kind, 'dns');
      assert.match(
        result.status === 'invalid' ? result.problem.message : '',
        /DNS lookup of nowhere\.test failed: TIMEOUT/,
      );
      assert.ok(took < 5000, `took ${took} ms`);
    } finally {
      silent.close();
    }
  });
});
