// Admin login throttling: failed bearer authentications are counted per client address
// in a bucket kept in libSQL (shared by every edge instance); once EDGECA_ADMIN_AUTH_FAILURES_PER_MIN
// is spent, every attempt from that address is refused with 429 and Retry-After — a right token
// included, so a guesser learns nothing — until the bucket refills.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { storesOf } from '../../edge/storage/stores.ts';
import { type InprocEdge, startInprocEdge } from '../support/edge-app.ts';

let edge: InprocEdge;
let good: string;

before(async () => {
  edge = await startInprocEdge({ config: { adminAuthFailuresPerMinute: 3 } });
  const { admin } = await storesOf(edge.svc);
  const t = await admin.newToken('throttle', 'read');
  await admin.commit([t.stmt], {
    tokenId: 'cli',
    action: 'token.create',
    target: `token:${t.row.id}`,
    before: null,
    after: t.row,
  });
  good = t.token;
});
after(() => edge.close());

const call = (token: string) =>
  edge.app.request('https://acme.test:14000/admin/policies', {
    headers: { authorization: `Bearer ${token}` },
  });

describe('admin login throttling', () => {
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

  it('keeps the count in the shared database (every edge instance sees it)', async () => {
    const rows = await edge.svc.database.client!.execute(
      "SELECT key FROM rate_buckets WHERE key LIKE 'adminAuthFailures:%'",
    );
    assert.equal(rows.rows.length, 1);
  });
});
