// Purging what the edge no longer needs, so the database stops growing with every issuance. Each
// step deletes at most `batch` rows of one kind in one statement (or one atomic batch when rows of
// other tables hang off them), so a step holds the write lock for a few milliseconds and issuance
// runs between steps. The same SQL runs on an embedded libSQL file, remote libSQL and D1: rows are
// chosen by a subquery rather than bound lists of ids (D1 binds at most 100 parameters).
//
// What goes, and when (docs/operations.md has the operator's view):
// - used nonces once they expired (a nonce past its expiry is refused before the table is read);
// - rate-limit and login-throttle buckets that are full again (tat in the past: a missing row
//   means exactly the same to the GCRA);
// - orders that never produced a certificate (pending, ready, invalid) `expiredDays` after they
//   expired; a processing order is left to finalize's resume, whatever its age;
// - authorizations `expiredDays` after they expired, with their challenges and pre-authorization
//   marks (a live order never needs one: an authorization past its expiry fails the order);
// - certificates `certificateDays` after their notAfter, with the order that produced them and
//   their renewal-information row; a revoked certificate is never purged before its notAfter
//   (RFC 5280 §3.3 lets a CRL drop an entry only once the certificate expired). The order that
//   `replaces` a purged certificate keeps its certID text; newOrder then finds no such certificate,
//   as for any certificate this CA no longer knows;
// - change-log rows `changeLogDays` after they were written;
// - events `eventDays` after they happened, with their webhook deliveries, whatever the
//   deliveries' state (a receiver that has not taken an event in that long is not going to).
import { sql } from 'drizzle-orm';
import { type Db, rowsAffected } from './db.ts';

const DAY_MS = 86_400_000;

export interface RetentionPolicy {
  /** days an order that produced no certificate, or an authorization, is kept past its expiry */
  expiredDays: number;
  /** days a certificate (and its order) is kept past its notAfter */
  certificateDays: number;
  /** days a change-log row is kept */
  changeLogDays: number;
  /** days an event, and its webhook deliveries, is kept */
  eventDays: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = {
  expiredDays: 7,
  certificateDays: 90,
  changeLogDays: 365,
  eventDays: 30,
};

/** The kinds of rows purged, each counted on its own (edgeca_purged_rows_total{table}). */
export type PurgedTable =
  | 'nonces'
  | 'rate_buckets'
  | 'orders'
  | 'authorizations'
  | 'challenges'
  | 'preauthorizations'
  | 'certificates'
  | 'renewal_info'
  | 'admin_changes'
  | 'events'
  | 'webhook_deliveries';

export type PurgeCounts = Partial<Record<PurgedTable, number>>;

/**
 * One step: deletes at most `limit` rows of one kind (and what hangs off them). `more` is true when
 * it found a full batch, so another step may find more.
 */
export interface PurgeStep {
  name: string;
  run(db: Db, now: number, limit: number): Promise<{ counts: PurgeCounts; more: boolean }>;
}

/** The steps in the order a run takes them; other row kinds (events, deliveries) add theirs here. */
export function purgeSteps(policy: RetentionPolicy): PurgeStep[] {
  return [
    {
      name: 'nonces',
      async run(db, now, limit) {
        const n = rowsAffected(
          await db.run(sql`DELETE FROM nonces WHERE value IN
            (SELECT value FROM nonces WHERE expires_at < ${now} ORDER BY expires_at LIMIT ${limit})`),
        );
        return { counts: { nonces: n }, more: n >= limit };
      },
    },
    {
      name: 'rate_buckets',
      async run(db, now, limit) {
        const n = rowsAffected(
          await db.run(sql`DELETE FROM rate_buckets WHERE key IN
            (SELECT key FROM rate_buckets WHERE tat < ${now} ORDER BY tat LIMIT ${limit})`),
        );
        return { counts: { rate_buckets: n }, more: n >= limit };
      },
    },
    {
      name: 'orders',
      async run(db, now, limit) {
        const before = now - policy.expiredDays * DAY_MS;
        // index orders_status_expires: three short range scans, never the valid orders kept for
        // their certificates
        const n = rowsAffected(
          await db.run(sql`DELETE FROM orders WHERE id IN
            (SELECT id FROM orders WHERE status IN ('pending', 'ready', 'invalid') AND expires_at < ${before}
             LIMIT ${limit})`),
        );
        return { counts: { orders: n }, more: n >= limit };
      },
    },
    {
      name: 'authorizations',
      async run(db, now, limit) {
        const before = now - policy.expiredDays * DAY_MS;
        // The same subquery in each statement of one atomic batch picks the same rows (nothing else
        // writes in between); the authorizations go last, so their dependants are chosen first.
        const ids = sql`SELECT id FROM authorizations WHERE expires_at < ${before}
          ORDER BY expires_at, id LIMIT ${limit}`;
        const [c, p, a] = await db.batch([
          db.run(sql`DELETE FROM challenges WHERE authz_id IN (${ids})`),
          db.run(sql`DELETE FROM preauthorizations WHERE authz_id IN (${ids})`),
          db.run(sql`DELETE FROM authorizations WHERE id IN (${ids})`),
        ]);
        const n = rowsAffected(a);
        return {
          counts: { challenges: rowsAffected(c), preauthorizations: rowsAffected(p), authorizations: n },
          more: n >= limit,
        };
      },
    },
    {
      name: 'certificates',
      async run(db, now, limit) {
        // never before notAfter, whatever the setting (a negative retention is refused by config)
        const before = now - Math.max(0, policy.certificateDays) * DAY_MS;
        const picked = sql`SELECT id FROM certificates WHERE not_after < ${before}
          ORDER BY not_after, id LIMIT ${limit}`;
        const [r, o, cert] = await db.batch([
          db.run(sql`DELETE FROM renewal_info WHERE certificate_id IN (${picked})`),
          db.run(
            sql`DELETE FROM orders WHERE id IN (SELECT order_id FROM certificates WHERE id IN (${picked}))`,
          ),
          db.run(sql`DELETE FROM certificates WHERE id IN (${picked})`),
        ]);
        const n = rowsAffected(cert);
        return {
          counts: { renewal_info: rowsAffected(r), orders: rowsAffected(o), certificates: n },
          more: n >= limit,
        };
      },
    },
    {
      name: 'admin_changes',
      async run(db, now, limit) {
        const before = now - policy.changeLogDays * DAY_MS;
        // Rows are appended in time order: the oldest `limit` by id are the candidates, so a run
        // reads at most `limit` rows even when none is old enough (there is no index on `at`).
        const n = rowsAffected(
          await db.run(sql`DELETE FROM admin_changes WHERE id IN
            (SELECT id FROM (SELECT id, at FROM admin_changes ORDER BY id LIMIT ${limit}) WHERE at < ${before})`),
        );
        return { counts: { admin_changes: n }, more: n >= limit };
      },
    },
    {
      name: 'events',
      async run(db, now, limit) {
        const before = now - policy.eventDays * DAY_MS;
        // Events are appended in time order: the oldest `limit` by seq are the candidates, as for
        // the change log. Their deliveries go in the same batch, found by event_seq (migration 10).
        const picked = sql`SELECT seq FROM (SELECT seq, at FROM events ORDER BY seq LIMIT ${limit})
          WHERE at < ${before}`;
        const [d, e] = await db.batch([
          db.run(sql`DELETE FROM webhook_deliveries WHERE event_seq IN (${picked})`),
          db.run(sql`DELETE FROM events WHERE seq IN (${picked})`),
        ]);
        const n = rowsAffected(e);
        return { counts: { webhook_deliveries: rowsAffected(d), events: n }, more: n >= limit };
      },
    },
  ];
}

export interface PurgeRunOptions {
  now?: number;
  /** rows per statement (default 500) */
  batch?: number;
  /** stop starting new steps after this long (default 2 s); the next run goes on */
  budgetMs?: number;
  /** at most this many statements' worth of steps per run (default 200) */
  maxSteps?: number;
  /** the clock the budget is measured on (tests) */
  clock?: () => number;
}

export interface PurgeRun {
  counts: PurgeCounts;
  steps: number;
  /** true when the budget ran out with rows left to purge */
  unfinished: boolean;
  ms: number;
}

export const PURGE_BATCH = 500;

/**
 * Runs the steps until each found less than a full batch, or the time budget or step cap is spent.
 * The steps take turns, so one table with a large backlog does not keep the others waiting.
 */
export async function purgeExpired(db: Db, steps: PurgeStep[], o: PurgeRunOptions = {}): Promise<PurgeRun> {
  const clock = o.clock ?? Date.now;
  const started = clock();
  const now = o.now ?? Date.now();
  const limit = Math.max(1, o.batch ?? PURGE_BATCH);
  const budget = o.budgetMs ?? 2000;
  const maxSteps = o.maxSteps ?? 200;
  const counts: PurgeCounts = {};
  let pending = [...steps];
  let taken = 0;
  while (pending.length > 0 && taken < maxSteps && clock() - started < budget) {
    const next: PurgeStep[] = [];
    for (const step of pending) {
      if (taken >= maxSteps || clock() - started >= budget) {
        next.push(step);
        continue;
      }
      taken++;
      const r = await step.run(db, now, limit);
      for (const [table, n] of Object.entries(r.counts) as [PurgedTable, number][])
        if (n > 0) counts[table] = (counts[table] ?? 0) + n;
      if (r.more) next.push(step);
    }
    pending = next;
  }
  return { counts, steps: taken, unfinished: pending.length > 0, ms: clock() - started };
}
