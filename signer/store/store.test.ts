import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createClient } from '@libsql/client';
import { auditRowHash } from './audit.ts';
import { SignerStore } from './store.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgeca-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshUrl = (): string => `file:${join(dir, `s${++n}.db`)}`;

async function storeWithAudit(rows: number): Promise<{ url: string; store: SignerStore }> {
  const url = freshUrl();
  const store = await SignerStore.open(url);
  for (let i = 0; i < rows; i++) await store.auditEvent('refuse', { i, rule: 'dnsSuffixes' });
  return { url, store };
}

async function raw(url: string, stmt: string, args: (string | number)[] = []): Promise<void> {
  const c = createClient({ url });
  await c.execute({ sql: stmt, args });
  c.close();
}

const tampering: [string, (url: string) => Promise<void>, number | null][] = [
  ['verifies a clean chain', async () => {}, null],
  ['detects an edited row', (url) => raw(url, `UPDATE audit_log SET details = '{"i":99}' WHERE seq = 3`), 3],
  ['detects a deleted middle row', (url) => raw(url, 'DELETE FROM audit_log WHERE seq = 2'), 2],
  ['detects a deleted last row', (url) => raw(url, 'DELETE FROM audit_log WHERE seq = 5'), 5],
  [
    'detects a row inserted in the middle by renumbering',
    async (url) => {
      await raw(url, 'UPDATE audit_log SET seq = seq + 100 WHERE seq >= 3');
      await raw(url, 'UPDATE audit_log SET seq = seq - 99 WHERE seq >= 100');
      const c = createClient({ url });
      const prev = (await c.execute('SELECT hash FROM audit_log WHERE seq = 2')).rows[0]?.hash as string;
      const row = { seq: 3, time: Date.now(), event: 'sign', details: '{}' };
      await c.execute({
        sql: 'INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?)',
        args: [row.seq, row.time, row.event, row.details, prev, await auditRowHash(prev, row)],
      });
      c.close();
    },
    4,
  ],
  [
    'detects a well-hashed row appended behind the head',
    async (url) => {
      const c = createClient({ url });
      const prev = (await c.execute('SELECT hash FROM audit_log WHERE seq = 5')).rows[0]?.hash as string;
      const row = { seq: 6, time: Date.now(), event: 'sign', details: '{}' };
      await c.execute({
        sql: 'INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?)',
        args: [row.seq, row.time, row.event, row.details, prev, await auditRowHash(prev, row)],
      });
      c.close();
    },
    6,
  ],
];

for (const [name, tamper, badSeq] of tampering) {
  test(`audit chain ${name}`, async () => {
    const { url, store } = await storeWithAudit(5);
    await tamper(url);
    const got = await store.verifyAudit();
    store.close();
    assert.equal(got.ok, badSeq === null, got.reason);
    assert.equal(got.firstBadSeq, badSeq ?? undefined);
    if (badSeq !== null) assert.ok(got.reason);
  });
}

test('audit chain stays linear under 50 concurrent appends', async () => {
  const { store } = await storeWithAudit(0);
  await Promise.all(Array.from({ length: 50 }, (_, i) => store.auditEvent('replay', { i })));
  assert.deepEqual(await store.verifyAudit(), { ok: true, rows: 50 });
  store.close();
});

test('two stores on one file append to one chain', async () => {
  const url = freshUrl();
  const a = await SignerStore.open(url);
  const b = await SignerStore.open(url);
  for (let i = 0; i < 10; i++) await Promise.all([a.auditEvent('sign', { i }), b.auditEvent('crl', { i })]);
  assert.deepEqual(await a.verifyAudit(), { ok: true, rows: 20 });
  a.close();
  b.close();
});

test('a replayed jti is refused, also after reopening the database', async () => {
  const url = freshUrl();
  const exp = Math.floor(Date.now() / 1000) + 60;
  const s1 = await SignerStore.open(url);
  assert.equal(await s1.recordJti('jti-00000001', exp), true);
  assert.equal(await s1.recordJti('jti-00000001', exp), false);
  s1.close();
  const s2 = await SignerStore.open(url);
  assert.equal(await s2.recordJti('jti-00000001', exp), false);
  assert.equal(await s2.recordJti('jti-00000002', exp), true);
  s2.close();
});

test('an intent is recorded once, issued once, revoked once, each audited', async () => {
  const store = await SignerStore.open(freshUrl());
  const intent = {
    orderId: 'o1',
    serial: '01ab',
    csrHash: 'h',
    tbs: new Uint8Array([1, 2, 3]),
    identifiers: [{ type: 'dns' as const, value: 'a.test' }],
    profile: 'default',
    accountId: 'acct',
    notBefore: new Date(),
    notAfter: new Date(Date.now() + 3600_000),
  };
  assert.equal(await store.insertIntent(intent), true);
  assert.equal(await store.insertIntent({ ...intent, serial: '02' }), false);
  assert.equal((await store.byOrder('o1'))?.status, 'intent');
  assert.equal(await store.markRevoked('01ab', 1, new Date(), {}), false, 'an intent cannot be revoked');
  assert.equal(await store.markIssued('o1', new Uint8Array([9]), 'PEM', { serial: '01ab' }), true);
  assert.equal(await store.markIssued('o1', new Uint8Array([8]), 'PEM2', { serial: '01ab' }), false);
  const row = await store.bySerial('01ab');
  assert.equal(row?.status, 'issued');
  assert.deepEqual([...(row?.certDer ?? [])], [9]);
  assert.deepEqual([...(row?.tbs ?? [])], [1, 2, 3]);
  assert.equal(await store.markRevoked('01ab', 1, new Date(), {}), true);
  assert.equal(await store.markRevoked('01ab', 1, new Date(), {}), false);
  assert.equal((await store.revokedUnexpired(new Date())).length, 1);
  assert.deepEqual(await store.verifyAudit(), { ok: true, rows: 2 });
  store.close();
});

test('a CRL with a number not above the stored one is not saved', async () => {
  const store = await SignerStore.open(freshUrl());
  const crl = { crlNumber: 2, thisUpdate: 1, nextUpdate: 2, der: new Uint8Array([1]) };
  assert.equal(await store.saveCrl(crl, { n: 2 }), true);
  assert.equal(await store.saveCrl({ ...crl, crlNumber: 2 }, { n: 2 }), false);
  assert.equal(await store.saveCrl({ ...crl, crlNumber: 3 }, { n: 3 }), true);
  assert.equal((await store.currentCrl())?.crlNumber, 3);
  assert.deepEqual(await store.verifyAudit(), { ok: true, rows: 2 });
  store.close();
});

const intentFor = (i: number) => ({
  orderId: `g${i}`,
  serial: (0x1000 + i).toString(16),
  csrHash: 'h',
  tbs: new Uint8Array([i & 0xff]),
  identifiers: [{ type: 'dns' as const, value: `g${i}.test` }],
  profile: 'default',
  accountId: 'acct',
  notBefore: new Date(),
  notAfter: new Date(Date.now() + 3600_000),
});

test('concurrent issuances share commits and still leave one unbroken audit chain', async () => {
  const store = await SignerStore.open(freshUrl());
  for (let i = 0; i < 40; i++) assert.equal(await store.insertIntent(intentFor(i)), true);
  const applied = await Promise.all(
    Array.from({ length: 40 }, (_, i) =>
      store.markIssued(`g${i}`, new Uint8Array([i]), `PEM${i}`, { serial: intentFor(i).serial }),
    ),
  );
  assert.deepEqual(applied, Array(40).fill(true));
  assert.deepEqual(await store.verifyAudit(), { ok: true, rows: 40 });
  store.close();
});

test('a guarded change that lost its race in a group records nothing, and the others are recorded', async () => {
  const store = await SignerStore.open(freshUrl());
  for (let i = 0; i < 6; i++) assert.equal(await store.insertIntent(intentFor(i)), true);
  assert.equal(await store.markIssued('g3', new Uint8Array([3]), 'PEM3', {}), true);
  const applied = await Promise.all(
    Array.from({ length: 6 }, (_, i) => store.markIssued(`g${i}`, new Uint8Array([i]), `again${i}`, {})),
  );
  assert.deepEqual(applied, [true, true, true, false, true, true]);
  assert.equal((await store.byOrder('g3'))?.chainPem, 'PEM3');
  assert.deepEqual(await store.verifyAudit(), { ok: true, rows: 6 });
  store.close();
});

test('a jti and an intent are recorded together; a replayed jti records no intent', async () => {
  const store = await SignerStore.open(freshUrl());
  const exp = Math.floor(Date.now() / 1000) + 60;
  assert.deepEqual(await store.recordJtiAndIntent('j1', exp, intentFor(1)), {
    jtiFresh: true,
    intentInserted: true,
  });
  assert.deepEqual(await store.recordJtiAndIntent('j1', exp, intentFor(2)), {
    jtiFresh: false,
    intentInserted: false,
  });
  assert.equal(await store.byOrder('g2'), undefined);
  assert.deepEqual(await store.recordJtiAndIntent('j2', exp, { ...intentFor(1), serial: 'ff' }), {
    jtiFresh: true,
    intentInserted: false,
  });
  assert.equal((await store.byOrder('g1'))?.serial, intentFor(1).serial);
  store.close();
});
