// The policy tables (rate limits, their overrides, name policies) are read whole once per
// SETTINGS_CACHE_MS, however many accounts and names ask; a change made through this instance's
// settings store is seen by its next lookup; and a table too large to hold is read per lookup, with
// the same answers. Statements are counted by the edge's own SQL counter.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type InprocEdge, startInprocEdge } from '../../test/support/edge-app.ts';
import type { Limit, Stmt } from './settings.ts';
import { TABLE_IN_MEMORY } from './settings.ts';

let edge: InprocEdge;

function counts(): Map<string, number> {
  const s = edge.svc.database.statements;
  assert.ok(s, 'statement counting is on');
  return s.snapshot();
}

/** Statements of `kind` run by `f`. */
async function ran(kind: string, f: () => Promise<unknown>): Promise<number> {
  const before = counts().get(kind) ?? 0;
  await f();
  return (counts().get(kind) ?? 0) - before;
}

async function commit(stmts: Stmt[]): Promise<void> {
  const { admin } = await edge.svc.stores();
  await admin.commit(stmts, { tokenId: 'cli', action: 'test', target: 't', before: null, after: null });
}

describe('policy tables held by the settings cache', () => {
  before(async () => {
    edge = await startInprocEdge({ config: { sqlStatementMetrics: true } });
  });
  after(() => edge.close());

  it('reads the limits and overrides once for lookups by many accounts, and sees a change at once', async () => {
    const { settings } = await edge.svc.stores();
    await commit([
      settings.putLimit('newOrdersPerAccount', { count: 10, windowSeconds: 60 }),
      settings.putOverride({ name: 'newOrdersPerAccount', scope: 'account:a2', count: 3, windowSeconds: 60 }),
    ]);
    const got: (Limit | undefined)[] = [];
    const lookups = async () => {
      for (const id of ['a1', 'a2', 'a3', 'a4'])
        got.push(await settings.limitFor('newOrdersPerAccount', [`account:${id}`]));
    };
    assert.equal(await ran('select rate_limit_overrides', lookups), 1);
    assert.deepEqual(got, [
      { count: 10, windowSeconds: 60 },
      { count: 3, windowSeconds: 60 },
      { count: 10, windowSeconds: 60 },
      { count: 10, windowSeconds: 60 },
    ]);
    assert.equal(await ran('select rate_limits', lookups), 0, 'held');
    // a limit with no row (off) is answered by the held table too
    const none: (Limit | undefined)[] = [];
    const off = async () => {
      for (const id of ['a1', 'a2'])
        none.push(await settings.limitFor('certificatesPerDomain', [`account:${id}`]));
    };
    assert.equal(await ran('select rate_limits', off), 0, 'held, no row');
    assert.deepEqual(none, [undefined, undefined]);
    await commit([
      settings.putOverride({ name: 'newOrdersPerAccount', scope: 'account:a3', count: 5, windowSeconds: 9 }),
    ]);
    assert.deepEqual(await settings.limitFor('newOrdersPerAccount', ['account:a3']), {
      count: 5,
      windowSeconds: 9,
    });
    await commit([settings.deleteLimit('newOrdersPerAccount')]);
    assert.equal(await settings.limitFor('newOrdersPerAccount', ['account:a1']), undefined);
  });

  it('reads the name policies once for lookups of many names, and sees a change at once', async () => {
    const { settings } = await edge.svc.stores();
    await commit([settings.putPolicy('example.test', { allow: ['*.example.test'], deny: [] })]);
    const reads = await ran('select name_policies', async () => {
      for (const n of ['a', 'b', 'c']) await settings.policiesOf([`${n}.example.test`, 'example.test']);
    });
    assert.ok(reads <= 1, `${reads} reads`);
    await commit([settings.putPolicy('b.example.test', { allow: [], deny: ['b.example.test'] })]);
    assert.deepEqual(await settings.policiesOf(['b.example.test', 'example.test']), [
      { scope: 'b.example.test', policy: { allow: [], deny: ['b.example.test'] } },
      { scope: 'example.test', policy: { allow: ['*.example.test'], deny: [] } },
    ]);
  });

  it('gives the same answers when the overrides are too many to hold', async () => {
    const { settings } = await edge.svc.stores();
    const many: Stmt[] = [];
    for (let i = 0; i <= TABLE_IN_MEMORY; i++)
      many.push(
        settings.putOverride({
          name: 'failedValidationsPerAccount',
          scope: `account:m${i}`,
          count: i + 1,
          windowSeconds: 60,
        }),
      );
    await commit(many);
    assert.deepEqual(await settings.limitFor('failedValidationsPerAccount', ['account:m7']), {
      count: 8,
      windowSeconds: 60,
    });
    assert.deepEqual(await settings.limitFor('newOrdersPerAccount', ['account:a3']), {
      count: 5,
      windowSeconds: 9,
    });
  });
});
