// The admin web UI under /admin/ui: server-rendered HTML (hono/html), no script, no build
// step, so it runs wherever the edge runs. Login with an admin token (session.ts); every page reads
// and every form writes through the admin API as that token (api.ts), so scopes, checks and the
// change log are the API's. Forms are POSTs with a per-session CSRF field; answers are never cached
// and never framed.
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { html } from 'hono/html';
import type { AppEnv } from '../../context.ts';
import { adminApi } from './api.ts';
import { DNS_PERSIST_PATH, dnsPersistPage } from './dns-persist.ts';
import { INCIDENT_PATH, incidentPage, registerIncidentUi } from './incident.ts';
import { type Flash, type Html, page } from './layout.ts';
import * as pages from './pages.ts';
import {
  currentSession,
  LoginThrottled,
  logIn,
  loginNonce,
  loginNonceOk,
  logOut,
  postAllowed,
  UI_PREFIX,
  type UiSession,
} from './session.ts';
import { registerWebhooksUi, TRENDS_PATH, trendsPage, WEBHOOKS_PATH, webhooksPage } from './webhooks.ts';

type C = Context<AppEnv>;
type Render = (v: pages.View) => Promise<Html>;

const GET_PAGES: [string, string, string, Render][] = [
  ['/', '', 'Dashboard', pages.dashboard],
  ['/certificates', '/certificates', 'Certificates', pages.certificates],
  ['/orders', '/orders', 'Orders', pages.orders],
  ['/accounts', '/accounts', 'Accounts', pages.accounts],
  ['/eab', '/eab', 'EAB keys', pages.eabKeys],
  ['/policies', '/policies', 'Policies', pages.policies],
  ['/profiles', '/profiles', 'Profiles', pages.profiles],
  ['/rate-limits', '/rate-limits', 'Rate limits', pages.rateLimits],
  ['/changes', '/changes', 'Change log', pages.changes],
  [DNS_PERSIST_PATH, DNS_PERSIST_PATH, 'DNS persist', dnsPersistPage],
  [INCIDENT_PATH, INCIDENT_PATH, 'Incident', incidentPage],
  [WEBHOOKS_PATH, WEBHOOKS_PATH, 'Webhooks', webhooksPage],
  [TRENDS_PATH, TRENDS_PATH, 'Trends', trendsPage],
];

const view = (c: C, s: UiSession): pages.View => ({
  svc: c.var.svc,
  rid: c.var.requestId,
  s,
  query: (k) => c.req.query(k),
});

async function render(
  c: C,
  s: UiSession,
  title: string,
  active: string,
  body: Render,
  flash?: Flash,
  code = 200,
) {
  return c.html(
    page({ title, active, session: s, ...(flash ? { flash } : {}), body: await body(view(c, s)) }),
    code as 200,
  );
}

function loginPage(c: C, flash?: Flash, code = 200) {
  const nonce = loginNonce(c);
  return c.html(
    page({
      title: 'Log in',
      active: '',
      ...(flash ? { flash } : {}),
      body: html`<form method="post" action="${UI_PREFIX}/login" class="stack">
        <input type="hidden" name="nonce" value="${nonce}" />
        <label>Admin token <input name="token" type="password" autocomplete="off" required placeholder="edgeca_admin_…" /></label>
        <button type="submit">Log in</button>
        <p class="muted">Make one with <code>npx edgeca admin token create --scope write --name you</code> (docs/operations.md).</p>
      </form>`,
    }),
    code as 200,
  );
}

type Outcome = { flash: Flash; title: string; active: string; body: Render };

/** A form POST: session, Origin and CSRF checked before anything runs. */
function action(run: (c: C, s: UiSession, form: Record<string, string>) => Promise<Outcome>) {
  return async (c: C) => {
    const s = await currentSession(c);
    if (!s) return c.redirect(`${UI_PREFIX}/login`, 303);
    const raw = await c.req.parseBody();
    const form: Record<string, string> = {};
    for (const [k, v] of Object.entries(raw)) if (typeof v === 'string') form[k] = v;
    if (!postAllowed(c, s, form.csrf ?? '')) {
      return render(
        c,
        s,
        'Form refused',
        '',
        async () => html`<p>Nothing was changed.</p>`,
        {
          kind: 'err',
          text: 'The form was stale or came from another site (CSRF check failed). Reload the page and try again.',
        },
        403,
      );
    }
    const o = await run(c, s, form);
    return render(c, s, o.title, o.active, o.body, o.flash, o.flash.kind === 'err' ? 400 : 200);
  };
}

const list = (v: string | undefined) =>
  (v ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

export function createAdminUi(): Hono<AppEnv> {
  const ui = new Hono<AppEnv>();
  ui.use('*', async (c, next) => {
    await next();
    c.header('Cache-Control', 'no-store');
    c.header('X-Frame-Options', 'DENY');
    c.header('X-Content-Type-Options', 'nosniff');
    c.header(
      'Content-Security-Policy',
      "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
  });
  ui.use('*', bodyLimit({ maxSize: 16 * 1024, onError: (c) => c.text('form too large', 413) }));

  ui.get('/login', async (c) => ((await currentSession(c)) ? c.redirect(UI_PREFIX, 303) : loginPage(c)));
  ui.post('/login', async (c) => {
    const form = await c.req.parseBody();
    const nonce = typeof form.nonce === 'string' ? form.nonce : '';
    const token = typeof form.token === 'string' ? form.token : '';
    if (!loginNonceOk(c, nonce) || !postAllowed(c, undefined, '')) {
      return loginPage(c, { kind: 'err', text: 'The login form expired; try again.' }, 403);
    }
    if (!(await logIn(c, token))) {
      c.var.svc.log({ event: 'ui-login-failed', rid: c.var.requestId });
      return loginPage(c, { kind: 'err', text: 'That admin token is unknown or revoked.' }, 401);
    }
    return c.redirect(UI_PREFIX, 303);
  });
  ui.post('/logout', async (c) => {
    const s = await currentSession(c);
    const form = await c.req.parseBody();
    if (s && postAllowed(c, s, typeof form.csrf === 'string' ? form.csrf : '')) logOut(c);
    return c.redirect(`${UI_PREFIX}/login`, 303);
  });

  for (const [path, active, title, body] of GET_PAGES) {
    ui.get(path, async (c) => {
      const s = await currentSession(c);
      return s ? render(c, s, title, active, body) : c.redirect(`${UI_PREFIX}/login`, 303);
    });
  }
  ui.get('/certificates/:serial', async (c) => {
    const s = await currentSession(c);
    if (!s) return c.redirect(`${UI_PREFIX}/login`, 303);
    const serial = c.req.param('serial');
    return render(c, s, 'Certificate', '/certificates', (v) => pages.certificate(v, serial));
  });

  const call = (c: C, s: UiSession, method: 'POST', path: string, body?: unknown) =>
    adminApi(c.var.svc, c.var.requestId, s, method, path, body);

  ui.post(
    '/eab',
    action(async (c, s, f) => {
      const allow = list(f.allow);
      const profiles = list(f.profiles);
      const days = f.expiresDays?.trim() ? Number(f.expiresDays) : undefined;
      // Empty: the API's default (one account). Anything else the API checks and, if wrong,
      // refuses with a message naming maxAccounts.
      const max = f.maxAccounts?.trim() ?? '';
      const body = {
        name: f.name?.trim() ?? '',
        ...(max === ''
          ? {}
          : { maxAccounts: max === 'unlimited' ? null : /^\d+$/.test(max) ? Number(max) : max }),
        ...(allow.length ? { policy: { allow, deny: [] } } : {}),
        ...(profiles.length ? { profiles } : {}),
        ...(days !== undefined && Number.isFinite(days) && days > 0
          ? { expiresAt: new Date(Date.now() + days * 86_400_000).toISOString() }
          : {}),
      };
      const r = await call(c, s, 'POST', '/eab-keys', body);
      const base = { title: 'EAB keys', active: '/eab', body: pages.eabKeys };
      if (!r.ok) return { ...base, flash: { kind: 'err', text: `Not created: ${r.detail}` } };
      const k = r.data as { kid: string; hmacKey: string };
      return {
        ...base,
        flash: {
          kind: 'ok',
          text: html`Created. Copy the HMAC key now: it is shown this once only.
            <div class="secret" data-field="eab-kid">${k.kid}</div>
            <div class="secret" data-field="eab-hmac">${k.hmacKey}</div>`,
        },
      };
    }),
  );
  ui.post(
    '/eab/:kid/revoke',
    action(async (c, s) => {
      const kid = c.req.param('kid') ?? '';
      const r = await call(c, s, 'POST', `/eab-keys/${encodeURIComponent(kid)}/revoke`, {});
      return {
        title: 'EAB keys',
        active: '/eab',
        body: pages.eabKeys,
        flash: r.ok ? { kind: 'ok', text: `EAB key ${kid} revoked.` } : { kind: 'err', text: r.detail },
      };
    }),
  );
  ui.post(
    '/accounts/:id/deactivate',
    action(async (c, s) => {
      const id = c.req.param('id') ?? '';
      const r = await call(c, s, 'POST', `/accounts/${encodeURIComponent(id)}/deactivate`, {});
      return {
        title: 'Accounts',
        active: '/accounts',
        body: pages.accounts,
        flash: r.ok ? { kind: 'ok', text: `Account ${id} deactivated.` } : { kind: 'err', text: r.detail },
      };
    }),
  );
  ui.post(
    '/certificates/:serial/revoke',
    action(async (c, s, f) => {
      const serial = c.req.param('serial') ?? '';
      const reason = Number(f.reason ?? 0);
      const r = await call(c, s, 'POST', `/certificates/${encodeURIComponent(serial)}/revoke`, {
        reason: Number.isInteger(reason) ? reason : 0,
      });
      return {
        title: 'Certificate',
        active: '/certificates',
        body: (v) => pages.certificate(v, serial),
        flash: r.ok
          ? { kind: 'ok', text: 'Certificate revoked; the next CRL lists it.' }
          : { kind: 'err', text: r.detail },
      };
    }),
  );
  ui.post(
    '/certificates/:serial/renew-now',
    action(async (c, s) => {
      const serial = c.req.param('serial') ?? '';
      const r = await call(c, s, 'POST', '/renew-now', { serial });
      return {
        title: 'Certificate',
        active: '/certificates',
        body: (v) => pages.certificate(v, serial),
        flash: r.ok
          ? { kind: 'ok', text: 'Renewal window moved into the past: ARI clients renew at their next check.' }
          : { kind: 'err', text: `Not renewed: ${r.detail}` },
      };
    }),
  );

  registerIncidentUi(ui, action);
  registerWebhooksUi(ui, action, async (c, title, active, body) => {
    const s = await currentSession(c);
    return s ? render(c, s, title, active, body) : c.redirect(`${UI_PREFIX}/login`, 303);
  });

  ui.notFound((c) => c.text('no such page in the admin UI', 404));
  ui.onError((err, c) => {
    if (err instanceof LoginThrottled) {
      c.var.svc.log({ event: 'ui-login-throttled', rid: c.var.requestId });
      c.header('Retry-After', String(err.retryAfterSeconds));
      return c.html(
        page({
          title: 'Log in',
          active: '',
          flash: {
            kind: 'err',
            text: `Too many failed logins from this address. Try again in ${err.retryAfterSeconds} s.`,
          },
          body: html`<p>Nothing was checked: while this address is throttled every login is refused.</p>`,
        }),
        429,
      );
    }
    c.var.svc.log({ event: 'ui-error', rid: c.var.requestId, path: c.req.path, error: String(err) });
    return c.html(
      page({
        title: 'Error',
        active: '',
        body: html`<p>The page could not be shown. Request id <code>${c.var.requestId}</code>.</p>`,
      }),
      500,
    );
  });
  return ui;
}

/** Mounts the UI; call before registerAdmin, whose token check covers the rest of /admin. */
export function registerAdminUi(app: Hono<AppEnv>): void {
  // The dashboard is /admin/ui itself; the router is strict about the trailing slash.
  app.get(`${UI_PREFIX}/`, (c) => c.redirect(UI_PREFIX, 301));
  app.route(UI_PREFIX, createAdminUi());
}
