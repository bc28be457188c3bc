// The store's statement counter (EDGECA_SQL_STATEMENT_METRICS): what one issuance's store calls
// run, by kind, on a real libSQL file. The counter wraps the Engine interface, so PostgreSQL is
// counted by the same code.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { StatementCounts } from '../../shared/sql-statements.ts';
import { SignerStore } from './store.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgeca-store-count-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('counts the statements and transactions of an issuance by kind, and changes nothing it runs', async () => {
  const statements = new StatementCounts();
  const store = await SignerStore.open(`file:${join(dir, 'a.db')}`, { issuer: 'a'.repeat(64), statements });
  try {
    const before = statements.snapshot();
    const now = Date.now();
    const r = await store.recordJtiAndIntent('jti-1', Math.floor(now / 1000) + 60, {
      orderId: 'o1',
      serial: '7f01',
      issuer: 'a'.repeat(64),
      csrHash: 'h',
      tbs: new Uint8Array([1, 2, 3]),
      identifiers: [{ type: 'dns', value: 'a.test' }],
      profile: 'default',
      accountId: 'acc',
      notBefore: new Date(now),
      notAfter: new Date(now + 86_400_000),
    });
    assert.deepEqual(r, { jtiFresh: true, intentInserted: true });
    assert.equal(await store.markIssued('o1', new Uint8Array([4]), 'PEM', { orderId: 'o1' }), true);
    assert.equal((await store.byOrder('o1'))?.status, 'issued');
    const delta = new Map<string, number>();
    for (const [k, n] of statements.snapshot()) {
      const d = n - (before.get(k) ?? 0);
      if (d) delta.set(k, d);
    }
    // two write transactions: jti + intent, then the certificate with its audit row
    assert.equal(delta.get('transaction'), 2);
    assert.equal(delta.get('insert relay_jti'), 1);
    assert.equal(delta.get('insert issuance'), 1);
    assert.equal(delta.get('update issuance'), 1);
    assert.equal(delta.get('insert audit_log'), 1);
    assert.equal(delta.get('select issuance'), 1);
    assert.ok((await store.verifyAudit()).ok, 'the audit chain written through the counter verifies');
  } finally {
    await store.close();
  }
});
