// The validator over its HTTP app (in-process), against a real mock DNS (pebble-challtestsrv), a
// real http-01 responder on 127.0.0.1 and a real libSQL jti file: what it answers, what it signs,
// what it refuses.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair } from 'jose';
import { type ChallTestSrv, startChallTestSrv } from '../harness/challtestsrv.ts';
import { type Http01Server, startHttp01Server } from '../harness/http01.ts';
import { parseCidr } from '../shared/identifiers.ts';
import type { Identifier } from '../shared/problems.ts';
import {
  importRelayPrivateKey,
  importRelayPublicKey,
  RELAY_CONTENT_TYPE,
  type RelayKey,
  signRelay,
  type ValidateAnswer,
  type ValidateRequest,
  verifyRelay,
} from '../shared/relay.ts';
import { dns01TxtValue } from '../validation/dns-01.ts';
import { dnsAccount01Name } from '../validation/dns-account-01.ts';
import { hashedAccountUri, persistRecordName } from '../validation/dns-persist-01.ts';
import { createNodeNet } from '../validation/node/net.ts';
import { validatorApp } from './app.ts';
import type { ValidatorConfig } from './config.ts';
import { scopeProblem, ValidatorService } from './service.ts';
import { JtiStore } from './store.ts';

const TOKEN = 'tok_0123456789abcdefghijkl';
const THUMB = 'thumb_0123456789abcdefghijklmnopqrstuvwxyz0';
const KA = `${TOKEN}.${THUMB}`;

async function es256(
  kid: string,
): Promise<{ priv: RelayKey; pub: RelayKey; pubJwk: Record<string, unknown> }> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid };
  const { d: _d, ...pubJwk } = jwk;
  return { priv: await importRelayPrivateKey(jwk), pub: await importRelayPublicKey(jwk), pubJwk };
}

let dir: string;
let dns: ChallTestSrv;
let http01: Http01Server;
let edgeKey: Awaited<ReturnType<typeof es256>>;
let otherKey: Awaited<ReturnType<typeof es256>>;
let answerKey: Awaited<ReturnType<typeof es256>>;
const stores: JtiStore[] = [];

async function makeApp(over: Partial<ValidatorConfig> = {}) {
  const config: ValidatorConfig = {
    listen: { host: '127.0.0.1', port: 0 },
    edgeKeys: [],
    validatorKeyFile: 'unused',
    ceiling: {
      dnsSuffixes: ['corp.internal', 'test'],
      ipRanges: ['10.0.0.0/8', '169.254.0.0/16'],
      allowWildcards: false,
    },
    database: `file:${join(dir, 'jti.db')}`,
    dnsResolver: dns.dnsAddress,
    timeoutMs: 3000,
    testOnly: { http01Port: http01.port, allowLoopback: true },
    ...over,
  };
  const store = await JtiStore.open(config.database);
  stores.push(store);
  const service = new ValidatorService({
    config,
    net: createNodeNet({ dnsResolver: dns.dnsAddress }),
    store,
    edgeKeys: new Map([[edgeKey.pub.kid, edgeKey.pub]]),
    answerKey: answerKey.priv,
  });
  return validatorApp({ service, answerKid: answerKey.priv.kid, log: () => {} });
}

type Req = Omit<ValidateRequest, 'op' | 'jti' | 'iat' | 'exp'>;
const req = (identifier: Identifier, challengeType: Req['challengeType'] = 'http-01'): Req => ({
  challengeType,
  identifier,
  token: TOKEN,
  keyAuthorization: KA,
});

async function post(app: Awaited<ReturnType<typeof makeApp>>, body: string, type = RELAY_CONTENT_TYPE) {
  return app.request('/v1/validate', { method: 'POST', headers: { 'content-type': type }, body });
}

/** Posts a fresh request; the verified answer, checked to carry the request's jti. */
async function validate(app: Awaited<ReturnType<typeof makeApp>>, r: Req): Promise<ValidateAnswer> {
  const jti = `jti-${crypto.randomUUID()}`;
  const res = await post(app, await signRelay<ValidateRequest>({ op: 'validate', ...r, jti }, edgeKey.priv));
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(res.headers.get('content-type'), RELAY_CONTENT_TYPE);
  const { payload } = await verifyRelay<ValidateAnswer>(await res.text(), {
    op: 'validate-answer',
    keys: new Map([[answerKey.pub.kid, answerKey.pub]]),
  });
  assert.equal(payload.jti, jti);
  return payload;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edgeca-validator-'));
  dns = await startChallTestSrv();
  http01 = await startHttp01Server();
  http01.set(TOKEN, KA);
  edgeKey = await es256('edge-1');
  otherKey = await es256('edge-1');
  answerKey = await es256('validator-1');
});
after(async () => {
  for (const s of stores) s.close();
  await http01?.close();
  await dns?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the validator answers with a JWS by its key carrying the request jti', () => {
  test('valid: http-01 served with the key authorization', async () => {
    const a = await validate(await makeApp(), req({ type: 'dns', value: 'db7.corp.internal' }));
    assert.equal(a.status, 'valid');
  });
  test('valid: dns-01 TXT found on the internal resolver', async () => {
    await dns.setTxt('_acme-challenge.txt.corp.internal', await dns01TxtValue(KA));
    const a = await validate(await makeApp(), req({ type: 'dns', value: 'txt.corp.internal' }, 'dns-01'));
    assert.equal(a.status, 'valid', JSON.stringify(a));
  });
  test('valid: dns-account-01 TXT at the label of the account URL the edge sent', async () => {
    const accountUrl = 'https://acme.test/acme/acct/a1';
    await dns.setTxt(await dnsAccount01Name(accountUrl, 'label.corp.internal'), await dns01TxtValue(KA));
    const r = { ...req({ type: 'dns', value: 'label.corp.internal' }, 'dns-account-01'), accountUrl };
    assert.equal((await validate(await makeApp(), r)).status, 'valid');
    const other = { ...r, accountUrl: 'https://acme.test/acme/acct/a2' };
    const a = await validate(await makeApp(), other);
    assert.equal(a.error?.type, 'urn:ietf:params:acme:error:dns');
    assert.match(a.error?.detail ?? '', /acct\/a2/);
  });
  test('valid: dns-persist-01 with the issuer names the edge sent; unauthorized for a wildcard without policy', async () => {
    const accountUrl = 'https://acme.test/acme/acct/p1';
    const prefix = 'https://acme.test/acme/account-hash/';
    const uri = await hashedAccountUri(prefix, 'persist.corp.internal', THUMB, accountUrl);
    await dns.setTxt(persistRecordName('persist.corp.internal'), `ca.corp.internal; accounturi=${uri}`);
    const r = {
      ...req({ type: 'dns', value: 'persist.corp.internal' }, 'dns-persist-01'),
      accountUrl,
      persist: { issuerDomainNames: ['ca.corp.internal'], accountHashPrefix: prefix },
    };
    assert.equal((await validate(await makeApp(), r)).status, 'valid');
    const wild = await validate(
      await makeApp({ ceiling: { dnsSuffixes: ['corp.internal'], ipRanges: [], allowWildcards: true } }),
      {
        ...r,
        wildcard: true,
      },
    );
    assert.equal(wild.error?.type, 'urn:ietf:params:acme:error:unauthorized');
    assert.match(wild.error?.detail ?? '', /policy=wildcard/);
  });
  test('rejectedIdentifier: a wildcard authorization where the ceiling allows no wildcards', async () => {
    const a = await validate(await makeApp(), {
      ...req({ type: 'dns', value: 'w.corp.internal' }, 'dns-01'),
      wildcard: true,
    });
    assert.equal(a.error?.type, 'urn:ietf:params:acme:error:rejectedIdentifier');
    assert.match(a.error?.detail ?? '', /wildcards are outside/);
  });
  const invalidCases: {
    name: string;
    r: () => Req;
    app?: Partial<ValidatorConfig>;
    type: string;
    detail: RegExp;
  }[] = [
    {
      name: 'incorrectResponse (or unauthorized): the responder serves another key authorization',
      r: () => ({
        ...req({ type: 'dns', value: 'db7.corp.internal' }),
        keyAuthorization: `${TOKEN}.${'x'.repeat(43)}`,
      }),
      type: 'unauthorized|incorrectResponse',
      detail: /key authorization|keyAuthorization|does not match|incorrect/i,
    },
    {
      name: 'rejectedIdentifier: a name outside the ceiling is never dialled',
      r: () => req({ type: 'dns', value: 'www.example.com' }),
      type: 'rejectedIdentifier',
      detail: /outside the CA's allowed DNS suffixes/,
    },
    {
      name: 'rejectedIdentifier: an IP outside the ceiling',
      r: () => req({ type: 'ip', value: '192.0.2.1' }),
      type: 'rejectedIdentifier',
      detail: /outside the CA's allowed IP ranges/,
    },
    {
      name: 'connection: loopback is refused unless the test-only switch allows it',
      r: () => req({ type: 'dns', value: 'db7.corp.internal' }),
      app: { testOnly: { http01Port: 0 } },
      type: 'connection',
      detail: /loopback/,
    },
    {
      name: 'connection: the cloud metadata address is refused even inside the ceiling',
      r: () => req({ type: 'ip', value: '169.254.169.254' }),
      type: 'connection',
      detail: /metadata/,
    },
    {
      name: 'connection: link-local addresses are refused',
      r: () => req({ type: 'ip', value: '169.254.1.1' }),
      type: 'connection',
      detail: /link-local/,
    },
    {
      name: 'dns: a name the internal resolver does not know',
      r: () => req({ type: 'dns', value: 'db7.corp.internal' }, 'dns-01'),
      type: 'dns|unauthorized',
      detail: /TXT|DNS/,
    },
  ];
  for (const c of invalidCases) {
    test(`invalid, ${c.name}`, async () => {
      const a = await validate(await makeApp(c.app), c.r());
      assert.equal(a.status, 'invalid');
      assert.match(a.error?.type ?? '', new RegExp(`^urn:ietf:params:acme:error:(${c.type})$`));
      assert.match(a.error?.detail ?? '', c.detail);
    });
  }
});

describe('the validator refuses requests it must not act on (problem document, nothing dialled)', () => {
  const now = Math.floor(Date.now() / 1000);
  const cases: { name: string; body: () => Promise<string>; status: number; type: string; ctype?: string }[] =
    [
      {
        name: 'a JWS by an unpinned key with the pinned kid',
        body: () =>
          signRelay<ValidateRequest>(
            { op: 'validate', ...req({ type: 'dns', value: 'a.test' }) },
            otherKey.priv,
          ),
        status: 403,
        type: 'unauthorized',
      },
      {
        name: 'a sign request replayed at /v1/validate',
        body: () =>
          signRelay(
            {
              op: 'sign',
              orderId: 'o',
              accountId: 'a',
              profile: 'default',
              csr: 'AA',
              identifiers: [],
              notBefore: '',
              notAfter: '',
            },
            edgeKey.priv,
          ),
        status: 403,
        type: 'unauthorized',
      },
      {
        name: 'an expired request',
        body: async () => {
          const { CompactSign } = await import('jose');
          const claims = {
            op: 'validate',
            ...req({ type: 'dns', value: 'a.test' }),
            jti: 'expired-jti-1',
            iat: now - 200,
            exp: now - 100,
          };
          return new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
            .setProtectedHeader({ alg: 'ES256', kid: edgeKey.priv.kid })
            .sign(edgeKey.priv.key);
        },
        status: 403,
        type: 'unauthorized',
      },
      {
        name: 'a token that is not base64url',
        body: () =>
          signRelay<ValidateRequest>(
            { op: 'validate', ...req({ type: 'dns', value: 'a.test' }), token: '../../etc/passwd' },
            edgeKey.priv,
          ),
        status: 400,
        type: 'malformed',
      },
      {
        name: 'a key authorization for another token',
        body: () =>
          signRelay<ValidateRequest>(
            {
              op: 'validate',
              ...req({ type: 'dns', value: 'a.test' }),
              keyAuthorization: `other_0123456789abcdefghijk.${THUMB}`,
            },
            edgeKey.priv,
          ),
        status: 400,
        type: 'malformed',
      },
      {
        name: 'an unknown challenge type',
        body: () =>
          signRelay(
            { op: 'validate', ...req({ type: 'dns', value: 'a.test' }), challengeType: 'http-02' } as never,
            edgeKey.priv,
          ),
        status: 400,
        type: 'malformed',
      },
      {
        name: 'an accountUrl that is not an http(s) URL',
        body: () =>
          signRelay<ValidateRequest>(
            {
              op: 'validate',
              ...req({ type: 'dns', value: 'a.test' }, 'dns-account-01'),
              accountUrl: 'javascript:1',
            },
            edgeKey.priv,
          ),
        status: 400,
        type: 'malformed',
      },
      {
        name: 'persist issuer names that are not lowercase domain names',
        body: () =>
          signRelay<ValidateRequest>(
            {
              op: 'validate',
              ...req({ type: 'dns', value: 'a.test' }, 'dns-persist-01'),
              persist: { issuerDomainNames: ['CA.test'], accountHashPrefix: 'https://ca.test/h/' },
            },
            edgeKey.priv,
          ),
        status: 400,
        type: 'malformed',
      },
      {
        name: 'persist without issuer names',
        body: () =>
          signRelay<ValidateRequest>(
            {
              op: 'validate',
              ...req({ type: 'dns', value: 'a.test' }, 'dns-persist-01'),
              persist: { issuerDomainNames: [], accountHashPrefix: 'https://ca.test/h/' },
            },
            edgeKey.priv,
          ),
        status: 400,
        type: 'malformed',
      },
      { name: 'a body over 16 KiB', body: async () => 'a'.repeat(17 * 1024), status: 413, type: 'malformed' },
      {
        name: 'a body that is not application/jose',
        body: () =>
          signRelay<ValidateRequest>(
            { op: 'validate', ...req({ type: 'dns', value: 'a.test' }) },
            edgeKey.priv,
          ),
        ctype: 'application/json',
        status: 415,
        type: 'malformed',
      },
    ];
  for (const c of cases) {
    test(`refuses ${c.name}`, async () => {
      const res = await post(await makeApp(), await c.body(), c.ctype);
      assert.equal(res.status, c.status);
      const doc = (await res.json()) as { type: string };
      assert.equal(doc.type, `urn:ietf:params:acme:error:${c.type}`);
    });
  }

  test('refuses a replayed request (same jti), also after a restart on the same database', async () => {
    const jws = await signRelay<ValidateRequest>(
      { op: 'validate', ...req({ type: 'dns', value: 'db7.corp.internal' }) },
      edgeKey.priv,
    );
    assert.equal((await post(await makeApp(), jws)).status, 200);
    const again = await post(await makeApp(), jws);
    assert.equal(again.status, 403);
    assert.match(((await again.json()) as { detail: string }).detail, /replayed jti/);
  });
});

describe('redirects stay inside the validator scope, and no response body reaches the answer', () => {
  // A validator scoped to fd00::/8 and corp.internal. Names resolve to 127.0.0.1 (challtestsrv), which
  // the test-only switch lets it dial, so 127.0.0.1 stands for an internal host outside the scope.
  const SECRET = 'internal-secret-4f0c2d9e';
  const challenge = `/.well-known/acme-challenge/${TOKEN}`;
  let srv: http.Server;
  let port = 0;
  const secretHits: string[] = [];
  const scoped = (): Partial<ValidatorConfig> => ({
    ceiling: { dnsSuffixes: ['corp.internal'], ipRanges: ['fd00::/8'], allowWildcards: false },
    testOnly: { http01Port: port, allowLoopback: true },
  });
  const redirects: Record<string, () => string> = {
    'to-ip.corp.internal': () => `http://127.0.0.1:${port}/internal/secret`,
    'to-name.corp.internal': () => `http://files.outside.example:${port}/internal/secret`,
    'to-mapped.corp.internal': () => `http://[::ffff:127.0.0.1]:${port}/internal/secret`,
    'to-inside.corp.internal': () => `http://db7.corp.internal:${port}${challenge}`,
    'to-secret-inside.corp.internal': () => `http://db7.corp.internal:${port}/internal/secret`,
  };

  before(async () => {
    srv = http.createServer((q, s) => {
      const host = (q.headers.host ?? '').replace(/:\d+$/, '');
      const to = redirects[host];
      if (q.url === challenge && to) return void s.writeHead(302, { location: to() }).end();
      if (q.url === challenge && host === 'db7.corp.internal') return void s.end(KA);
      if (q.url === '/internal/secret') {
        secretHits.push(host);
        return void s.writeHead(200, { 'content-type': 'text/plain' }).end(`${SECRET}\n`);
      }
      s.writeHead(404).end(`${SECRET} (404 page)`);
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    port = (srv.address() as AddressInfo).port;
  });
  after(() => {
    srv.closeAllConnections();
    srv.close();
  });

  test('refuses the out-of-scope address directly (rejectedIdentifier), as before', async () => {
    const a = await validate(await makeApp(scoped()), req({ type: 'ip', value: '127.0.0.1' }));
    assert.equal(a.status, 'invalid');
    assert.equal(a.error?.type, 'urn:ietf:params:acme:error:rejectedIdentifier');
  });

  const refused: { name: string; host: string; detail: RegExp }[] = [
    {
      name: 'a redirect to an address outside the IP ranges',
      host: 'to-ip.corp.internal',
      detail: /127\.0\.0\.1 is outside the CA's allowed IP ranges/,
    },
    {
      name: 'a redirect to a name outside the DNS suffixes',
      host: 'to-name.corp.internal',
      detail: /files\.outside\.example is outside the CA's allowed DNS suffixes/,
    },
    {
      name: 'a redirect to the IPv4-mapped form of an address',
      host: 'to-mapped.corp.internal',
      detail: /IPv4/,
    },
  ];
  for (const c of refused) {
    test(`refuses ${c.name} before dialling it, echoing no body`, async () => {
      secretHits.length = 0;
      const a = await validate(await makeApp(scoped()), req({ type: 'dns', value: c.host }));
      assert.equal(a.status, 'invalid');
      assert.equal(a.error?.type, 'urn:ietf:params:acme:error:connection');
      assert.match(a.error?.detail ?? '', /redirect/i);
      assert.match(a.error?.detail ?? '', c.detail);
      assert.ok(!(a.error?.detail ?? '').includes(SECRET), a.error?.detail);
      assert.deepEqual(secretHits, [], 'the redirect target was never fetched');
    });
  }

  test('follows a redirect inside the scope and is valid', async () => {
    const a = await validate(await makeApp(scoped()), req({ type: 'dns', value: 'to-inside.corp.internal' }));
    assert.equal(a.status, 'valid', JSON.stringify(a));
  });

  test('answers a wrong body inside the scope with a fixed summary, not the body', async () => {
    const a = await validate(
      await makeApp(scoped()),
      req({ type: 'dns', value: 'to-secret-inside.corp.internal' }),
    );
    assert.equal(a.status, 'invalid');
    assert.equal(a.error?.type, 'urn:ietf:params:acme:error:incorrectResponse');
    assert.ok(!(a.error?.detail ?? '').includes(SECRET), a.error?.detail);
    assert.ok(!(a.error?.detail ?? '').includes('internal-secret'), a.error?.detail);
  });
});

describe('the validator scope and IPv4 addresses in IPv6 form', () => {
  const scope = { dnsSuffixes: ['corp.internal'], ipRanges: ['10.0.0.0/8', '::/0'], allowWildcards: false };
  const ranges = scope.ipRanges.map((r) => parseCidrOrThrow(r));
  test('refuses an IPv4-mapped address whose IPv4 form is outside the ranges, though "::/0" is in scope', () => {
    assert.ok(scopeProblem(scope, ranges, { type: 'ip', value: '8.8.8.8' }));
    const p = scopeProblem(scope, ranges, { type: 'ip', value: '::ffff:808:808' });
    assert.equal(p?.kind, 'rejectedIdentifier');
    assert.match(p?.message ?? '', /"8\.8\.8\.8"/);
  });
  test('refuses an IPv4-mapped identifier sent over the relay with rejectedIdentifier', async () => {
    const app = await makeApp({ ceiling: scope });
    const res = await post(
      app,
      await signRelay<ValidateRequest>(
        { op: 'validate', ...req({ type: 'ip', value: '::ffff:8.8.8.8' }) },
        edgeKey.priv,
      ),
    );
    assert.equal(res.status, 400);
    const doc = (await res.json()) as { type: string; detail: string };
    assert.equal(doc.type, 'urn:ietf:params:acme:error:rejectedIdentifier');
    assert.match(doc.detail, /use the IPv4 form/);
  });
});

function parseCidrOrThrow(text: string) {
  const c = parseCidr(text);
  if (!c) throw new Error(`bad CIDR ${text}`);
  return c;
}
