// The admin login throttle on D1: the edge on workerd (`wrangler dev --local`, its local D1) gets a
// parallel burst of 30 wrong admin tokens at the admin API and at the web UI's login form with a
// limit of 10; at most 10 are told 401, the rest 429 with Retry-After. The check-and-count is the
// same one guarded statement as on libSQL (test/faults/admin-throttle.test.ts).
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

async function counts(answers: Response[]): Promise<Map<number, number>> {
  const m = new Map<number, number>();
  for (const r of answers) {
    await r.arrayBuffer();
    m.set(r.status, (m.get(r.status) ?? 0) + 1);
    if (r.status === 429) assert.ok(Number(r.headers.get('retry-after')) >= 1, 'a 429 carries Retry-After');
  }
  return m;
}

describe('admin login throttle on workerd with D1', { timeout: 300_000 }, () => {
  before(async () => {
    deps = await startDeps();
    doh = await startDohServer(deps.dns.dnsAddress);
    fetch = httpsFetch(deps.sys.caFile);
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

  it('answers the right token before any failure', async () => {
    const res = await fetch(`${edge!.baseUrl}/admin/policies`, {
      headers: { authorization: `Bearer ${good}` },
    });
    assert.equal(res.status, 200, await res.text());
  });

  it(`answers ${BURST} concurrent wrong API tokens with at most ${LIMIT} 401s, the rest 429`, async () => {
    const m = await counts(
      await Promise.all(
        Array.from({ length: BURST }, (_, i) =>
          fetch(`${edge!.baseUrl}/admin/policies`, {
            headers: { authorization: `Bearer edgeca_admin_w${i}` },
          }),
        ),
      ),
    );
    assert.equal((m.get(401) ?? 0) + (m.get(429) ?? 0), BURST, JSON.stringify([...m]));
    assert.ok((m.get(401) ?? 0) <= LIMIT, `401s: ${m.get(401)}`);
    const right = await fetch(`${edge!.baseUrl}/admin/policies`, {
      headers: { authorization: `Bearer ${good}` },
    });
    assert.equal(right.status, 429, 'the right token too, while throttled');
  });

  it(`answers ${BURST} concurrent wrong UI logins with 429 once the shared allowance is spent`, async () => {
    await edge!.exec('DELETE FROM rate_buckets');
    const page = await fetch(`${edge!.baseUrl}/admin/ui/login`);
    const nonce = /name="nonce" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
    const cookie = page.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    const m = await counts(
      await Promise.all(
        Array.from({ length: BURST }, (_, i) =>
          fetch(`${edge!.baseUrl}/admin/ui/login`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
            body: new URLSearchParams({ nonce, token: `edgeca_admin_w${i}` }).toString(),
          }),
        ),
      ),
    );
    assert.equal((m.get(401) ?? 0) + (m.get(429) ?? 0), BURST, JSON.stringify([...m]));
    assert.ok((m.get(401) ?? 0) <= LIMIT, `401s: ${m.get(401)}`);
  });
});
