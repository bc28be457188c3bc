// Tables of the events outbox and the webhooks (migration 7): events, webhook_endpoints,
// webhook_deliveries. Timestamps are integer milliseconds since the epoch.
import { integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';

export const events = sqliteTable('events', {
  seq: integer('seq').primaryKey({ autoIncrement: true }),
  id: text('id').notNull(),
  type: text('type').notNull(),
  at: integer('at').notNull(),
  /** JSON object */
  data: text('data').notNull(),
});

export const webhookEndpoints = sqliteTable('webhook_endpoints', {
  id: text('id').primaryKey(),
  url: text('url').notNull(),
  description: text('description').notNull().default(''),
  /** JSON array of event types */
  eventTypes: text('event_types').notNull(),
  /** whsec_<base64 key>: needed to sign every delivery, so it is stored as is */
  secret: text('secret').notNull(),
  enabled: integer('enabled', { mode: 'boolean' }).notNull().default(true),
  /** the last events.seq fanned out to this endpoint */
  cursor: integer('cursor').notNull(),
  createdAt: integer('created_at').notNull(),
});

export type DeliveryStatus = 'pending' | 'delivered' | 'dead';

export const webhookDeliveries = sqliteTable(
  'webhook_deliveries',
  {
    endpointId: text('endpoint_id').notNull(),
    eventSeq: integer('event_seq').notNull(),
    eventId: text('event_id').notNull(),
    status: text('status', { enum: ['pending', 'delivered', 'dead'] }).notNull(),
    attempts: integer('attempts').notNull().default(0),
    nextAt: integer('next_at').notNull(),
    claimedUntil: integer('claimed_until'),
    lastAt: integer('last_at'),
    lastStatus: integer('last_status'),
    /** the start of the receiver's last answer body */
    lastResponse: text('last_response'),
    lastError: text('last_error'),
    deliveredAt: integer('delivered_at'),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.endpointId, t.eventSeq] })],
);

export type WebhookEndpointRow = typeof webhookEndpoints.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;
