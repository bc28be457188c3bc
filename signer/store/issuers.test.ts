// The issuers table on both engines: states move one way, activation retires exactly the active
// issuer of the same key type in one transaction with its audit row, a retiring issuer retires only
// after its last certificate expired, and an activation that fails half-way changes nothing.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { storeEngines } from '../../test/support/store-engines.ts';
import type { NewIntent } from './store.ts';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const R = 'c'.repeat(64);
const cert = (b: number) => Uint8Array.of(0x30, 1, b);

const intent = (issuer: string, notAfter: Date): NewIntent => ({
  orderId: `o-${issuer.slice(0, 4)}-${notAfter.getTime()}`,
  serial: `${notAfter.getTime().toString(16)}01`,
  issuer,
  csrHash: 'h',
  tbs: Uint8Array.of(1),
  identifiers: [{ type: 'dns', value: 'x.test' }],
  profile: 'default',
  accountId: 'acct',
  notBefore: new Date(notAfter.getTime() - 3600_000),
  notAfter,
});

for (const engine of storeEngines('edgeca-issuers-')) {
  describe(`issuers on ${engine.name}`, { skip: engine.skip }, () => {
    test('an issuer registers once; activating a pending one retires only the active issuer of its key type', async () => {
      const f = await engine.fresh();
      const store = await f.open();
      const base = { chainPem: '', crlUrl: null } as const;
      assert.equal(
        await store.issuers.register(
          { id: A, keyLabel: 'a', keyType: 'EC-P256', state: 'active', certDer: cert(1), ...base },
          {},
        ),
        true,
      );
      assert.equal(
        await store.issuers.register(
          { id: A, keyLabel: 'a2', keyType: 'EC-P256', state: 'pending', ...base },
          {},
        ),
        false,
        'known already',
      );
      await store.issuers.register(
        { id: R, keyLabel: 'r', keyType: 'RSA-3072', state: 'active', certDer: cert(2), ...base },
        {},
      );
      await store.issuers.register(
        { id: B, keyLabel: 'b', keyType: 'EC-P256', state: 'pending', ...base },
        {},
      );
      assert.equal((await store.issuers.get(B))?.certDer, null);
      assert.deepEqual(await store.issuers.activate(B, cert(3), 'CHAIN', { id: B }), [A]);
      assert.equal(await store.issuers.activate(B, cert(4), '', { id: B }), undefined, 'active already');
      assert.equal(await store.issuers.activate('d'.repeat(64), cert(4), '', {}), undefined, 'unknown');
      const states = Object.fromEntries((await store.issuers.list()).map((r) => [r.id, r.state]));
      assert.deepEqual(states, { [A]: 'retiring', [R]: 'active', [B]: 'active' });
      const b = await store.issuers.get(B);
      assert.deepEqual([...(b?.certDer ?? [])], [...cert(3)]);
      assert.equal(b?.chainPem, 'CHAIN');
      assert.ok((b?.activatedAt ?? 0) > 0);
      const raw = await f.raw();
      const [row] = await raw.all<{ details: string }>(
        `SELECT details FROM audit_log WHERE event = 'issuer' AND details LIKE '%activate%'`,
      );
      assert.deepEqual(JSON.parse(row?.details ?? '{}').retired, [A], 'the audit row names what it retired');
      assert.equal((await store.verifyAudit()).ok, true);
      const C = 'e'.repeat(64);
      await store.issuers.register(
        { id: C, keyLabel: 'c', keyType: 'EC-P384', state: 'pending', ...base },
        {},
      );
      assert.deepEqual(
        await store.issuers.activate(C, cert(5), '', {}, [R]),
        [R],
        'a key type change names what it replaces',
      );
      assert.equal((await store.issuers.get(B))?.state, 'active', 'another key type, not named: untouched');
      await store.close();
    });

    test('a retiring issuer retires once its last certificate has expired, not before', async () => {
      const store = await (await engine.fresh()).open();
      const base = { chainPem: '', crlUrl: null, keyType: 'EC-P256' } as const;
      await store.issuers.register({ id: A, keyLabel: 'a', state: 'active', certDer: cert(1), ...base }, {});
      await store.issuers.register({ id: B, keyLabel: 'b', state: 'pending', ...base }, {});
      const now = Date.now();
      assert.equal(await store.insertIntent(intent(A, new Date(now + 3600_000))), true);
      assert.equal(await store.issuers.retireIfDone(A, now), false, 'still active');
      await store.issuers.activate(B, cert(2), '', {});
      assert.equal(await store.issuers.lastNotAfter(A), now + 3600_000);
      assert.equal(await store.issuers.retireIfDone(A, now), false, 'a certificate is unexpired');
      assert.equal(await store.issuers.retireIfDone(A, now + 3600_001), true);
      assert.equal((await store.issuers.get(A))?.state, 'retired');
      assert.equal(await store.issuers.retireIfDone(A, now + 3600_001), false, 'once');
      assert.equal(await store.issuers.lastNotAfter(B), null);
      await store.close();
    });

    test('an activation that fails half-way leaves the old issuer active and the new one pending', async () => {
      const f = await engine.fresh();
      const store = await f.open();
      const base = { chainPem: '', crlUrl: null, keyType: 'EC-P256' } as const;
      await store.issuers.register({ id: A, keyLabel: 'a', state: 'active', certDer: cert(1), ...base }, {});
      await store.issuers.register({ id: B, keyLabel: 'b', state: 'pending', ...base }, {});
      const raw = await f.raw();
      const rowsBefore = await store.verifyAudit();
      // The failure is injected where it hurts most: after the new issuer's row was updated, when
      // the old one is being retired, inside the same transaction.
      if (engine.name === 'libSQL') {
        await raw.run(`CREATE TRIGGER fail_retire BEFORE UPDATE OF state ON issuers WHEN NEW.state = 'retiring'
          BEGIN SELECT RAISE(ABORT, 'injected failure'); END`);
      } else {
        await raw.run(`CREATE FUNCTION fail_retire() RETURNS trigger LANGUAGE plpgsql AS
          'BEGIN RAISE EXCEPTION ''injected failure''; END'`);
        await raw.run(`CREATE TRIGGER fail_retire BEFORE UPDATE ON issuers FOR EACH ROW
          WHEN (NEW.state = 'retiring') EXECUTE FUNCTION fail_retire()`);
      }
      await assert.rejects(store.issuers.activate(B, cert(2), '', {}), /injected failure/);
      assert.equal((await store.issuers.get(A))?.state, 'active');
      const b = await store.issuers.get(B);
      assert.equal(b?.state, 'pending');
      assert.equal(b?.certDer, null);
      const after = await store.verifyAudit();
      assert.equal(after.ok, true);
      assert.equal(after.rows, rowsBefore.rows, 'no audit row for an activation that did not happen');
      await raw.run('DROP TRIGGER fail_retire' + (engine.name === 'PostgreSQL' ? ' ON issuers' : ''));
      assert.deepEqual(await store.issuers.activate(B, cert(2), '', {}), [A], 'and it can be done again');
      await store.close();
    });
  });
}
