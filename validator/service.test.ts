// The validator over its HTTP app (in-process), against a real mock DNS (pebble-challtestsrv), a
// real http-01 responder on 127.0.0.1 and a real libSQL jti file: what it answers, what it signs,
// what it refuses.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair } from 'jose';
import { createNodeRuntime } from '../edge/runtime/node.ts';
import { dns01TxtValue } from '../edge/validation/index.ts';
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
import { type ChallTestSrv, startChallTestSrv } from '../test/support/challtestsrv.ts';
import { type Http01Server, startHttp01Server } from '../test/support/http01.ts';
import { validatorApp } from './app.ts';
import type { ValidatorConfig } from './config.ts';
import { ValidatorService } from './service.ts';
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
    runtime: createNodeRuntime({ dnsResolver: dns.dnsAddress }),
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
