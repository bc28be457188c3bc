// The account cache on its own: what it keeps, for how long, how much, and that a read racing a
// change is not kept.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAccountCache } from './account-cache.ts';
import type { AccountRow } from './schema.ts';

const row = (id: string, o: Partial<AccountRow> = {}): AccountRow => ({
  id,
  thumbprint: `t-${id}`,
  jwk: '{}',
  status: 'valid',
  contact: '[]',
  tosAgreed: true,
  eabKid: null,
  keyDigest: `d-${id}`,
  createdAt: 0,
  ...o,
});

describe('account cache', () => {
  it('keeps a valid account until its expiry, then reads as absent', () => {
    let t = 1000;
    const cache = createAccountCache({ ttlMs: 3000, now: () => t });
    cache.put(row('a'), cache.mark());
    t += 2999;
    assert.equal(cache.get('a')?.id, 'a');
    t += 1;
    assert.equal(cache.get('a'), undefined);
    assert.equal(cache.size, 0);
  });

  it('keeps no account that is not valid, none without a key digest, and nothing with expiry 0', () => {
    const cache = createAccountCache({ ttlMs: 3000 });
    cache.put(row('a'), cache.mark());
    cache.put(row('a', { status: 'deactivated' }), cache.mark());
    assert.equal(cache.get('a'), undefined, 'a deactivated row also drops the valid one kept before');
    cache.put(row('b', { status: 'revoked' }), cache.mark());
    cache.put(row('c', { keyDigest: null }), cache.mark());
    assert.equal(cache.size, 0);
    const off = createAccountCache({ ttlMs: 0 });
    off.put(row('a'), off.mark());
    assert.equal(off.get('a'), undefined);
  });

  it('holds at most `max` entries, dropping the oldest', () => {
    const cache = createAccountCache({ ttlMs: 3000, max: 2 });
    for (const id of ['a', 'b', 'c']) cache.put(row(id), cache.mark());
    assert.equal(cache.size, 2);
    assert.equal(cache.get('a'), undefined);
    assert.equal(cache.get('c')?.id, 'c');
  });

  it('forgets an account, and does not keep a row read before that forget', () => {
    const cache = createAccountCache({ ttlMs: 3000 });
    cache.put(row('a'), cache.mark());
    const before = cache.mark();
    cache.forget('a');
    assert.equal(cache.get('a'), undefined);
    // a read that began before the forget (it may have seen the old status or key) is not kept
    cache.put(row('a'), before);
    assert.equal(cache.get('a'), undefined);
    cache.put(row('a'), cache.mark());
    assert.equal(cache.get('a')?.id, 'a');
  });
});
