// GCRA (the generic cell rate algorithm, a token bucket kept as one timestamp) in the shared
// database, so every edge instance draws from the same bucket. A limit of `count` per `window`
// admits one request every window/count on average and a burst of up to `count`. Taking a token is
// one guarded upsert: it changed a row iff the request fits, however many instances race.
import { lt, sql } from 'drizzle-orm';
import { rateBuckets } from './admin-schema.ts';
import { type Db, rowBy, rowsAffected } from './db.ts';
import type { Limit } from './settings.ts';

export type Take = { ok: true } | { ok: false; retryAfterSeconds: number };

export interface Bucket {
  /** takes one token from the bucket `key` under `limit` */
  take(key: string, limit: Limit, now?: number): Promise<Take>;
  /** whether a take would succeed now, without taking (a throttle checked before the work) */
  peek(key: string, limit: Limit, now?: number): Promise<Take>;
  /** gives back a token taken by a request that was refused for another reason */
  refund(key: string, limit: Limit): Promise<void>;
  /** deletes buckets that are full again (their state says nothing any more) */
  prune(now?: number): Promise<number>;
}

const interval = (l: Limit) => Math.max(1, Math.floor((l.windowSeconds * 1000) / Math.max(1, l.count)));

export function createBucket(db: Db): Bucket {
  // Prepared once: newOrder takes a token on every call. In the upsert, `tat` is the stored row's.
  const p = sql.placeholder;
  const takeStmt = db
    .insert(rateBuckets)
    .values({ key: p('key'), tat: p('first') })
    .onConflictDoUpdate({
      target: rateBuckets.key,
      set: { tat: sql`max(tat, ${p('now')}) + ${p('t')}` },
      setWhere: sql`max(tat, ${p('now')}) + ${p('t')} - ${p('now')} <= ${p('window')}`,
    })
    .prepare();
  const bucketOf = rowBy<typeof rateBuckets.$inferSelect>(db, rateBuckets, rateBuckets.key);
  let sincePrune = 0;
  const prune = async (now = Date.now()) =>
    rowsAffected(await db.delete(rateBuckets).where(lt(rateBuckets.tat, now)));
  return {
    prune,
    async take(key, limit, now = Date.now()) {
      if (limit.count <= 0) return { ok: false, retryAfterSeconds: limit.windowSeconds };
      const t = interval(limit);
      const window = limit.windowSeconds * 1000;
      const res = await takeStmt.run({ key, first: now + t, now, t, window });
      if (++sincePrune >= 500) {
        sincePrune = 0;
        await prune(now);
      }
      if (rowsAffected(res) === 1) return { ok: true };
      const row = await bucketOf(key);
      const waitMs = row ? row.tat + t - window - now : t;
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
    },
    async peek(key, limit, now = Date.now()) {
      if (limit.count <= 0) return { ok: false, retryAfterSeconds: limit.windowSeconds };
      const t = interval(limit);
      const window = limit.windowSeconds * 1000;
      const row = await bucketOf(key);
      if (!row || Math.max(row.tat, now) + t - now <= window) return { ok: true };
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((row.tat + t - window - now) / 1000)) };
    },
    async refund(key, limit) {
      await db.run(sql`UPDATE rate_buckets SET tat = tat - ${interval(limit)} WHERE key = ${key}`);
    },
  };
}
