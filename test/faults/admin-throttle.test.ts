// Admin login throttling: wrong tokens are counted per client address in a bucket kept in libSQL
// (shared by every edge instance); once EDGECA_ADMIN_AUTH_FAILURES_PER_MIN is spent, every attempt
// from that address is refused with 429 and Retry-After — a right token included, so a guesser
// learns nothing — until the bucket refills. The admin API's bearer token, the web UI's login form
// and the UI's session cookie are one throttle, and checking and counting is one guarded statement:
// a parallel burst over real HTTP gets no more wrong answers than the limit, even across instances.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { exportJWK, generateKeyPair } from 'jose';
import { defaultEdgeConfig } from '../../edge/config.ts';
import { type RunningEdge, startNodeEdge } from '../../edge/main/node.ts';
import { adminToken } from '../support/admin-api.ts';
import { type InprocEdge, startInprocEdge } from '../support/edge-app.ts';

const newToken = async (svc: InprocEdge['svc']) => (await adminToken(svc, 'read', 'throttle')).token;

describe('admin login throttling in process', () => {
  let edge: InprocEdge;
  let good: string;
  before(async () => {
    edge = await startInprocEdge({ config: { adminAuthFailuresPerMinute: 3 } });
    good = await newToken(edge.svc);
  });
  after(() => edge.close());

  const call = (token: string) =>
    edge.app.request('https://acme.test:14000/admin/policies', {
      headers: { authorization: `Bearer ${token}` },
    });

  it('answers a right token while no login has failed', async () => {
    assert.equal((await call(good)).status, 200);
  });

  it('refuses wrong tokens with 401 until the allowance is spent, then with 429 and Retry-After', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await call(`edgeca_wrong${i}`)).status, 401, `attempt ${i}`);
    const res = await call('edgeca_wrong-again');
    assert.equal(res.status, 429);
    assert.match(res.headers.get('content-type') ?? '', /problem\+json/);
    assert.ok(Number(res.headers.get('retry-after')) >= 1, 'Retry-After');
  });

  it('refuses even the right token while the address is throttled', async () => {
    assert.equal((await call(good)).status, 429);
  });

  it('answers a parallel burst of wrong tokens with no more 401s than the allowance', async () => {
    const burst = await startInprocEdge({ config: { adminAuthFailuresPerMinute: 3 } });
    try {
      const answers = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          burst.app.request('https://acme.test:14000/admin/policies', {
            headers: { authorization: `Bearer edgeca_admin_wrong${i}` },
          }),
        ),
      );
      const statuses = answers.map((r) => r.status).sort();
      assert.deepEqual(statuses, [...Array(3).fill(401), ...Array(9).fill(429)]);
    } finally {
      burst.close();
    }
  });

  it('keeps the count in the shared database (every edge instance sees it)', async () => {
    const rows = await edge.svc.database.client!.execute(
      "SELECT key FROM rate_buckets WHERE key LIKE 'adminAuthFailures:%'",
    );
    assert.equal(rows.rows.length, 1);
  });
});

describe('admin login throttling under a parallel burst over HTTP', { timeout: 120_000 }, () => {
  const LIMIT = 10;
  const BURST = 30;
  const dir = mkdtempSync(join(tmpdir(), 'edgeca-throttle-'));
  const dbUrl = `file:${join(dir, 'edge.db')}`;
  let edges: RunningEdge[] = [];
  let good: string;

  before(async () => {
    const relay = await generateKeyPair('ES256', { extractable: true });
    const relayKeyJwk = { ...(await exportJWK(relay.privateKey)), kid: 'edge-test' };
    // Two instances, one database: the bucket is shared, as on a fleet of edges.
    for (let i = 0; i < 2; i++) {
      const config = defaultEdgeConfig({
        baseUrl: 'http://127.0.0.1:1',
        dbUrl,
        signerUrl: 'http://127.0.0.1:9',
        relayKeyJwk,
        adminAuthFailuresPerMinute: LIMIT,
      });
      edges.push(await startNodeEdge(config, { log: () => {} }));
    }
    good = await newToken(edges[0]!.services);
  });
  after(async () => {
    for (const e of edges) await e.close();
    edges = [];
    rmSync(dir, { recursive: true, force: true });
  });
  // Each case starts from a full bucket.
  beforeEach(async () => {
    await edges[0]!.services.database.client!.execute('DELETE FROM rate_buckets');
  });

  const edgeFor = (i: number) => edges[i % edges.length]!;

  /** The statuses of a burst, and checks that every 429 carries Retry-After. */
  async function burst(send: (i: number) => Promise<Response>): Promise<Map<number, number>> {
    const answers = await Promise.all(Array.from({ length: BURST }, (_, i) => send(i)));
    const counts = new Map<number, number>();
    for (const r of answers) {
      await r.arrayBuffer();
      counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
      if (r.status === 429) assert.ok(Number(r.headers.get('retry-after')) >= 1, 'a 429 carries Retry-After');
    }
    return counts;
  }

  const api = (i: number, token: string) =>
    fetch(`${edgeFor(i).url}/admin/policies`, { headers: { authorization: `Bearer ${token}` } });

  /** A login form's nonce and its cookie (the double-submit pair the form needs). */
  async function loginForm(i: number): Promise<{ nonce: string; cookie: string }> {
    const res = await fetch(`${edgeFor(i).url}/admin/ui/login`);
    const page = await res.text();
    const nonce = /name="nonce" value="([^"]+)"/.exec(page)?.[1] ?? '';
    const cookie = res.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    assert.ok(nonce && cookie, 'the login page sets a nonce');
    return { nonce, cookie };
  }

  const uiLogin = (i: number, form: { nonce: string; cookie: string }, token: string) =>
    fetch(`${edgeFor(i).url}/admin/ui/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: form.cookie },
      body: new URLSearchParams({ nonce: form.nonce, token }).toString(),
    });

  it(`answers ${BURST} concurrent wrong API tokens with at most ${LIMIT} 401s, the rest 429`, async () => {
    const counts = await burst((i) => api(i, `edgeca_admin_wrong${i}`));
    assert.equal((counts.get(401) ?? 0) + (counts.get(429) ?? 0), BURST, JSON.stringify([...counts]));
    assert.ok((counts.get(401) ?? 0) <= LIMIT, `401s: ${counts.get(401)}`);
    assert.ok((counts.get(401) ?? 0) >= 1, 'the first wrong tokens are told they are wrong');
    assert.equal((await api(0, good)).status, 429, 'the right token too, while throttled');
  });

  it(`answers ${BURST} concurrent wrong UI login forms with at most ${LIMIT} 401s, the rest 429`, async () => {
    const forms = await Promise.all([loginForm(0), loginForm(1)]);
    const counts = await burst((i) => uiLogin(i, forms[i % 2]!, `edgeca_admin_wrong${i}`));
    assert.equal((counts.get(401) ?? 0) + (counts.get(429) ?? 0), BURST, JSON.stringify([...counts]));
    assert.ok((counts.get(401) ?? 0) <= LIMIT, `401s: ${counts.get(401)}`);
    assert.ok((counts.get(401) ?? 0) >= 1, 'the first wrong tokens are told they are wrong');
    const right = await uiLogin(0, forms[0]!, good);
    assert.equal(right.status, 429, 'the right token too, while throttled');
    assert.ok(Number(right.headers.get('retry-after')) >= 1);
  });

  it('counts wrong tokens in UI session cookies too (a cookie is a login attempt)', async () => {
    const counts = await burst((i) =>
      fetch(`${edgeFor(i).url}/admin/ui`, {
        redirect: 'manual',
        headers: { cookie: `edgeca_ui=sid${i}.edgeca_admin_wrong${i}` },
      }),
    );
    // A wrong cookie is sent to the login page (303) until the allowance is spent.
    assert.equal((counts.get(303) ?? 0) + (counts.get(429) ?? 0), BURST, JSON.stringify([...counts]));
    assert.ok((counts.get(303) ?? 0) <= LIMIT, `redirects: ${counts.get(303)}`);
  });

  it('shares one allowance between the API and the UI', async () => {
    const form = await loginForm(0);
    for (let i = 0; i < LIMIT; i++) assert.equal((await uiLogin(0, form, `edgeca_admin_ui${i}`)).status, 401);
    assert.equal((await api(1, 'edgeca_admin_api')).status, 429);
  });

  it('lets the right token in, on the API and the UI, while the allowance lasts', async () => {
    assert.equal((await api(0, 'edgeca_admin_wrong')).status, 401);
    assert.equal((await api(1, good)).status, 200);
    const ui = await uiLogin(0, await loginForm(0), good);
    assert.equal(ui.status, 303);
  });
});
