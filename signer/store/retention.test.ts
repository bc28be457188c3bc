// The purge of the signer's store on both engines (an embedded libSQL file and a real PostgreSQL):
// issuance rows past their retention go, rows inside it and revoked certificates that have not
// expired stay (their CRL lists them); statements delete at most one batch; audit rows go only up
// to a signed checkpoint, which anchors the rest, so audit-verify passes after a purge and still
// finds a row changed inside the range kept; a chain already broken, or a checkpoint not signed by
// an issuer's key, stops the audit purge and leaves the evidence in place.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StatementCounts } from '../../shared/sql-statements.ts';
import { auditEvents, rewriteFrom, rootOf, withIssuer } from '../../test/support/audit-store.ts';
import { type SoftCa, softCa } from '../../test/support/signer-service.ts';
import { storeEngines } from '../../test/support/store-engines.ts';
import { verifyAudit } from '../audit-verify.ts';
import { writeCheckpoint } from '../service/checkpoints.ts';
import { StorePurger } from '../service/retention.ts';
import { intOf, LONG_WORK_MS } from './sql.ts';
import type { NewIntent, SignerStore } from './store.ts';

const DAY = 86_400_000;
function intent(orderId: string, notAfter: number): NewIntent {
  return {
    orderId,
    serial: `5e${Buffer.from(orderId).toString('hex')}`,
    issuer: 'issuer-1',
    csrHash: 'h',
    tbs: new Uint8Array([1, 2, 3]),
    identifiers: [{ type: 'dns', value: `${orderId}.test` }],
    profile: 'default',
    accountId: 'acct',
    notBefore: new Date(notAfter - DAY),
    notAfter: new Date(notAfter),
  };
}

async function issued(store: SignerStore, orderId: string, notAfter: number, revoked = false): Promise<void> {
  assert.ok(await store.insertIntent(intent(orderId, notAfter)));
  assert.ok(await store.markIssued(orderId, new Uint8Array([4]), '', { orderId }));
  if (revoked) {
    const serial = intent(orderId, notAfter).serial;
    assert.ok(await store.markRevoked(serial, 1, new Date(notAfter - DAY / 2), { serial }));
  }
}

for (const engine of storeEngines('edgeca-signer-retention-')) {
  describe(`purge of the signer's store on ${engine.name}`, { skip: engine.skip }, () => {
    let ca: SoftCa;

    test('issuance rows past their retention go; rows inside it and unexpired revoked ones stay', async () => {
      const store = await (await engine.fresh()).open();
      const now = Date.now();
      await issued(store, 'old', now - 91 * DAY);
      await issued(store, 'old-revoked', now - 100 * DAY, true);
      assert.ok(await store.insertIntent(intent('old-intent', now - 95 * DAY)));
      await issued(store, 'recent', now - 89 * DAY);
      await issued(store, 'live-revoked', now + 10 * DAY, true);
      assert.ok(await store.insertIntent(intent('live-intent', now + DAY)));
      const r = await store.purgeExpired({ issuanceDays: 90, auditDays: null }, { now });
      assert.equal(r.issuance, 3);
      for (const gone of ['old', 'old-revoked', 'old-intent'])
        assert.equal(await store.byOrder(gone), undefined, gone);
      for (const kept of ['recent', 'live-revoked', 'live-intent'])
        assert.ok(await store.byOrder(kept), kept);
      // retention 0: what expired goes at once, a revoked certificate still not before its notAfter
      const zero = await store.purgeExpired({ issuanceDays: 0, auditDays: null }, { now });
      assert.equal(zero.issuance, 1);
      assert.equal(await store.byOrder('recent'), undefined);
      const crl = await store.revokedUnexpired('issuer-1', new Date(now));
      assert.deepEqual(
        crl.map((e) => e.serial),
        [intent('live-revoked', 0).serial],
        'the CRL still lists it',
      );
      await store.close();
    });

    test('each DELETE removes at most one batch; a run stops at its budget and the next goes on', async () => {
      const f = await engine.fresh();
      const statements = new StatementCounts();
      const store = await f.open({ statements });
      const raw = await f.raw();
      const now = Date.now();
      await raw.transaction(
        async (tx) => {
          for (let i = 0; i < 1200; i++) {
            await tx.run(
              `INSERT INTO issuance (order_id, serial, issuer, csr_hash, tbs, status, identifiers, profile, account_id,
               not_before, not_after, created_at) VALUES (?, ?, 'i', 'h', ?, 'intent', '[]', 'p', 'a', 0, ?, 0)`,
              [`bulk-${i}`, `bb${i}`, new Uint8Array([1]), now - 200 * DAY + i],
            );
          }
          // 1200 inserts may take longer than a request's deadline on a busy machine
        },
        { deadlineMs: LONG_WORK_MS },
      );
      const deletes = () => statements.snapshot().get('delete issuance') ?? 0;
      let t = 0;
      const first = await store.purgeExpired(
        { issuanceDays: 90, auditDays: null },
        { now, batch: 500, budgetMs: 1500, clock: () => (t += 1000) },
      );
      assert.equal(first.unfinished, true);
      assert.equal(first.issuance, 500);
      assert.equal(deletes(), 1);
      const second = await store.purgeExpired({ issuanceDays: 90, auditDays: null }, { now, batch: 500 });
      assert.equal(second.unfinished, false);
      assert.equal(second.issuance, 700);
      assert.equal(deletes(), 3, 'two more statements: 500 and 200 rows');
      const [left] = await raw.all<{ n: unknown }>('SELECT COUNT(*) AS n FROM issuance');
      assert.equal(intOf(left?.n), 0);
      await store.close();
    });

    /** Rows 1..14: an issuer registration and events, checkpoints at 6 and 11, 3 rows after. */
    async function auditSetUp(o: { statements?: StatementCounts } = {}) {
      ca ??= await softCa();
      const f = await engine.fresh();
      const store = await f.open(o);
      const issuer = await withIssuer(store, ca);
      await auditEvents(store, 5, 'a');
      await writeCheckpoint(store, issuer);
      await auditEvents(store, 5, 'b');
      await writeCheckpoint(store, issuer);
      await auditEvents(store, 3, 'c');
      return { store, issuer, raw: await f.raw() };
    }

    const lines: Record<string, unknown>[] = [];
    const purgerOf = (store: SignerStore, auditDays = 0) =>
      new StorePurger({ store, config: { retention: { auditDays } }, log: (l) => lines.push(l) });

    test('audit rows go up to the newest due checkpoint, in bounded statements; audit-verify passes from it', async () => {
      const statements = new StatementCounts();
      const { store } = await auditSetUp({ statements });
      const before = await verifyAudit(store, { roots: [rootOf(ca)] });
      assert.equal(before.ok, true, before.reason);
      // checkpoints taken now count as due with auditDays 0 a moment later
      const r = await purgerOf(store).run({ now: Date.now() + 1000, batch: 4 });
      assert.equal(r?.audit, 11);
      assert.equal(r?.anchoredAt, 11);
      // rows 1..6 in statements of 4 and 2, rows 7..11 of 4 and 1
      assert.equal(statements.snapshot().get('delete audit_log'), 4);
      const after = await verifyAudit(store, { roots: [rootOf(ca)] });
      assert.equal(after.ok, true, after.reason);
      assert.equal(after.anchoredAt, 11);
      assert.equal(after.rows, 3);
      assert.ok(lines.some((l) => l.event === 'purge' && l.auditAnchoredAt === 11));
      await store.close();
    });

    test('audit rows newer than auditDays stay', async () => {
      const { store } = await auditSetUp();
      const r = await purgerOf(store, 1).run();
      assert.equal(r?.audit, 0);
      assert.equal((await verifyAudit(store, { roots: [rootOf(ca)] })).rows, 14);
      await store.close();
    });

    test('after a purge, a row changed inside the range kept is found', async () => {
      const { store, issuer, raw } = await auditSetUp();
      await purgerOf(store).run({ now: Date.now() + 1000 });
      await raw.run(`UPDATE audit_log SET details = '{"forged":true}' WHERE seq = 13`);
      const edited = await verifyAudit(store, { roots: [rootOf(ca)] });
      assert.equal(edited.ok, false);
      assert.equal(edited.firstBadSeq, 13);
      // rewritten with every later hash recomputed, behind a checkpoint signed before the rewrite
      await raw.run(`UPDATE audit_log SET details = ? WHERE seq = 13`, [JSON.stringify({ tag: 'c', i: 1 })]);
      await writeCheckpoint(store, issuer);
      const [anchor] = await raw.all<{ hash: string }>('SELECT hash FROM audit_checkpoint WHERE seq = 11');
      await rewriteFrom(raw, 12, '{}', anchor?.hash ?? '');
      const rewritten = await verifyAudit(store, { roots: [rootOf(ca)] });
      assert.equal(rewritten.ok, false);
      assert.match(rewritten.reason ?? '', /rows 12 to 14 were rewritten/);
      await store.close();
    });

    test('a chain already broken before the checkpoint is not purged: the evidence stays', async () => {
      const { store, raw } = await auditSetUp();
      await raw.run(`UPDATE audit_log SET details = '{"forged":true}' WHERE seq = 3`);
      const r = await purgerOf(store).run({ now: Date.now() + 1000 });
      assert.equal(r?.audit, 0);
      assert.match(r?.auditRefused ?? '', /audit row 3 does not chain/);
      const v = await verifyAudit(store, { roots: [rootOf(ca)] });
      assert.equal(v.ok, false);
      assert.equal(v.firstBadSeq, 3);
      await store.close();
    });

    test('a checkpoint not signed by its issuer key anchors no purge', async () => {
      const { store, raw } = await auditSetUp();
      // someone with write access to the database, not the HSM, writes a checkpoint of their own
      await raw.run('UPDATE audit_checkpoint SET signature = ? WHERE seq = 6', [new Uint8Array(64)]);
      const r = await purgerOf(store).run({ now: Date.now() + 1000 });
      assert.equal(r?.audit, 0);
      assert.match(r?.auditRefused ?? '', /checkpoint at row 6 does not verify/);
      const [n] = await raw.all<{ n: unknown }>('SELECT COUNT(*) AS n FROM audit_log');
      assert.equal(intOf(n?.n), 14);
      await store.close();
    });
  });
}
