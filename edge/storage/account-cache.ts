// Accounts read by `kid`, kept for a few seconds by this edge process (EDGECA_ACCOUNT_CACHE_S), so
// the requests of one issuance (newOrder, authorization, challenge, polls, finalize, certificate)
// read the account once rather than once each. Only a `valid` account whose key digest is known is
// kept; any other is read afresh on every request.
//
// What this edge changes it forgets at once (deactivation by the account or an admin, a key change,
// a key block), so its next request sees the change. Another edge process sharing the database sees
// it when its entry expires, at most the setting's seconds later: the hot requests may run that long
// for an account deactivated elsewhere, but the one that makes a certificate may not — finalize
// re-checks the account's status and key in the same guarded statement that starts it
// (edge/storage/orders.ts, beginFinalize) — and the rare requests that change the account or revoke
// (account update, key change, revokeCert) always read it afresh (docs/architecture.md).
import type { AccountRow } from './schema.ts';

/** Entries at most: a full cache drops its oldest entry (Map keeps insertion order). */
export const ACCOUNT_CACHE_MAX = 10_000;

export interface AccountCache {
  /** the account when this process read it less than the expiry ago and nothing forgot it since */
  get(id: string): AccountRow | undefined;
  /** a mark to take just before reading an account, for `put` */
  mark(): number;
  /**
   * Keeps a valid account with a key digest; any other row is not kept (and any entry dropped).
   * `mark` is `mark()` taken before the row was read: a row read before any later `forget` may be
   * the old one (a read racing a deactivation or key change on this process) and is not kept.
   */
  put(row: AccountRow, mark: number): void;
  /** drops the account's entry: call after any change to the account's status or key */
  forget(id: string): void;
  readonly size: number;
}

export function createAccountCache(opts: { ttlMs: number; max?: number; now?: () => number }): AccountCache {
  const max = opts.max ?? ACCOUNT_CACHE_MAX;
  const now = opts.now ?? Date.now;
  const entries = new Map<string, { row: AccountRow; until: number }>();
  // Bumped by every forget. Forgets are rare (a deactivation, a key change, a block), so refusing
  // every put whose read began before the last one costs an occasional read, and needs no list.
  let forgets = 0;
  return {
    get(id) {
      const e = entries.get(id);
      if (!e) return undefined;
      if (e.until <= now()) {
        entries.delete(id);
        return undefined;
      }
      return e.row;
    },
    mark: () => forgets,
    put(row, mark) {
      entries.delete(row.id);
      if (mark !== forgets || opts.ttlMs <= 0 || row.status !== 'valid' || row.keyDigest === null) return;
      while (entries.size >= max) {
        const oldest = entries.keys().next();
        if (oldest.done) break;
        entries.delete(oldest.value);
      }
      entries.set(row.id, { row, until: now() + opts.ttlMs });
    },
    forget(id) {
      forgets++;
      entries.delete(id);
    },
    get size() {
      return entries.size;
    },
  };
}
