// The admin login throttle on D1: the edge on workerd (`wrangler dev --local`, its local D1) gets a
// parallel burst of 30 wrong admin tokens at the admin API and at the web UI's login form with a
// limit of 10; at most 10 are told 401, the rest 429 with Retry-After. The check-and-count is the
// same one guarded statement as on libSQL (test/faults/admin-throttle.test.ts). Locally, wrangler
// dev keeps a CF-Connecting-IP header the client sends (on Cloudflare the platform sets it), which
// gives each burst here a bucket of its own without touching the database under the running edge.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type DohServer, startDohServer } from '../../cli/doh-bridge.ts';
import { sha256, toHex } from '../../shared/encoding.ts';
import { httpsFetch } from '../support/https-fetch.ts';
import { type Deps, startDeps, startWorkerdEdge, type WorkerdEdge } from './edges.ts';

const LIMIT = 10;
const BURST = 30;
let deps: Deps | undefined;
let doh: DohServer | undefined;
let edge: WorkerdEdge | undefined;
let fetch: ReturnType<typeof httpsFetch>;
const good = `edgeca_admin_${'k'.repeat(43)}`;

/** The statuses of a burst; every 429 must carry Retry-After; other answers are shown whole. */
async function counts(answers: Response[]): Promise<{ m: Map<number, number>; other: string[] }> {
  const m = new Map<number, number>();
  const other: string[] = [];
  for (const r of answers) {
    const text = await r.text();
    m.set(r.status, (m.get(r.status) ?? 0) + 1);
    if (r.status === 429) assert.ok(Number(r.headers.get('retry-after')) >= 1, 'a 429 carries Retry-After');
    else if (r.status !== 401) other.push(`${r.status}: ${text.slice(0, 300)}`);
  }
  return { m, other };
}

/**
 * One request of a burst. wrangler dev's local proxy has reset a connection now and then under 30
 * at once (ECONNRESET, no answer); such a request is sent again, at most twice. Only answers are
 * counted, so a retry cannot hide a 401 too many.
 */
async function send(url: string, init: RequestInit): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetch(url, init);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (attempt >= 3 || (code !== 'ECONNRESET' && !/socket hang up/.test(String(e)))) throw e;
    }
  }
}

function assertThrottled({ m, other }: { m: Map<number, number>; other: string[] }): void {
  assert.deepEqual(other, [], 'every answer is 401 or 429');
  assert.equal((m.get(401) ?? 0) + (m.get(429) ?? 0), BURST, JSON.stringify([...m]));
  assert.ok((m.get(401) ?? 0) <= LIMIT, `401s: ${m.get(401)}`);
}

describe('admin login throttle on workerd with D1', { timeout: 300_000 }, () => {
  before(async () => {
    deps = await startDeps();
    doh = await startDohServer(deps.dns.dnsAddress);
    // wrangler dev on a loaded machine can be slow to answer; no assertion is about time.
    fetch = httpsFetch(deps.sys.caFile, 120_000);
    edge = await startWorkerdEdge({
      sys: deps.sys,
      dnsResolver: doh.url,
      http01Port: deps.http01.port,
      fetch,
      env: { EDGECA_ADMIN_AUTH_FAILURES_PER_MIN: String(LIMIT) },
    });
    await edge.exec(
      `INSERT INTO admin_tokens (id, name, scope, token_hash, created_at) VALUES ('tok-d1', 'd1', 'read', '${toHex(await sha256(good))}', ${Date.now()})`,
    );
  });
  after(async () => {
    await edge?.stop();
    await doh?.close();
    await deps?.stop();
  });

  const api = (token: string, from: string) =>
    send(`${edge!.baseUrl}/admin/policies`, {
      headers: { authorization: `Bearer ${token}`, 'cf-connecting-ip': from },
    });

  it('answers the right token before any failure', async () => {
    const res = await api(good, '192.0.2.1');
    assert.equal(res.status, 200, await res.text());
  });

  it(`answers ${BURST} concurrent wrong API tokens with at most ${LIMIT} 401s, the rest 429`, async () => {
    assertThrottled(
      await counts(
        await Promise.all(Array.from({ length: BURST }, (_, i) => api(`edgeca_admin_w${i}`, '192.0.2.1'))),
      ),
    );
    assert.equal((await api(good, '192.0.2.1')).status, 429, 'the right token too, while throttled');
  });

  it(`answers ${BURST} concurrent wrong UI logins with at most ${LIMIT} 401s, the rest 429`, async () => {
    const from = '192.0.2.2';
    const page = await fetch(`${edge!.baseUrl}/admin/ui/login`, { headers: { 'cf-connecting-ip': from } });
    const nonce = /name="nonce" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
    const cookie = page.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    assertThrottled(
      await counts(
        await Promise.all(
          Array.from({ length: BURST }, (_, i) =>
            send(`${edge!.baseUrl}/admin/ui/login`, {
              method: 'POST',
              headers: {
                'content-type': 'application/x-www-form-urlencoded',
                cookie,
                'cf-connecting-ip': from,
              },
              body: new URLSearchParams({ nonce, token: `edgeca_admin_w${i}` }).toString(),
            }),
          ),
        ),
      ),
    );
  });
});
