// The admin UI in-process (app.request): login, sessions, CSRF, and the EAB key flow. The real
// browser flows (with a real issuance) are in test/browser/.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type InprocEdge, startInprocEdge } from '../../../test/support/edge-app.ts';
import { fieldOf, uiClient, uiLogIn } from '../../../test/support/ui-client.ts';

let edge: InprocEdge;
let writeToken: string;
let readToken: string;

async function token(scope: 'read' | 'write'): Promise<{ token: string; id: string }> {
  const { admin } = await edge.svc.stores();
  const t = await admin.newToken(`ui-${scope}`, scope);
  await t.stmt;
  return { token: t.token, id: t.row.id };
}

describe('admin UI', () => {
  before(async () => {
    edge = await startInprocEdge();
    writeToken = (await token('write')).token;
    readToken = (await token('read')).token;
  });
  after(() => edge.close());

  test('sends a visitor without a session to the login page', async () => {
    const { res } = await uiClient(edge)('');
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/admin/ui/login');
  });

  test('refuses an unknown token and a login form without its cookie', async () => {
    const b = uiClient(edge);
    const login = await b('/login');
    const bad = await b('/login', {
      method: 'POST',
      form: { nonce: fieldOf(login.text, 'nonce'), token: 'edgeca_admin_nope' },
    });
    assert.equal(bad.res.status, 401);
    const forged = await uiClient(edge)('/login', {
      method: 'POST',
      form: { nonce: 'x'.repeat(22), token: writeToken },
    });
    assert.equal(forged.res.status, 403);
  });

  test('sets a HttpOnly, SameSite=Strict, Secure session cookie scoped to the UI and never caches pages', async () => {
    const b = uiClient(edge);
    const login = await b('/login');
    const { res } = await b('/login', {
      method: 'POST',
      form: { nonce: fieldOf(login.text, 'nonce'), token: writeToken },
    });
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('edgeca_ui='));
    assert.match(cookie ?? '', /HttpOnly/);
    assert.match(cookie ?? '', /SameSite=Strict/);
    assert.match(cookie ?? '', /Secure/);
    assert.match(cookie ?? '', /Path=\/admin\/ui/);
    const dash = await b('');
    assert.equal(dash.res.status, 200);
    assert.equal(dash.res.headers.get('cache-control'), 'no-store');
    assert.match(dash.res.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
    assert.match(dash.text, /issued today/);
  });

  test('creates an EAB key showing the HMAC key once, lists it without it, and revokes it', async () => {
    const b = await uiLogIn(edge, writeToken);
    const page = await b('/eab');
    const created = await b('/eab', {
      method: 'POST',
      form: { csrf: fieldOf(page.text, 'csrf'), name: 'team-<b>web</b>', allow: '.web.example.internal' },
    });
    assert.equal(created.res.status, 200);
    const kid = /data-field="eab-kid">([^<]+)</.exec(created.text)?.[1] ?? '';
    const hmac = /data-field="eab-hmac">([^<]+)</.exec(created.text)?.[1] ?? '';
    assert.match(kid, /^eab-/);
    assert.ok(hmac.length >= 40);
    assert.match(created.text, /team-&lt;b&gt;web&lt;\/b&gt;/, 'names are escaped');
    const again = await b('/eab');
    assert.ok(again.text.includes(kid));
    assert.ok(!again.text.includes(hmac), 'the HMAC key is shown once only');
    const revoked = await b(`/eab/${kid}/revoke`, {
      method: 'POST',
      form: { csrf: fieldOf(again.text, 'csrf') },
    });
    assert.match(revoked.text, /revoked\./);
    assert.equal((await edge.svc.eab.get(kid))?.revokedAt !== null, true);
  });

  test('creates EAB keys that bind several accounts, or any number, and refuses a bad count', async () => {
    const b = await uiLogIn(edge, writeToken);
    for (const [given, shown] of [
      ['5', '0 of 5'],
      ['unlimited', '0 of unlimited'],
      ['', '0 of 1'],
    ] as const) {
      const page = await b('/eab');
      const created = await b('/eab', {
        method: 'POST',
        form: { csrf: fieldOf(page.text, 'csrf'), name: `fleet-${given || 'default'}`, maxAccounts: given },
      });
      assert.equal(created.res.status, 200, created.text);
      const kid = /data-field="eab-kid">([^<]+)</.exec(created.text)?.[1] ?? '';
      const row = new RegExp(`<code>${kid}</code>.*?</tr>`, 's').exec(created.text)?.[0] ?? '';
      assert.ok(row.includes(shown), `${given || 'empty'}: ${row}`);
    }
    const page = await b('/eab');
    const before = (await edge.svc.eab.list()).length;
    const bad = await b('/eab', {
      method: 'POST',
      form: { csrf: fieldOf(page.text, 'csrf'), name: 'x', maxAccounts: 'lots' },
    });
    assert.equal(bad.res.status, 400);
    assert.match(bad.text, /maxAccounts: must be an integer/);
    assert.equal((await edge.svc.eab.list()).length, before);
  });

  test('refuses a POST without the session CSRF field or from another origin, changing nothing', async () => {
    const b = await uiLogIn(edge, writeToken);
    const before = (await edge.svc.eab.list()).length;
    const noCsrf = await b('/eab', { method: 'POST', form: { name: 'x' } });
    assert.equal(noCsrf.res.status, 403);
    const page = await b('/eab');
    const cross = await b('/eab', {
      method: 'POST',
      headers: { origin: 'https://evil.example' },
      form: { csrf: fieldOf(page.text, 'csrf'), name: 'x' },
    });
    assert.equal(cross.res.status, 403);
    assert.equal((await edge.svc.eab.list()).length, before);
  });

  test('a read token sees pages but its forms are refused by the admin API', async () => {
    const b = await uiLogIn(edge, readToken);
    const page = await b('/eab');
    assert.equal(page.res.status, 200);
    const r = await b('/eab', { method: 'POST', form: { csrf: fieldOf(page.text, 'csrf'), name: 'x' } });
    assert.equal(r.res.status, 400);
    assert.match(r.text, /read scope/);
  });

  test('revoking the token ends its sessions at once', async () => {
    const t = await token('write');
    const b = await uiLogIn(edge, t.token);
    assert.equal((await b('')).res.status, 200);
    const { admin } = await edge.svc.stores();
    await admin.revokeToken(t.id);
    assert.equal((await b('')).res.status, 303);
  });

  test('every page renders for a logged-in admin', async () => {
    const b = await uiLogIn(edge, writeToken);
    for (const p of [
      '',
      '/certificates',
      '/orders',
      '/accounts',
      '/eab',
      '/policies',
      '/profiles',
      '/rate-limits',
      '/changes',
    ]) {
      const r = await b(p);
      assert.equal(r.res.status, 200, p);
      assert.match(r.text, /<h1>/, p);
    }
  });
});
