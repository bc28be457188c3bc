// Admin API: webhook endpoints with their event filter and signing secret (shown once, in the answer
// that creates it; never listed, logged or put in the change log), their deliveries with the last
// answer of each, a retry of a dead-lettered delivery, a run of the events machinery now (the cron
// hook), and the events settings.
import { runEvents } from '../../events/delivery.ts';
import {
  EVENT_SETTING_BOUNDS,
  type EventSettings,
  eventSettingsOf,
  writeEventSettings,
} from '../../events/settings.ts';
import { newWebhookSecret } from '../../events/signature.ts';
import { checkResolvedTarget } from '../../events/target-policy.ts';
import { EVENT_TYPES, type EventType } from '../../storage/event-catalog.ts';
import type { WebhookDeliveryRow, WebhookEndpointRow } from '../../storage/events-schema.ts';
import { newId } from '../../storage/ids.ts';
import { body, bool, onlyFields, str, subset } from '../fields.ts';
import { type AdminContext, AdminError, bad, iso } from '../http.ts';
import { type AdminResource, found, pageLimit, record, route } from '../resource.ts';

export function endpointView(e: WebhookEndpointRow) {
  return {
    id: e.id,
    url: e.url,
    description: e.description,
    events: JSON.parse(e.eventTypes) as EventType[],
    enabled: e.enabled,
    createdAt: iso(e.createdAt),
  };
}

export function deliveryView(d: WebhookDeliveryRow) {
  return {
    eventId: d.eventId,
    eventSeq: d.eventSeq,
    status: d.status,
    attempts: d.attempts,
    nextAttemptAt: d.status === 'pending' ? iso(d.nextAt) : null,
    lastAttemptAt: iso(d.lastAt),
    lastStatus: d.lastStatus,
    lastResponse: d.lastResponse,
    lastError: d.lastError,
    deliveredAt: iso(d.deliveredAt),
  };
}

async function endpointOr404(c: AdminContext): Promise<WebhookEndpointRow> {
  const id = c.req.param('id') ?? '';
  return found(await c.var.svc.events.getEndpoint(id), `webhook "${id}" (GET /admin/webhooks lists them)`);
}

/** Checks a URL against the target rules now, resolving its name. */
async function checkUrl(c: AdminContext, url: string): Promise<void> {
  const settings = await eventSettingsOf(c.var.svc);
  const refused = await checkResolvedTarget(
    c.var.svc.runtime,
    url,
    { allowPrivate: settings.allowPrivateTargets, testTargets: c.var.svc.config.webhookTestTargets },
    settings.timeoutMs,
  );
  if (refused)
    throw bad(
      'url',
      `${refused}${/private address/.test(refused) ? ' (PUT /admin/webhook-settings {"allowPrivateTargets": true} allows private targets)' : ''}`,
    );
}

const EVENTS_HELP = `events: a non-empty array of ${EVENT_TYPES.join(', ')}`;

const eventsArray = { type: 'array', minItems: 1, items: { type: 'string', enum: [...EVENT_TYPES] } };

const WEBHOOK_SCHEMAS = {
  Webhook: {
    type: 'object',
    required: ['url', 'events'],
    additionalProperties: false,
    properties: {
      url: {
        type: 'string',
        description: 'https:// URL; loopback, link-local and metadata addresses are refused',
      },
      events: eventsArray,
      description: { type: 'string', maxLength: 200 },
    },
  },
  WebhookUpdate: {
    type: 'object',
    additionalProperties: false,
    properties: {
      url: { type: 'string' },
      events: eventsArray,
      description: { type: 'string', maxLength: 200 },
      enabled: { type: 'boolean' },
    },
  },
  WebhookSettings: {
    type: 'object',
    additionalProperties: false,
    properties: {
      allowPrivateTargets: { type: 'boolean' },
      ...Object.fromEntries(
        Object.entries(EVENT_SETTING_BOUNDS).map(([k, [min, max]]) => [
          k,
          { type: 'number', minimum: min, maximum: max },
        ]),
      ),
    },
  },
};

export const WEBHOOKS: AdminResource = {
  routes: [
    route('get', '/webhooks', 'List webhook endpoints (never their secret)', async (c) =>
      c.json({ webhooks: (await c.var.svc.events.listEndpoints()).map(endpointView) }),
    ),
    route(
      'post',
      '/webhooks',
      'Register a webhook endpoint; the answer holds its signing secret, once',
      async (c) => {
        const o = await body(c);
        onlyFields(o, ['url', 'events', 'description']);
        const url = str(o, 'url', 2000);
        if (!url) throw bad('url', 'is required: the https:// URL deliveries are posted to');
        const events = subset(o, 'events', EVENT_TYPES);
        if (!events) throw bad('events', `is required; ${EVENTS_HELP}`);
        const description = str(o, 'description', 200) ?? '';
        await checkUrl(c, url);
        const repo = c.var.svc.events;
        const id = newId();
        const secret = newWebhookSecret();
        const view = { id, url, description, events, enabled: true };
        await record(c, 'webhook.create', `webhook:${id}`, null, view, [
          repo.newEndpoint({ id, url, description, eventTypes: events, secret }, Date.now()),
        ]);
        const created = await repo.getEndpoint(id);
        return c.json(
          {
            ...(created ? endpointView(created) : view),
            secret,
            note: 'the secret is shown this once: keep it where the receiver verifies webhook-signature',
          },
          201,
        );
      },
      'Webhook',
    ),
    route(
      'get',
      '/webhooks/:id',
      'Show an endpoint and its latest deliveries with their last answer (?limit=)',
      async (c) => {
        const e = await endpointOr404(c);
        const deliveries = await c.var.svc.events.deliveriesOf(e.id, pageLimit(c, 50, 500));
        return c.json({ ...endpointView(e), deliveries: deliveries.map(deliveryView) });
      },
    ),
    route(
      'patch',
      '/webhooks/:id',
      'Change the URL, event filter, description or enabled flag',
      async (c) => {
        const e = await endpointOr404(c);
        const o = await body(c);
        onlyFields(o, ['url', 'events', 'description', 'enabled']);
        const url = str(o, 'url', 2000);
        if (url !== undefined) await checkUrl(c, url);
        const events = subset(o, 'events', EVENT_TYPES);
        const description = str(o, 'description', 200);
        const enabled = bool(o, 'enabled');
        const set = {
          ...(url !== undefined ? { url } : {}),
          ...(events ? { eventTypes: events } : {}),
          ...(description !== undefined ? { description } : {}),
          ...(enabled !== undefined ? { enabled } : {}),
        };
        if (Object.keys(set).length === 0)
          throw bad('body', 'give at least one of url, events, description, enabled');
        const before = endpointView(e);
        await record(c, 'webhook.update', `webhook:${e.id}`, before, { ...before, ...o }, [
          c.var.svc.events.updateEndpoint(e.id, set),
        ]);
        const now = await c.var.svc.events.getEndpoint(e.id);
        return c.json(now ? endpointView(now) : before);
      },
      'WebhookUpdate',
    ),
    route('delete', '/webhooks/:id', 'Delete an endpoint and its deliveries', async (c) => {
      const e = await endpointOr404(c);
      const [first, ...rest] = c.var.svc.events.deleteEndpointStmts(e.id);
      await record(c, 'webhook.delete', `webhook:${e.id}`, endpointView(e), null, [first!, ...rest]);
      return c.json({ deleted: e.id });
    }),
    route(
      'post',
      '/webhooks/:id/deliveries/:seq/retry',
      'Queue a dead-lettered delivery again',
      async (c) => {
        const e = await endpointOr404(c);
        const seq = Number(c.req.param('seq'));
        const d = (await c.var.svc.events.deliveriesOf(e.id, 10_000)).find((x) => x.eventSeq === seq);
        if (!d)
          throw new AdminError('notFound', `webhook ${e.id} has no delivery of event #${c.req.param('seq')}`);
        if (d.status !== 'dead')
          throw new AdminError(
            'conflict',
            `the delivery is ${d.status}; only a dead-lettered delivery is retried by hand`,
          );
        await record(c, 'webhook.retry', `webhook:${e.id}`, deliveryView(d), { status: 'pending' }, [
          c.var.svc.events.retryStmt(e.id, seq, Date.now()),
        ]);
        return c.json({ retrying: d.eventId });
      },
    ),
    route(
      'post',
      '/webhooks/run',
      'Run the expiry watch and the due deliveries now (the cron hook)',
      async (c) => c.json(await runEvents(c.var.svc)),
    ),
    route(
      'get',
      '/webhook-settings',
      'Events settings: private targets, expiry share, interval, retries, timeout',
      async (c) => c.json(await eventSettingsOf(c.var.svc)),
    ),
    route(
      'put',
      '/webhook-settings',
      'Change events settings (fields given only)',
      async (c) => {
        const o = await body(c);
        const before = await eventSettingsOf(c.var.svc);
        onlyFields(o, Object.keys(before));
        const next: EventSettings = { ...before };
        const allowPrivate = bool(o, 'allowPrivateTargets');
        if (allowPrivate !== undefined) next.allowPrivateTargets = allowPrivate;
        for (const [k, [min, max]] of Object.entries(EVENT_SETTING_BOUNDS) as [
          keyof typeof EVENT_SETTING_BOUNDS,
          readonly [number, number],
        ][]) {
          const v = o[k];
          if (v === undefined) continue;
          if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max)
            throw bad(k, `must be a number from ${min} to ${max}`);
          if (k !== 'expiryWarnShare' && !Number.isInteger(v)) throw bad(k, 'must be an integer');
          next[k] = v;
        }
        await record(c, 'webhook-settings.set', 'webhook-settings', before, next, [
          writeEventSettings(c.var.svc.database.db, next),
        ]);
        return c.json(next);
      },
      'WebhookSettings',
    ),
  ],
  schemas: WEBHOOK_SCHEMAS,
};
