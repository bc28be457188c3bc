// The outbox is written by the batch of the state change it reports: each change leaves exactly one
// event, a change that does not happen (a guard that fails, a repeated request) leaves none, and
// the event carries what a receiver needs (replaces, the problem document).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type InprocEdge, startInprocEdge } from '../../test/support/edge-app.ts';
import type { CertificateRow, OrderRow } from './schema.ts';

let edge: InprocEdge;
before(async () => {
  edge = await startInprocEdge();
});
after(() => edge.close());

const now = Date.now();
let n = 0;

async function order(over: Partial<OrderRow> = {}): Promise<OrderRow> {
  n++;
  const o: OrderRow = {
    id: `order-${n}`,
    accountId: 'acct-1',
    status: 'processing',
    identifiers: JSON.stringify([{ type: 'dns', value: `host${n}.example.internal` }]),
    authzIds: '[]',
    profile: 'default',
    notBefore: null,
    notAfter: null,
    expiresAt: now + 3_600_000,
    error: null,
    csr: 'csr',
    certificateId: null,
    replaces: null,
    relayAttemptAt: now,
    createdAt: now,
    ...over,
  };
  await edge.svc.orders.create({ order: o, authzs: [], challenges: [], marks: [] });
  return o;
}

const cert = (o: OrderRow): CertificateRow => ({
  id: `cert-${o.id}`,
  orderId: o.id,
  accountId: o.accountId,
  serial: `0a${n}`,
  chainPem: 'pem',
  spkiSha256: 'spki',
  identifiers: o.identifiers,
  notBefore: now,
  notAfter: now + 86_400_000,
  revokedAt: null,
  revocationReason: null,
  createdAt: now,
});

const eventsWithId = async (id: string) =>
  (await edge.svc.events.recent({ limit: 500 })).filter((e) => e.id === id);

test('issuing a certificate records certificate.issued once, however often the completion is repeated', async () => {
  const o = await order();
  const c = cert(o);
  const valid = await edge.svc.orders.completeOrder(o.id, c);
  assert.equal(valid?.status, 'valid');
  assert.equal(valid?.certificateId, c.id);
  assert.equal(await edge.svc.orders.completeOrder(o.id, c), undefined);
  const got = await eventsWithId(`evt_cert_${c.id}`);
  assert.equal(got.length, 1);
  assert.equal(got[0]?.type, 'certificate.issued');
  assert.equal(got[0]?.data.serial, c.serial);
  assert.deepEqual(got[0]?.data.identifiers, JSON.parse(o.identifiers));
  assert.equal(got[0]?.data.notAfter, new Date(c.notAfter).toISOString());
});

test('a renewal records certificate.renewed with the certificate it replaces', async () => {
  const o = await order({ replaces: 'aki.serial' });
  const c = cert(o);
  await edge.svc.orders.completeOrder(o.id, c);
  const [e] = await eventsWithId(`evt_cert_${c.id}`);
  assert.equal(e?.type, 'certificate.renewed');
  assert.equal(e?.data.replaces, 'aki.serial');
});

test('a completion that loses its guard (order not processing) records nothing', async () => {
  const o = await order({ status: 'ready' });
  const c = cert(o);
  assert.equal(await edge.svc.orders.completeOrder(o.id, c), undefined);
  assert.deepEqual(await eventsWithId(`evt_cert_${c.id}`), []);
});

test('revoking records certificate.revoked with the reason, once', async () => {
  const o = await order();
  const c = cert(o);
  await edge.svc.orders.completeOrder(o.id, c);
  assert.equal(await edge.svc.certificates.markRevoked(c.id, 1, now + 5), true);
  assert.equal(await edge.svc.certificates.markRevoked(c.id, 1, now + 6), false);
  const got = await eventsWithId(`evt_rev_${c.id}`);
  assert.equal(got.length, 1);
  assert.equal(got[0]?.data.reason, 1);
  assert.equal(got[0]?.data.revokedAt, new Date(now + 5).toISOString());
});

test('an order turned invalid records order.failed with its problem document', async () => {
  const o = await order({ status: 'pending' });
  const problem = { type: 'urn:ietf:params:acme:error:unauthorized', detail: 'no', status: 403 };
  const failed = await edge.svc.orders.setOrderStatus(o.id, ['pending'], 'invalid', JSON.stringify(problem));
  assert.equal(failed?.status, 'invalid');
  assert.deepEqual(JSON.parse(failed?.error ?? 'null'), problem);
  const [e] = await eventsWithId(`evt_ofail_${o.id}`);
  assert.equal(e?.type, 'order.failed');
  assert.deepEqual(e?.data.problem, problem);
  // pending → ready is no failure
  const o2 = await order({ status: 'pending' });
  await edge.svc.orders.setOrderStatus(o2.id, ['pending'], 'ready');
  assert.deepEqual(await eventsWithId(`evt_ofail_${o2.id}`), []);
});

test('a failed validation records validation.failed; a valid one records nothing', async () => {
  const o = await order({ status: 'pending' });
  const authz = {
    id: `authz-${o.id}`,
    accountId: o.accountId,
    identifierType: 'dns' as const,
    identifierValue: 'v.example.internal',
    wildcard: false,
    status: 'pending' as const,
    expiresAt: now + 3_600_000,
    createdAt: now,
  };
  const ch = (id: string) => ({
    id,
    authzId: authz.id,
    type: 'http-01' as const,
    token: 't',
    status: 'processing' as const,
    validatedAt: null,
    error: null,
    validationRecord: null,
    attemptAt: now,
  });
  const o2 = await order({ status: 'pending' });
  await edge.svc.orders.create({
    order: { ...o2, id: `${o2.id}-b` },
    authzs: [authz],
    challenges: [ch('ch-bad'), ch('ch-good')],
    marks: [],
  });
  const error = { type: 'urn:ietf:params:acme:error:connection', detail: 'refused', status: 400 };
  await edge.svc.orders.finishChallenge(
    { challengeId: 'ch-bad', authzId: authz.id },
    { status: 'invalid', error: JSON.stringify(error) },
    now,
  );
  const [e] = await eventsWithId('evt_vfail_ch-bad');
  assert.equal(e?.type, 'validation.failed');
  assert.deepEqual(e?.data.problem, error);
  assert.deepEqual(e?.data.identifier, { type: 'dns', value: 'v.example.internal' });
  await edge.svc.orders.finishChallenge(
    { challengeId: 'ch-good', authzId: authz.id },
    { status: 'valid' },
    now,
  );
  assert.deepEqual(await eventsWithId('evt_vfail_ch-good'), []);
});
