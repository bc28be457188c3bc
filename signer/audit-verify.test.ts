// Signed checkpoints of the audit chain, on both store engines, against someone who can write to
// the database but not use the HSM: they edit a row and recompute every hash after it and the head
// (so the unkeyed chain verifies again), and audit-verify still fails, at the checkpoint the
// rewrite passed or at a checkpoint signature they cannot make. A retention purge up to a
// checkpoint keeps the rest verifiable from that checkpoint. The CA key here is a WebCrypto key
// behind the CaSigner interface (test/support/signer-service.ts); the integration test
// (test/integration/rotation.test.ts) does the same with the key in SoftHSM.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { auditEvents, rewriteFrom, rootOf, withIssuer } from '../test/support/audit-store.ts';
import { type SoftCa, softCa, testConfig } from '../test/support/signer-service.ts';
import { storeEngines } from '../test/support/store-engines.ts';
import { verifyAudit } from './audit-verify.ts';
import { CheckpointWriter, writeCheckpoint } from './service/checkpoints.ts';
import { issuerIdOf } from './service/issuers.ts';
import { GENESIS_HASH } from './store/audit.ts';
import { CHECKPOINT_DOMAIN, checkpointMessage } from './store/checkpoints.ts';

for (const engine of storeEngines('edgeca-audit-verify-')) {
  describe(`signed audit checkpoints on ${engine.name}`, { skip: engine.skip }, () => {
    let ca: SoftCa;
    /** A store with rows 1..11 (a registration and 10 events), a checkpoint at 6, and 5 more rows. */
    async function setUp() {
      ca ??= await softCa();
      const f = await engine.fresh();
      const store = await f.open();
      const issuer = await withIssuer(store, ca);
      await auditEvents(store, 5, 'before');
      const cp = await writeCheckpoint(store, issuer);
      await auditEvents(store, 5, 'after');
      return { f, store, issuer, cpSeq: cp?.seq ?? -1, raw: await f.raw() };
    }

    test('a chain with signed checkpoints verifies against the root', async () => {
      const { store, cpSeq, issuer } = await setUp();
      assert.equal(cpSeq, 6);
      const r = await verifyAudit(store, { roots: [rootOf(ca)] });
      assert.equal(r.ok, true, r.reason);
      assert.equal(r.rows, 11);
      assert.equal(r.checkpoints, 1);
      assert.equal(r.newestCheckpoint?.issuer, issuer.id);
      assert.equal(r.rowsAfterNewestCheckpoint, 5);
      await store.close();
    });

    test('a row rewritten with every later hash recomputed fails at the checkpoint the chain no longer passes through', async () => {
      const { store, raw } = await setUp();
      await rewriteFrom(raw, 3, '{"forged":true}');
      const r = await verifyAudit(store, { roots: [rootOf(ca)] });
      assert.equal(r.ok, false);
      // Every hash is consistent again: what fails is the signed head at row 6.
      assert.match(r.reason ?? '', /rows 1 to 6 were rewritten/);
      assert.equal(r.firstBadSeq, 1);
      await store.close();
    });

    test('the same rewrite with the checkpoint changed to match fails on its signature', async () => {
      const { store, raw, cpSeq } = await setUp();
      await rewriteFrom(raw, 3, '{"forged":true}');
      const [row] = await raw.all<{ hash: string }>('SELECT hash FROM audit_log WHERE seq = ?', [cpSeq]);
      await raw.run('UPDATE audit_checkpoint SET hash = ? WHERE seq = ?', [row?.hash ?? '', cpSeq]);
      const r = await verifyAudit(store, { roots: [rootOf(ca)] });
      assert.equal(r.ok, false);
      assert.match(r.reason ?? '', /signature of the checkpoint at row 6 does not verify/);
      await store.close();
    });

    test('a checkpoint re-signed with a key of their own does not chain to the root', async () => {
      const { store, raw, cpSeq } = await setUp();
      await rewriteFrom(raw, 3, '{"forged":true}');
      // They can write any issuer row they like into the store, and sign with their own key.
      const theirs = await softCa();
      const fake = await withIssuer(store, theirs);
      await raw.run('DELETE FROM audit_checkpoint WHERE seq = ?', [cpSeq]);
      await writeCheckpoint(store, fake);
      const r = await verifyAudit(store, { roots: [rootOf(ca)] });
      assert.equal(r.ok, false);
      assert.match(r.reason ?? '', /has no certificate chaining to the root/);
      await store.close();
    });

    test('issuers of two roots on one store: their checkpoints verify with both roots in the bundle, not with one', async () => {
      const { store } = await setUp();
      const second = await softCa();
      await auditEvents(store, 1, 'second');
      await writeCheckpoint(store, await withIssuer(store, second));
      const one = await verifyAudit(store, { roots: [rootOf(ca)] });
      assert.equal(one.ok, false);
      assert.match(one.reason ?? '', /has no certificate chaining to the root/);
      const both = await verifyAudit(store, { roots: [rootOf(ca), rootOf(second)] });
      assert.equal(both.ok, true, both.reason);
      assert.equal(both.checkpoints, 2);
      await store.close();
    });

    test('a rewrite after the newest checkpoint is not detected: the rows it covers are reported, and --max-age bounds them', async () => {
      const { store, raw, cpSeq } = await setUp();
      await rewriteFrom(raw, cpSeq + 2, '{"forged":true}');
      const r = await verifyAudit(store, { roots: [rootOf(ca)] });
      assert.equal(r.ok, true, 'the limit of checkpoints: rows after the newest are not covered');
      assert.equal(r.rowsAfterNewestCheckpoint, 5);
      await store.close();
    });

    test('rows cut from the tail, head moved back to match, fail behind a checkpoint', async () => {
      const { store, raw } = await setUp();
      await writeCheckpoint(store, { id: issuerIdOf(ca.issuerDer), signer: ca.signer }); // at row 11
      const [r9] = await raw.all<{ hash: string }>('SELECT hash FROM audit_log WHERE seq = 9');
      await raw.run('DELETE FROM audit_log WHERE seq > 9');
      await raw.run('UPDATE audit_head SET seq = 9, hash = ? WHERE id = 1', [r9?.hash ?? '']);
      const r = await verifyAudit(store, { roots: [rootOf(ca)] });
      assert.equal(r.ok, false);
      assert.match(r.reason ?? '', /names row 11, past the chain's end at row 9/);
      await store.close();
    });

    test('purged up to a checkpoint, the rest verifies from it; an edit after it is still found', async () => {
      const { store, raw, cpSeq } = await setUp();
      assert.equal(await store.checkpoints.purgeThrough(cpSeq), 6);
      await auditEvents(store, 2, 'later');
      const r = await verifyAudit(store, { roots: [rootOf(ca)] });
      assert.equal(r.ok, true, r.reason);
      assert.equal(r.anchoredAt, cpSeq);
      assert.equal(r.rows, 7);
      await assert.rejects(store.checkpoints.purgeThrough(8), /no checkpoint at row 8/);
      await raw.run(`UPDATE audit_log SET details = '{}' WHERE seq = 8`);
      const edited = await verifyAudit(store, { roots: [rootOf(ca)] });
      assert.equal(edited.ok, false);
      assert.equal(edited.firstBadSeq, 8);
      await store.close();
    });

    test('rows deleted from the start without a checkpoint to anchor the rest fail', async () => {
      const { store, raw } = await setUp();
      await raw.run('DELETE FROM audit_log WHERE seq <= 4');
      const r = await verifyAudit(store, { roots: [rootOf(ca)] });
      assert.equal(r.ok, false);
      assert.match(r.reason ?? '', /rows 1 to 4 are missing and no signed checkpoint anchors row 5/);
      await store.close();
    });

    test('signers write a checkpoint once checkpointRows rows were appended or checkpointSeconds passed, not before', async () => {
      ca ??= await softCa();
      const store = await (await engine.fresh()).open();
      const issuer = await withIssuer(store, ca);
      const writer = new CheckpointWriter({
        store,
        signingIssuer: () => issuer,
        config: { ...testConfig([], 'unused'), audit: { checkpointRows: 3, checkpointSeconds: 2 } },
        log: () => {},
      });
      assert.equal((await writer.maybeWrite('start', true))?.seq, 1, 'at start');
      await auditEvents(store, 2, 'x');
      assert.equal(await writer.maybeWrite('interval'), undefined, '2 rows, within the interval');
      await auditEvents(store, 1, 'x');
      const byRows = await writer.maybeWrite('interval');
      assert.equal(byRows?.seq, 4, '3 rows');
      assert.equal(await writer.maybeWrite('interval'), undefined, 'nothing new, not yet due');
      await new Promise((r) => setTimeout(r, 2100));
      const byTime = await writer.maybeWrite('interval');
      assert.equal(byTime?.seq, 4, 'the same head, signed again once the interval passed');
      assert.ok((byTime?.time ?? 0) > (byRows?.time ?? 0));
      const stored = await store.checkpoints.latest();
      assert.equal(stored?.time, byTime?.time, 'the newer signature of the same head replaced the older');
      assert.equal((await verifyAudit(store, { roots: [rootOf(ca)] })).ok, true);
      await store.close();
    });

    test('without a checkpoint only --allow-unsigned passes; a checkpoint older than --max-age fails', async () => {
      ca ??= await softCa();
      const store = await (await engine.fresh()).open();
      const issuer = await withIssuer(store, ca);
      await auditEvents(store, 3, 'x');
      assert.match((await verifyAudit(store, { roots: [rootOf(ca)] })).reason ?? '', /no signed checkpoint/);
      assert.equal((await verifyAudit(store, { allowUnsigned: true })).unsigned, true);
      assert.match((await verifyAudit(store, {})).reason ?? '', /no root certificate/);
      const cp = await writeCheckpoint(store, issuer);
      const fresh = await verifyAudit(store, { roots: [rootOf(ca)], maxAgeSeconds: 60 });
      assert.equal(fresh.ok, true, fresh.reason);
      const stale = await verifyAudit(store, {
        roots: [rootOf(ca)],
        maxAgeSeconds: 60,
        now: (cp?.time ?? 0) + 61_000,
      });
      assert.equal(stale.ok, false);
      assert.match(stale.reason ?? '', /newest signed checkpoint is 61 s old/);
      await store.close();
    });
  });
}

test('what a checkpoint signs starts with an ASCII letter, never a DER SEQUENCE (0x30)', () => {
  const msg = checkpointMessage({ seq: 1, hash: GENESIS_HASH, time: 0, issuer: 'a'.repeat(64) });
  assert.equal(msg[0], CHECKPOINT_DOMAIN.charCodeAt(0));
  assert.notEqual(msg[0], 0x30);
});
