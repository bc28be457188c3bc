// One run of the events machinery: the expiry watch, the fan-out of new outbox rows to the
// endpoints that want them, and the due delivery attempts. Any instance may run it at any time
// (Node/Deno timer, Workers cron, POST /admin/webhooks/run): the fan-out is guarded by each
// endpoint's cursor and every attempt is claimed in the database first, so instances sharing the
// database neither queue an event twice nor post it twice at once. Delivery is at least once: a
// crash between the receiver's 2xx and the recording of it repeats the attempt with the same
// webhook-id, which receivers de-duplicate on. Nothing here runs inside an ACME request, so a slow
// or dead receiver never holds up issuance.
import type { EdgeServices } from '../services.ts';
import { deliveryBody, type EdgeEvent, type EventType } from '../storage/event-catalog.ts';
import type { WebhookDeliveryRow, WebhookEndpointRow } from '../storage/events-schema.ts';
import { runExpiryWatch } from './expiry-watch.ts';
import { type EventSettings, eventSettingsOf } from './settings.ts';
import { signWebhook } from './signature.ts';
import { checkResolvedTarget } from './target-policy.ts';

export interface EventRun {
  expiring: number;
  queued: number;
  delivered: number;
  retrying: number;
  dead: number;
}

const FANOUT_BATCH = 200;
const ATTEMPTS_PER_RUN = 20;
/** what is kept of a receiver's answer, for the admin to read */
const RESPONSE_KEEP = 1024;
const MAX_BACKOFF_S = 3600;

export async function runEvents(
  svc: EdgeServices,
  opts: { now?: number; fetch?: typeof fetch } = {},
): Promise<EventRun> {
  const now = opts.now ?? Date.now();
  const settings = await eventSettingsOf(svc);
  const out: EventRun = { expiring: 0, queued: 0, delivered: 0, retrying: 0, dead: 0 };
  out.expiring = await runExpiryWatch(svc, { now, share: settings.expiryWarnShare });
  const endpoints = (await svc.events.listEndpoints()).filter((e) => e.enabled);
  out.queued = await fanOut(svc, endpoints, now);
  const byId = new Map(endpoints.map((e) => [e.id, e]));
  const due = (await svc.events.due(now, ATTEMPTS_PER_RUN * 2)).filter((d) => byId.has(d.endpointId));
  const claimed: WebhookDeliveryRow[] = [];
  for (const d of due.slice(0, ATTEMPTS_PER_RUN)) {
    if (await svc.events.claim(d, now, now + settings.timeoutMs * 2 + 5000)) claimed.push(d);
  }
  const events = new Map((await svc.events.bySeq(claimed.map((d) => d.eventSeq))).map((e) => [e.seq, e]));
  const results = await Promise.all(
    claimed.map((d) => {
      const ep = byId.get(d.endpointId);
      const ev = events.get(d.eventSeq);
      if (!ep || !ev) return Promise.resolve('dead' as const);
      return attempt(svc, settings, ep, ev, d, opts.fetch ?? fetch);
    }),
  );
  for (const r of results) out[r]++;
  return out;
}

async function fanOut(svc: EdgeServices, endpoints: WebhookEndpointRow[], now: number): Promise<number> {
  if (endpoints.length === 0) return 0;
  const from = Math.min(...endpoints.map((e) => e.cursor));
  const fresh = await svc.events.after(from, FANOUT_BATCH);
  const last = fresh.at(-1)?.seq;
  if (last === undefined) return 0;
  let queued = 0;
  for (const ep of endpoints) {
    if (ep.cursor >= last) continue;
    const wanted = new Set(JSON.parse(ep.eventTypes) as EventType[]);
    const picked = fresh.filter((e) => e.seq > ep.cursor && wanted.has(e.type));
    if (await svc.events.fanOut(ep.id, ep.cursor, last, picked, now)) queued += picked.length;
  }
  return queued;
}

/** The wait before attempt number `attempts + 1` (attempts already made ≥ 1). */
export function backoffMs(settings: Pick<EventSettings, 'retryBaseSeconds'>, attempts: number): number {
  return Math.min(settings.retryBaseSeconds * 2 ** Math.max(0, attempts - 1), MAX_BACKOFF_S) * 1000;
}

async function attempt(
  svc: EdgeServices,
  settings: EventSettings,
  ep: WebhookEndpointRow,
  ev: EdgeEvent,
  d: WebhookDeliveryRow,
  doFetch: typeof fetch,
): Promise<'delivered' | 'retrying' | 'dead'> {
  const started = Date.now();
  let status: number | null = null;
  let response: string | null = null;
  let error: string | null = null;
  const refused = await checkResolvedTarget(
    svc.runtime,
    ep.url,
    { allowPrivate: settings.allowPrivateTargets, testTargets: svc.config.webhookTestTargets },
    settings.timeoutMs,
  );
  if (refused) {
    error = `not sent: ${refused}`;
  } else {
    const body = deliveryBody(ev);
    const headers = await signWebhook(ep.secret, { id: ev.id, timestampSeconds: started / 1000, body });
    try {
      const res = await doFetch(ep.url, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json', 'user-agent': 'edgeca-webhooks' },
        body,
        // a redirect could lead anywhere, past the address checks above
        redirect: 'manual',
        signal: AbortSignal.timeout(settings.timeoutMs),
      });
      status = res.status;
      response = (await readSome(res, RESPONSE_KEEP)) || null;
      if (status >= 300) error = `HTTP ${status}`;
    } catch (e) {
      const err = e as Error;
      error = err.name === 'TimeoutError' ? `no answer within ${settings.timeoutMs} ms` : err.message;
    }
  }
  const attempts = d.attempts + 1;
  const now = Date.now();
  const ok = status !== null && status >= 200 && status < 300;
  const result = ok ? 'delivered' : attempts >= settings.maxAttempts ? 'dead' : 'retrying';
  await svc.events.finish(
    d,
    {
      status: result === 'retrying' ? 'pending' : result,
      nextAt: result === 'retrying' ? now + backoffMs(settings, attempts) : now,
      lastStatus: status,
      lastResponse: response,
      lastError: error,
    },
    now,
  );
  svc.log({
    event: 'webhook-delivery',
    endpointId: ep.id,
    eventId: ev.id,
    type: ev.type,
    attempt: attempts,
    result,
    ...(status !== null ? { status } : {}),
    ...(error ? { error } : {}),
  });
  return result;
}

async function readSome(res: Response, max: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < max) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return new TextDecoder().decode(all.subarray(0, max));
}
