// The admin API in process: who may call it (no token, read token writing, revoked token), bad
// input as 400 problems naming the field with nothing changed, and the change log of every step.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { adminCall, adminToken } from '../../test/support/admin-api.ts';
import { type InprocEdge, startInprocEdge } from '../../test/support/edge-app.ts';

let edge: InprocEdge;
let write: string;
let read: string;
let readId: string;

const token = (scope: 'read' | 'write') => adminToken(edge.svc, scope);
const call = (method: string, path: string, opts: { token?: string; body?: unknown } = {}) =>
  adminCall(edge, opts.token, method, path, opts.body);

async function problem(res: Response, status: number, field?: string) {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
  const doc = JSON.parse(text);
  assert.ok(doc.detail.length > 0);
  if (field) assert.equal(doc.field, field, doc.detail);
  return doc;
}

describe('admin API', () => {
  before(async () => {
    edge = await startInprocEdge();
    write = (await token('write')).token;
    const r = await token('read');
    read = r.token;
    readId = r.row.id;
  });
  after(() => edge.close());

  it('serves the OpenAPI document without a token', async () => {
    const res = await call('GET', '/openapi.json');
    assert.equal(res.status, 200);
    const doc = await res.json();
    assert.equal(doc.openapi, '3.1.0');
    assert.ok(doc.paths['/profiles/{name}'].put);
  });
  it('refuses a request without a token with 401', async () => {
    const res = await call('GET', '/profiles');
    await problem(res, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /Bearer/);
  });
  it('refuses an unknown token with 401', async () => {
    await problem(await call('GET', '/profiles', { token: 'edgeca_admin_nope' }), 401);
  });
  it('lets a read token read', async () => {
    const res = await call('GET', '/profiles', { token: read });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.default, 'default');
    assert.deepEqual(
      body.profiles.map((p: { name: string }) => p.name),
      ['default', 'tlsclient', 'tlsserver'],
    );
  });
  it('refuses a read token writing with 403, changing nothing', async () => {
    await problem(
      await call('PUT', '/rate-limits/newOrdersPerAccount', {
        token: read,
        body: { count: 1, windowSeconds: 60 },
      }),
      403,
    );
    const limits = await (await call('GET', '/rate-limits', { token: read })).json();
    assert.deepEqual(limits.limits, []);
  });
  it('refuses a revoked token with 401', async () => {
    const t = await token('write');
    assert.equal((await call('POST', `/tokens/${t.row.id}/revoke`, { token: write })).status, 200);
    await problem(await call('GET', '/profiles', { token: t.token }), 401);
  });

  const BAD: [name: string, method: string, path: string, body: unknown, field: string][] = [
    ['a profile without validity', 'PUT', '/profiles/short', { description: 'x' }, 'validitySeconds'],
    [
      'a profile with an unknown key type',
      'PUT',
      '/profiles/short',
      { validitySeconds: 3600, keyTypes: ['DSA'] },
      'keyTypes',
    ],
    [
      'a profile with an unknown field',
      'PUT',
      '/profiles/short',
      { validitySeconds: 3600, colour: 'red' },
      'colour',
    ],
    ['a profile name with capitals', 'PUT', '/profiles/Short', { validitySeconds: 3600 }, 'name'],
    ['a validity under a minute', 'PUT', '/profiles/short', { validitySeconds: 5 }, 'validitySeconds'],
    ['a policy with a bad rule', 'PUT', '/policies/global', { allow: ['.ok.internal', 'a b'] }, 'allow[1]'],
    ['a policy scope that is not one', 'PUT', '/policies/everyone', { allow: [] }, 'scope'],
    [
      'an unknown rate limit',
      'PUT',
      '/rate-limits/ordersPerFortnight',
      { count: 1, windowSeconds: 1 },
      'name',
    ],
    [
      'a rate limit without a window',
      'PUT',
      '/rate-limits/newOrdersPerAccount',
      { count: 1 },
      'windowSeconds',
    ],
    [
      'an EAB key with a bad policy rule',
      'POST',
      '/eab-keys',
      { name: 'x', policy: { deny: ['*.*.x'] } },
      'policy.deny[0]',
    ],
    ['an EAB key naming an unknown profile', 'POST', '/eab-keys', { profiles: ['nope'] }, 'profiles'],
    [
      'an EAB key expiring in the past',
      'POST',
      '/eab-keys',
      { expiresAt: '2001-01-01T00:00:00Z' },
      'expiresAt',
    ],
    ['an EAB key with a bad expiry', 'POST', '/eab-keys', { expiresAt: 'tomorrow' }, 'expiresAt'],
    ['a default profile that does not exist', 'PUT', '/default-profile', { name: 'nope' }, 'name'],
    ['a token with an unknown scope', 'POST', '/tokens', { scope: 'admin' }, 'scope'],
    ['a body that is not JSON', 'PUT', '/policies/global', '{', 'body'],
  ];
  for (const [name, method, path, body, field] of BAD) {
    it(`refuses ${name} with 400 naming "${field}", changing nothing`, async () => {
      const snap = await edge.snapshot();
      const changes = (await (await call('GET', '/changes', { token: read })).json()).changes.length;
      const res =
        body === '{'
          ? await edge.app.request(`https://acme.test:14000/admin${path}`, {
              method,
              headers: { authorization: `Bearer ${write}` },
              body: '{',
            })
          : await call(method, path, { token: write, body });
      await problem(res, 400, field);
      assert.equal(await edge.snapshot(), snap);
      assert.equal((await (await call('GET', '/changes', { token: read })).json()).changes.length, changes);
    });
  }

  it('records every change with its token, before and after', async () => {
    const put = await call('PUT', '/profiles/short', {
      token: write,
      body: { description: '1 hour', validitySeconds: 3600, identifierTypes: ['dns'], allowWildcards: false },
    });
    assert.equal(put.status, 201);
    const upd = await call('PUT', '/profiles/short', { token: write, body: { validitySeconds: 7200 } });
    assert.equal(upd.status, 200);
    const eab = await call('POST', '/eab-keys', {
      token: write,
      body: { name: 'ci', policy: { allow: ['.ci.internal'] } },
    });
    assert.equal(eab.status, 201);
    const key = await eab.json();
    assert.match(key.hmacKey, /^[A-Za-z0-9_-]{43}$/);
    const listed = await (await call('GET', `/eab-keys/${key.kid}`, { token: read })).json();
    assert.equal(listed.hmacKey, undefined, 'the HMAC key is never shown again');
    assert.deepEqual(listed.policy, { allow: ['.ci.internal'], deny: [] });
    const { changes } = await (await call('GET', '/changes', { token: read })).json();
    const [c0, c1, c2] = changes;
    assert.equal(c0.action, 'eab.create');
    assert.equal(c0.after.hmacKey, undefined, 'the change log never holds the HMAC key');
    assert.equal(c1.action, 'profile.update');
    assert.equal(c1.before.validitySeconds, 3600);
    assert.equal(c1.after.validitySeconds, 7200);
    assert.equal(c2.action, 'profile.create');
    assert.equal(c2.before, null);
    assert.notEqual(c0.tokenId, readId);
    assert.match(c0.tokenId, /^tok-/);
    assert.match(c0.at, /^\d{4}-/);
  });
  it('refuses to delete the default profile with 409', async () => {
    await problem(await call('DELETE', '/profiles/default', { token: write }), 409);
  });
  it('answers an unknown admin path with a 404 problem', async () => {
    await problem(await call('GET', '/nothing-here', { token: read }), 404);
  });
});
