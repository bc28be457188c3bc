// The events outbox and the webhook tables behind one repository. The events that report a state
// change are written by the statement builders below, which the state change's own batch runs
// (edge/storage/orders.ts): each inserts its event only when the row now shows the change, under a
// deterministic id, so the outbox holds an event exactly when the database holds the change, and a
// repeated request writes it once. Events without a state change (signer unreachable, rate limit
// hit) are recorded on their own.
import { and, asc, desc, eq, gt, inArray, isNull, lt, lte, or, sql } from 'drizzle-orm';
import { type Db, rowsAffected } from './db.ts';
import type { EdgeEvent, EventType } from './event-catalog.ts';
import {
  type DeliveryStatus,
  events,
  type WebhookDeliveryRow,
  type WebhookEndpointRow,
  webhookDeliveries,
  webhookEndpoints,
} from './events-schema.ts';
import type { Stmt } from './settings.ts';

/** certificate.issued, or certificate.renewed when the order named the certificate it replaces */
export function issuedEventStmt(db: Db, orderId: string, now: number): Stmt {
  return db.run(sql`INSERT OR IGNORE INTO events (id, type, at, data)
    SELECT 'evt_cert_' || c.id,
      CASE WHEN o.replaces IS NULL THEN 'certificate.issued' ELSE 'certificate.renewed' END, ${now},
      json_object('certificateId', c.id, 'serial', c.serial, 'orderId', o.id, 'accountId', c.account_id,
        'identifiers', json(c.identifiers), 'profile', o.profile,
        'notBefore', strftime('%Y-%m-%dT%H:%M:%fZ', c.not_before / 1000.0, 'unixepoch'),
        'notAfter', strftime('%Y-%m-%dT%H:%M:%fZ', c.not_after / 1000.0, 'unixepoch'),
        'replaces', o.replaces)
    FROM orders o JOIN certificates c ON c.id = o.certificate_id
    WHERE o.id = ${orderId} AND o.status = 'valid'`);
}

export function revokedEventStmt(db: Db, certificateId: string, now: number): Stmt {
  return db.run(sql`INSERT OR IGNORE INTO events (id, type, at, data)
    SELECT 'evt_rev_' || id, 'certificate.revoked', ${now},
      json_object('certificateId', id, 'serial', serial, 'accountId', account_id,
        'identifiers', json(identifiers), 'reason', revocation_reason,
        'revokedAt', strftime('%Y-%m-%dT%H:%M:%fZ', revoked_at / 1000.0, 'unixepoch'))
    FROM certificates WHERE id = ${certificateId} AND revoked_at IS NOT NULL`);
}

/** order.failed with the order's problem document */
export function orderFailedEventStmt(db: Db, orderId: string, now: number): Stmt {
  return db.run(sql`INSERT OR IGNORE INTO events (id, type, at, data)
    SELECT 'evt_ofail_' || id, 'order.failed', ${now},
      json_object('orderId', id, 'accountId', account_id, 'identifiers', json(identifiers),
        'profile', profile, 'problem', json(error))
    FROM orders WHERE id = ${orderId} AND status = 'invalid'`);
}

/** validation.failed with the challenge's problem document */
export function validationFailedEventStmt(db: Db, challengeId: string, now: number): Stmt {
  return db.run(sql`INSERT OR IGNORE INTO events (id, type, at, data)
    SELECT 'evt_vfail_' || c.id, 'validation.failed', ${now},
      json_object('challengeId', c.id, 'authzId', a.id, 'accountId', a.account_id, 'challengeType', c.type,
        'identifier', json_object('type', a.identifier_type, 'value', a.identifier_value),
        'problem', json(c.error))
    FROM challenges c JOIN authorizations a ON a.id = c.authz_id
    WHERE c.id = ${challengeId} AND c.status = 'invalid'`);
}

export interface ExpiringCandidate {
  id: string;
  serial: string;
  accountId: string;
  identifiers: string;
  notBefore: number;
  notAfter: number;
}

export interface NewEndpoint {
  id: string;
  url: string;
  description: string;
  eventTypes: EventType[];
  secret: string;
}

export interface DeliveryOutcome {
  status: DeliveryStatus;
  nextAt: number;
  lastStatus: number | null;
  lastResponse: string | null;
  lastError: string | null;
}

export type EventRepo = ReturnType<typeof createEventRepo>;

const toEvent = (r: typeof events.$inferSelect): EdgeEvent => ({
  seq: r.seq,
  id: r.id,
  type: r.type as EventType,
  at: r.at,
  data: JSON.parse(r.data) as Record<string, unknown>,
});

export function createEventRepo(db: Db) {
  return {
    /** an event without a state change of its own; false when one with this id exists */
    async record(e: { id: string; type: EventType; at: number; data: Record<string, unknown> }) {
      const res = await db
        .insert(events)
        .values({ id: e.id, type: e.type, at: e.at, data: JSON.stringify(e.data) })
        .onConflictDoNothing();
      return rowsAffected(res) === 1;
    },
    async after(seq: number, limit: number): Promise<EdgeEvent[]> {
      const rows = await db
        .select()
        .from(events)
        .where(gt(events.seq, seq))
        .orderBy(asc(events.seq))
        .limit(limit);
      return rows.map(toEvent);
    },
    async recent(opts: { limit: number; type?: EventType }): Promise<EdgeEvent[]> {
      const rows = await db
        .select()
        .from(events)
        .where(opts.type ? eq(events.type, opts.type) : undefined)
        .orderBy(desc(events.seq))
        .limit(opts.limit);
      return rows.map(toEvent);
    },
    async bySeq(seqs: number[]): Promise<EdgeEvent[]> {
      if (seqs.length === 0) return [];
      return (await db.select().from(events).where(inArray(events.seq, seqs))).map(toEvent);
    },
    async lastSeq(): Promise<number> {
      const [r] = await db.select({ seq: sql<number>`coalesce(max(${events.seq}), 0)` }).from(events);
      return Number(r?.seq ?? 0);
    },
    /**
     * Unrevoked certificates with less than `share` of their lifetime left at `now`, not expired,
     * and not yet reported (no certificate.expiring event); whether a newer certificate replaces
     * them is the watch's call (edge/events/expiry-watch.ts).
     */
    async expiringCandidates(now: number, share: number, limit: number): Promise<ExpiringCandidate[]> {
      return (await db.all(sql`SELECT id, serial, account_id AS accountId, identifiers,
          not_before AS notBefore, not_after AS notAfter
        FROM certificates c
        WHERE c.not_after > ${now} AND c.revoked_at IS NULL
          AND (c.not_after - ${now}) < ${share} * (c.not_after - c.not_before)
          AND NOT EXISTS (SELECT 1 FROM events e WHERE e.id = 'evt_exp_' || c.id)
        ORDER BY c.not_after LIMIT ${limit}`)) as ExpiringCandidate[];
    },
    /** the account's unrevoked certificates issued after `notBefore` (candidates for replacements) */
    async newerOfAccount(accountId: string, notBefore: number) {
      return (await db.all(sql`SELECT id, identifiers FROM certificates
        WHERE account_id = ${accountId} AND not_before > ${notBefore} AND revoked_at IS NULL
        ORDER BY not_before DESC LIMIT 200`)) as { id: string; identifiers: string }[];
    },

    listEndpoints: (): Promise<WebhookEndpointRow[]> =>
      db.select().from(webhookEndpoints).orderBy(asc(webhookEndpoints.createdAt)),
    getEndpoint: async (id: string): Promise<WebhookEndpointRow | undefined> =>
      (await db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id)))[0],
    /** the new endpoint starts after the newest event: it receives what happens from now on */
    newEndpoint(e: NewEndpoint, now: number): Stmt {
      return db.run(sql`INSERT INTO webhook_endpoints (id, url, description, event_types, secret, enabled, cursor, created_at)
        VALUES (${e.id}, ${e.url}, ${e.description}, ${JSON.stringify(e.eventTypes)}, ${e.secret}, 1,
          (SELECT coalesce(max(seq), 0) FROM events), ${now})`);
    },
    updateEndpoint(
      id: string,
      set: Partial<{ url: string; description: string; eventTypes: EventType[]; enabled: boolean }>,
    ): Stmt {
      const { eventTypes, ...rest } = set;
      return db
        .update(webhookEndpoints)
        .set({ ...rest, ...(eventTypes ? { eventTypes: JSON.stringify(eventTypes) } : {}) })
        .where(eq(webhookEndpoints.id, id));
    },
    deleteEndpointStmts(id: string): Stmt[] {
      return [
        db.delete(webhookDeliveries).where(eq(webhookDeliveries.endpointId, id)),
        db.delete(webhookEndpoints).where(eq(webhookEndpoints.id, id)),
      ];
    },

    /**
     * Queues `seqs` for the endpoint and moves its cursor from `from` to `to`, in one batch guarded
     * by the cursor: two instances fanning out at once queue each event once.
     */
    async fanOut(endpointId: string, from: number, to: number, picked: EdgeEvent[], now: number) {
      const [moved, ...rest] = await db.batch([
        db
          .update(webhookEndpoints)
          .set({ cursor: to })
          .where(and(eq(webhookEndpoints.id, endpointId), eq(webhookEndpoints.cursor, from))),
        ...picked.map((e) =>
          db.run(sql`INSERT OR IGNORE INTO webhook_deliveries
              (endpoint_id, event_seq, event_id, status, attempts, next_at, created_at)
            SELECT ${endpointId}, ${e.seq}, ${e.id}, 'pending', 0, ${now}, ${now}
            WHERE EXISTS (SELECT 1 FROM webhook_endpoints WHERE id = ${endpointId} AND cursor = ${to})`),
        ),
      ]);
      void rest;
      return rowsAffected(moved) === 1;
    },
    /** pending deliveries due at `now` and not claimed by a live attempt */
    due(now: number, limit: number): Promise<WebhookDeliveryRow[]> {
      return db
        .select()
        .from(webhookDeliveries)
        .where(
          and(
            eq(webhookDeliveries.status, 'pending'),
            lte(webhookDeliveries.nextAt, now),
            or(isNull(webhookDeliveries.claimedUntil), lt(webhookDeliveries.claimedUntil, now)),
          ),
        )
        .orderBy(asc(webhookDeliveries.nextAt))
        .limit(limit);
    },
    /** claims one attempt until `until`; false when another instance holds it */
    async claim(d: Pick<WebhookDeliveryRow, 'endpointId' | 'eventSeq'>, now: number, until: number) {
      const res = await db
        .update(webhookDeliveries)
        .set({ claimedUntil: until })
        .where(
          and(
            eq(webhookDeliveries.endpointId, d.endpointId),
            eq(webhookDeliveries.eventSeq, d.eventSeq),
            eq(webhookDeliveries.status, 'pending'),
            or(isNull(webhookDeliveries.claimedUntil), lt(webhookDeliveries.claimedUntil, now)),
          ),
        );
      return rowsAffected(res) === 1;
    },
    async finish(d: Pick<WebhookDeliveryRow, 'endpointId' | 'eventSeq'>, o: DeliveryOutcome, now: number) {
      await db
        .update(webhookDeliveries)
        .set({
          status: o.status,
          attempts: sql`${webhookDeliveries.attempts} + 1`,
          nextAt: o.nextAt,
          claimedUntil: null,
          lastAt: now,
          lastStatus: o.lastStatus,
          lastResponse: o.lastResponse,
          lastError: o.lastError,
          ...(o.status === 'delivered' ? { deliveredAt: now } : {}),
        })
        .where(
          and(eq(webhookDeliveries.endpointId, d.endpointId), eq(webhookDeliveries.eventSeq, d.eventSeq)),
        );
    },
    /** a dead delivery queued again (admin "retry") */
    retryStmt(endpointId: string, eventSeq: number, now: number): Stmt {
      return db
        .update(webhookDeliveries)
        .set({ status: 'pending', nextAt: now, attempts: 0, claimedUntil: null })
        .where(and(eq(webhookDeliveries.endpointId, endpointId), eq(webhookDeliveries.eventSeq, eventSeq)));
    },
    deliveriesOf(endpointId: string, limit: number): Promise<WebhookDeliveryRow[]> {
      return db
        .select()
        .from(webhookDeliveries)
        .where(eq(webhookDeliveries.endpointId, endpointId))
        .orderBy(desc(webhookDeliveries.eventSeq))
        .limit(limit);
    },
  };
}
