// The recording of events that have no state change to ride with (a signer or validator that did not
// answer, a rate limit that refused). Those are recorded at most once per kind and subject per
// minute — a client hammering a limit, or a signer down for an hour, must not flood the receivers
// — and a failure to record one never fails the request that noticed it.
import type { EdgeServices } from '../services.ts';
import type { EventType } from '../storage/event-catalog.ts';

const MINUTE_MS = 60_000;

/** Records a condition event; `subject` names what it is about (a limit, a signer URL). */
export async function recordCondition(
  svc: EdgeServices,
  type: Extract<EventType, 'signer.unreachable' | 'validator.unreachable' | 'ratelimit.hit'>,
  subject: string,
  data: Record<string, unknown>,
  now = Date.now(),
): Promise<void> {
  const minute = Math.floor(now / MINUTE_MS);
  const id = `evt_${type.replace('.', '_')}_${minute}_${subject.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 80)}`;
  try {
    await svc.events.record({ id, type, at: now, data });
  } catch (e) {
    svc.log({ event: 'event-record-failed', type, error: String(e) });
  }
}
