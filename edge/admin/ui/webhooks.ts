// The UI's Webhooks page (register an endpoint with its event filter; the secret is shown once),
// one endpoint's deliveries with their last answer, and the Trends page (charts of issuance,
// failures and the expiry timeline). Every read and action is an admin API call as the session's
// token, so checks, scopes and the change log are the API's. No script: forms only.
import type { Context, Hono } from 'hono';
import { html } from 'hono/html';
import type { AppEnv } from '../../context.ts';
import type { ChartSeries } from '../../storage/charts.ts';
import { EVENT_TYPES } from '../../storage/event-catalog.ts';
import { adminApi, read } from './api.ts';
import { barList, columnChart } from './charts.ts';
import { type Flash, type Html, postForm, status, table, when } from './layout.ts';
import type { View } from './pages.ts';
import type { UiSession } from './session.ts';

type C = Context<AppEnv>;
type Outcome = { flash: Flash; title: string; active: string; body: (v: View) => Promise<Html> };
type Action = (
  run: (c: C, s: UiSession, form: Record<string, string>) => Promise<Outcome>,
) => (c: C) => Promise<Response>;

export const WEBHOOKS_PATH = '/webhooks';
export const TRENDS_PATH = '/trends';

type Endpoint = {
  id: string;
  url: string;
  description: string;
  events: string[];
  enabled: boolean;
  createdAt: string;
};
type Delivery = {
  eventId: string;
  eventSeq: number;
  status: string;
  attempts: number;
  nextAttemptAt: string | null;
  lastAttemptAt: string | null;
  lastStatus: number | null;
  lastResponse: string | null;
  lastError: string | null;
};
type EventRow = { id: string; type: string; at: string; data: Record<string, unknown> };

function registerForm(v: View): Html {
  return postForm(
    v.s,
    WEBHOOKS_PATH,
    html`<label>URL (https://) <input name="url" required maxlength="2000" placeholder="https://hooks.example.internal/edgeca" /></label>
      <label>Description <input name="description" maxlength="200" /></label>
      <fieldset><legend>Events</legend>${EVENT_TYPES.map(
        (t) =>
          html`<label class="check"><input type="checkbox" name="${`event.${t}`}" value="1" /> ${t}</label>`,
      )}</fieldset>`,
    html`<button type="submit">Register webhook</button>`,
    'stack',
  );
}

export async function webhooksPage(v: View): Promise<Html> {
  const { webhooks } = await read<{ webhooks: Endpoint[] }>(v.svc, v.rid, v.s, '/webhooks');
  const { events } = await read<{ events: EventRow[] }>(v.svc, v.rid, v.s, '/events?limit=20');
  return html`<h2>Endpoints</h2>
    ${table(
      ['URL', 'Events', 'State', 'Since', ''],
      webhooks.map((w) => [
        html`<a href="/admin/ui${WEBHOOKS_PATH}/${w.id}" data-webhook="${w.id}"><code>${w.url}</code></a>${w.description ? html`<br /><span class="muted">${w.description}</span>` : ''}`,
        w.events.join(', '),
        w.enabled ? 'enabled' : 'disabled',
        when(w.createdAt),
        postForm(
          v.s,
          `${WEBHOOKS_PATH}/${w.id}/delete`,
          '',
          html`<button class="danger" type="submit">Delete</button>`,
        ),
      ]),
      'No webhooks yet.',
    )}
    <h2>Register</h2>
    ${registerForm(v)}
    <h2>Latest events</h2>
    ${table(
      ['When', 'Type', 'Id'],
      events.map((e) => [when(e.at), e.type, html`<code>${e.id}</code>`]),
      'No events yet.',
    )}`;
}

async function webhookPage(v: View, id: string): Promise<Html> {
  const w = await read<Endpoint & { deliveries: Delivery[] }>(
    v.svc,
    v.rid,
    v.s,
    `/webhooks/${encodeURIComponent(id)}`,
  );
  return html`<p><code>${w.url}</code> · ${w.events.join(', ')} · ${w.enabled ? 'enabled' : 'disabled'}</p>
    <h2>Deliveries</h2>
    ${table(
      ['Event', 'Status', 'Attempts', 'Last attempt', 'Last answer', 'Next attempt'],
      w.deliveries.map((d) => [
        html`<code>${d.eventId}</code>`,
        html`<span data-delivery="${d.eventId}">${status(d.status)}</span>${
          d.status === 'dead'
            ? postForm(
                v.s,
                `${WEBHOOKS_PATH}/${w.id}/deliveries/${d.eventSeq}/retry`,
                '',
                html` <button class="quiet" type="submit">Retry</button>`,
              )
            : ''
        }`,
        String(d.attempts),
        when(d.lastAttemptAt),
        html`${d.lastStatus ?? '—'} ${d.lastError ? html`<span class="muted">${d.lastError}</span>` : ''}${
          d.lastResponse ? html`<br /><code>${d.lastResponse.slice(0, 200)}</code>` : ''
        }`,
        when(d.nextAttemptAt),
      ]),
      'No deliveries yet: events recorded after the endpoint was registered are queued at the next run.',
    )}`;
}

const hourLabel = (ms: number) => new Date(ms).toISOString().slice(11, 13);
const dayHourLabel = (ms: number) => {
  const iso = new Date(ms).toISOString();
  return iso.slice(11, 13) === '00' ? iso.slice(5, 10) : `${iso.slice(11, 13)}h`;
};

export async function trendsPage(v: View): Promise<Html> {
  const d = await read<ChartSeries>(v.svc, v.rid, v.s, '/charts?pastHours=72&comingHours=48');
  const past = d.issuedPerHour.counts.map((_, i) => dayHourLabel(d.issuedPerHour.from + i * 3_600_000));
  const coming = d.expiryPerHour.expiring.map((_, i) => hourLabel(d.expiryPerHour.from + i * 3_600_000));
  return html`<h2>Certificates issued per hour (last 3 days, UTC)</h2>
    <div data-chart="issuance">${columnChart({
      label: 'Certificates issued per hour over the last 3 days',
      slots: past,
      series: [{ name: 'issued', color: '#3451d1', values: d.issuedPerHour.counts }],
      every: 12,
    })}</div>
    <h2>Failures by problem type (same period)</h2>
    <div data-chart="failures">${barList({
      label: 'Failed orders and validations by ACME problem type',
      items: d.failuresByType.map((f) => ({
        name: f.type.replace('urn:ietf:params:acme:error:', ''),
        value: f.count,
      })),
      color: '#b3261e',
    })}</div>
    <h2>Expiring per coming hour (next 48 h, UTC), and how many are already replaced</h2>
    <div data-chart="expiry">${columnChart({
      label: 'Live certificates expiring in each of the next 48 hours, with those already replaced',
      slots: coming,
      series: [
        { name: 'expiring', color: '#e0a100', values: d.expiryPerHour.expiring },
        { name: 'already replaced', color: '#1b7f3b', values: d.expiryPerHour.replaced },
      ],
      every: 6,
    })}</div>`;
}

export function registerWebhooksUi(
  ui: Hono<AppEnv>,
  action: Action,
  renderPage: (c: C, title: string, active: string, body: (v: View) => Promise<Html>) => Promise<Response>,
): void {
  const call = (c: C, s: UiSession, method: 'POST' | 'DELETE', path: string, body?: unknown) =>
    adminApi(c.var.svc, c.var.requestId, s, method, path, body);
  const base = { title: 'Webhooks', active: WEBHOOKS_PATH, body: webhooksPage };

  ui.get(`${WEBHOOKS_PATH}/:id`, (c) =>
    renderPage(c, 'Webhook', WEBHOOKS_PATH, (v) => webhookPage(v, c.req.param('id') ?? '')),
  );
  ui.post(
    WEBHOOKS_PATH,
    action(async (c, s, f) => {
      // one checkbox per type, each its own field (event.<type>=1)
      const events = EVENT_TYPES.filter((t) => f[`event.${t}`] === '1');
      const r = await call(c, s, 'POST', '/webhooks', {
        url: f.url?.trim() ?? '',
        events,
        ...(f.description?.trim() ? { description: f.description.trim() } : {}),
      });
      if (!r.ok) return { ...base, flash: { kind: 'err', text: `Not registered: ${r.detail}` } };
      const w = r.data as { id: string; secret: string };
      return {
        ...base,
        flash: {
          kind: 'ok',
          text: html`Registered. Copy the signing secret now: it is shown this once only.
            <div class="secret" data-field="webhook-secret">${w.secret}</div>`,
        },
      };
    }),
  );
  ui.post(
    `${WEBHOOKS_PATH}/:id/delete`,
    action(async (c, s) => {
      const id = c.req.param('id') ?? '';
      const r = await call(c, s, 'DELETE', `/webhooks/${encodeURIComponent(id)}`);
      return {
        ...base,
        flash: r.ok ? { kind: 'ok', text: 'Webhook deleted.' } : { kind: 'err', text: r.detail },
      };
    }),
  );
  ui.post(
    `${WEBHOOKS_PATH}/:id/deliveries/:seq/retry`,
    action(async (c, s) => {
      const id = c.req.param('id') ?? '';
      const r = await call(
        c,
        s,
        'POST',
        `/webhooks/${encodeURIComponent(id)}/deliveries/${c.req.param('seq')}/retry`,
      );
      return {
        title: 'Webhook',
        active: WEBHOOKS_PATH,
        body: (v) => webhookPage(v, id),
        flash: r.ok ? { kind: 'ok', text: 'Queued again.' } : { kind: 'err', text: r.detail },
      };
    }),
  );
}
