// The expiry watch reports a certificate once when less than the configured share of its lifetime
// is left and no newer certificate of the same account covers the same names; a replaced,
// revoked or still young certificate is not reported.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { seedCertificate } from '../../test/support/certificate-rows.ts';
import { type InprocEdge, startInprocEdge } from '../../test/support/edge-app.ts';
import type { CertificateRow } from '../storage/schema.ts';
import { runExpiryWatch } from './expiry-watch.ts';

let edge: InprocEdge;
before(async () => {
  edge = await startInprocEdge();
});
after(() => edge.close());

const HOUR = 3_600_000;
const now = Date.now();
let n = 0;

/** A certificate issued through the order repository, as finalize stores it. */
function issue(
  names: string[],
  notBefore: number,
  lifetime: number,
  accountId = 'acct-1',
): Promise<CertificateRow> {
  n++;
  return seedCertificate(edge, { id: `c${n}`, names, notBefore, notAfter: notBefore + lifetime, accountId });
}

const expiringIds = async () =>
  (await edge.svc.events.recent({ limit: 100, type: 'certificate.expiring' })).map(
    (e) => e.data.certificateId,
  );

test('reports an unreplaced certificate past the share once, and none of the others', async () => {
  // 24 h certificates, 20 h old: 1/6 of the lifetime left
  const lonely = await issue(['lonely.example.internal'], now - 20 * HOUR, 24 * HOUR);
  const replaced = await issue(['b.example.internal', 'a.example.internal'], now - 20 * HOUR, 24 * HOUR);
  // the replacement lists the same names in another order
  await issue(['a.example.internal', 'b.example.internal'], now - HOUR, 24 * HOUR);
  // a newer certificate of another account does not replace it
  const otherAccount = await issue(['shared.example.internal'], now - 20 * HOUR, 24 * HOUR);
  await issue(['shared.example.internal'], now - HOUR, 24 * HOUR, 'acct-2');
  const young = await issue(['young.example.internal'], now - 2 * HOUR, 24 * HOUR);
  const revoked = await issue(['gone.example.internal'], now - 20 * HOUR, 24 * HOUR);
  await edge.svc.certificates.markRevoked(revoked.id, 4, now);
  const expired = await issue(['old.example.internal'], now - 30 * HOUR, 24 * HOUR);

  assert.equal(await runExpiryWatch(edge.svc, { now, share: 0.25 }), 2);
  const ids = await expiringIds();
  assert.deepEqual(new Set(ids), new Set([lonely.id, otherAccount.id]));
  for (const c of [replaced, young, revoked, expired]) assert.ok(!ids.includes(c.id));
  // the next run reports nothing new
  assert.equal(await runExpiryWatch(edge.svc, { now: now + 1000, share: 0.25 }), 0);
  const [e] = (await edge.svc.events.recent({ limit: 100, type: 'certificate.expiring' })).filter(
    (x) => x.data.certificateId === lonely.id,
  );
  assert.equal(e?.data.notAfter, new Date(lonely.notAfter).toISOString());
  assert.ok(Number(e?.data.lifetimeLeft) < 0.25);
});

test('a larger share reports earlier', async () => {
  const c = await issue(['share.example.internal'], now - 10 * HOUR, 24 * HOUR);
  assert.equal(await runExpiryWatch(edge.svc, { now, share: 0.25 }), 0);
  assert.equal(await runExpiryWatch(edge.svc, { now, share: 0.9 }), 1);
  assert.ok((await expiringIds()).includes(c.id));
});
