// The events the edge records in its outbox and delivers to webhooks: one name per kind, in one
// list that the admin API, the CLI and the UI offer as filters. What each carries in `data` is
// written down in docs/events.md.

export const EVENT_TYPES = [
  'certificate.issued',
  'certificate.renewed',
  'certificate.revoked',
  'certificate.expiring',
  'order.failed',
  'validation.failed',
  'signer.unreachable',
  'validator.unreachable',
  'ratelimit.hit',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

export function isEventType(v: unknown): v is EventType {
  return typeof v === 'string' && (EVENT_TYPES as readonly string[]).includes(v);
}

/** An event as stored and as delivered (the Standard Webhooks payload shape: type, timestamp, data). */
export interface EdgeEvent {
  seq: number;
  id: string;
  type: EventType;
  at: number;
  data: Record<string, unknown>;
}

/** The body of a delivery: what the receiver verifies the signature over, byte for byte. */
export function deliveryBody(e: Pick<EdgeEvent, 'type' | 'at' | 'data'>): string {
  return JSON.stringify({ type: e.type, timestamp: new Date(e.at).toISOString(), data: e.data });
}
