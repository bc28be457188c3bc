// The UI's read views: dashboard, certificates (search, detail with revoke and renew now), orders,
// accounts, EAB keys, policies, profiles, rate limits and the change log. Each reads the admin API
// as the session's token and returns the page body; index.ts frames it and handles the forms.
import { html } from 'hono/html';
import { readiness } from '../../observability/routes.ts';
import type { EdgeServices } from '../../services.ts';
import { read } from './api.ts';
import { type Html, idents, postForm, status, table, when } from './layout.ts';
import { UI_PREFIX as L, type UiSession } from './session.ts';

export interface View {
  svc: EdgeServices;
  rid: string;
  s: UiSession;
  query: (k: string) => string | undefined;
}

type Cert = {
  serial: string;
  orderId: string;
  accountId: string;
  identifiers: unknown;
  notBefore: string;
  notAfter: string;
  revokedAt: string | null;
  revocationReason: number | null;
};
type Order = {
  id: string;
  accountId: string;
  status: string;
  identifiers: unknown;
  profile: string;
  createdAt: string;
};

const api = <T>(v: View, path: string) => read<T>(v.svc, v.rid, v.s, path);
const q = (params: Record<string, string | undefined>) => {
  const u = new URLSearchParams();
  for (const [k, val] of Object.entries(params)) if (val) u.set(k, val);
  const t = u.toString();
  return t ? `?${t}` : '';
};
const certState = (c: Cert, now: number) =>
  c.revokedAt ? 'revoked' : Date.parse(c.notAfter) <= now ? 'expired' : 'active';

export async function dashboard(v: View): Promise<Html> {
  const now = Date.now();
  const dayStart = new Date(new Date(now).toISOString().slice(0, 10)).getTime();
  const [{ certificates }, { orders }, ready] = await Promise.all([
    api<{ certificates: Cert[] }>(v, '/certificates?limit=1000'),
    api<{ orders: Order[] }>(v, '/orders?status=invalid&limit=1000'),
    readiness(v.svc),
  ]);
  // notBefore is backdated 30 s by finalize: count a minute before midnight as today
  const today = certificates.filter((c) => Date.parse(c.notBefore) >= dayStart - 60_000);
  const failed = orders.filter((o) => Date.parse(o.createdAt) >= now - 86_400_000);
  const soon = certificates
    .filter(
      (c) => !c.revokedAt && Date.parse(c.notAfter) > now && Date.parse(c.notAfter) < now + 72 * 3600_000,
    )
    .sort((a, b) => Date.parse(a.notAfter) - Date.parse(b.notAfter));
  const active = certificates.filter((c) => certState(c, now) === 'active').length;
  const capped = (n: number, all: number) => (all >= 1000 ? `${n}+` : String(n));
  return html`<div class="cards">
      <div class="card" data-metric="issued-today"><b>${capped(today.length, certificates.length)}</b>issued today</div>
      <div class="card" data-metric="failed-24h"><b>${capped(failed.length, orders.length)}</b>failed orders (24 h)</div>
      <div class="card" data-metric="expiring"><b>${soon.length}</b>expiring within 72 h</div>
      <div class="card" data-metric="active"><b>${capped(active, certificates.length)}</b>active certificates</div>
      <div class="card" data-metric="ready"><b class="${ready.ready ? 'st-valid' : 'st-invalid'}">${ready.ready ? 'ready' : 'not ready'}</b>${ready.checks.map((c) => html`${c.name}: ${c.ok ? 'ok' : c.detail}<br />`)}</div>
    </div>
    <h2>Last issued</h2>
    ${certTable(certificates.slice(0, 10), now)}
    <h2>Expiring soon</h2>
    ${certTable(soon.slice(0, 10), now, 'No certificate expires within 72 hours.')}
    <h2>Failed orders (24 h)</h2>
    ${orderTable(failed.slice(0, 10), 'No order failed in the last 24 hours.')}`;
}

function certTable(certs: Cert[], now: number, empty?: string): Html {
  return table(
    ['Serial', 'Identifiers', 'Not after', 'State'],
    certs.map((c) => [
      html`<a href="${L}/certificates/${c.serial}"><code>${c.serial.slice(0, 16)}…</code></a>`,
      idents(c.identifiers),
      when(c.notAfter),
      status(certState(c, now)),
    ]),
    empty ?? 'No certificates yet.',
  );
}

function orderTable(orders: Order[], empty?: string): Html {
  return table(
    ['Order', 'Identifiers', 'Profile', 'Created', 'Status'],
    orders.map((o) => [
      html`<code>${o.id}</code>`,
      idents(o.identifiers),
      o.profile,
      when(o.createdAt),
      status(o.status),
    ]),
    empty,
  );
}

export async function certificates(v: View): Promise<Html> {
  const identifier = v.query('identifier')?.trim() || undefined;
  const serial = v.query('serial')?.trim().toLowerCase() || undefined;
  const { certificates } = await api<{ certificates: Cert[] }>(
    v,
    `/certificates${q({ identifier, serial, limit: '200' })}`,
  );
  return html`<form class="search" method="get" action="${L}/certificates">
      <input name="identifier" placeholder="name or IP" value="${identifier ?? ''}" aria-label="identifier" />
      <input name="serial" placeholder="serial (hex)" value="${serial ?? ''}" aria-label="serial" />
      <button type="submit">Search</button>
    </form>
    ${certTable(certificates, Date.now())}`;
}

export async function certificate(v: View, serialParam: string): Promise<Html> {
  const serial = serialParam.toLowerCase();
  const { certificates } = await api<{ certificates: Cert[] }>(
    v,
    `/certificates${q({ serial, limit: '1' })}`,
  );
  const c = certificates.find((x) => x.serial === serial);
  if (!c) return html`<p>No certificate with serial <code>${serial}</code>.</p>`;
  const state = certState(c, Date.now());
  const reasons: [number, string][] = [
    [0, 'unspecified'],
    [1, 'keyCompromise'],
    [3, 'affiliationChanged'],
    [4, 'superseded'],
    [5, 'cessationOfOperation'],
  ];
  return html`<div class="box"><table>
      <tr><th>Serial</th><td><code>${c.serial}</code></td></tr>
      <tr><th>Identifiers</th><td>${idents(c.identifiers)}</td></tr>
      <tr><th>Not before</th><td>${when(c.notBefore)}</td></tr>
      <tr><th>Not after</th><td>${when(c.notAfter)}</td></tr>
      <tr><th>State</th><td data-field="state">${status(state)}${c.revokedAt ? html` on ${when(c.revokedAt)} (reason ${c.revocationReason ?? 0})` : ''}</td></tr>
      <tr><th>Order</th><td><code>${c.orderId}</code></td></tr>
      <tr><th>Account</th><td><code>${c.accountId}</code></td></tr>
    </table></div>
    ${
      state === 'active'
        ? html`<h2>Revoke</h2>
          ${postForm(
            v.s,
            `/certificates/${c.serial}/revoke`,
            html`<label>Reason <select name="reason">${reasons.map(([n, t]) => html`<option value="${n}">${n} ${t}</option>`)}</select></label>`,
            html`<button class="danger" type="submit">Revoke this certificate</button>`,
            'stack',
          )}
          <h2>Renew now</h2>
          <p class="muted">Moves the certificate's ARI renewal window into the past: ARI-aware clients renew at their next poll.</p>
          ${postForm(v.s, `/certificates/${c.serial}/renew-now`, '', html`<button type="submit">Renew now</button>`, 'stack')}`
        : ''
    }`;
}

export async function orders(v: View): Promise<Html> {
  const st = v.query('status') || undefined;
  const identifier = v.query('identifier')?.trim() || undefined;
  const { orders } = await api<{ orders: Order[] }>(
    v,
    `/orders${q({ status: st, identifier, limit: '200' })}`,
  );
  return html`<form class="search" method="get" action="${L}/orders">
      <input name="identifier" placeholder="name or IP" value="${identifier ?? ''}" aria-label="identifier" />
      <select name="status" aria-label="status"><option value="">any status</option>${[
        'pending',
        'ready',
        'processing',
        'valid',
        'invalid',
      ].map((x) => html`<option value="${x}" ${x === st ? 'selected' : ''}>${x}</option>`)}</select>
      <button type="submit">Filter</button>
    </form>
    ${orderTable(orders)}`;
}

export async function accounts(v: View): Promise<Html> {
  type Account = { id: string; status: string; contact: string[]; eabKid: string | null; createdAt: string };
  const { accounts } = await api<{ accounts: Account[] }>(v, '/accounts?limit=200');
  return table(
    ['Account', 'Contact', 'EAB key', 'Created', 'Status', ''],
    accounts.map((a) => [
      html`<code>${a.id}</code>`,
      a.contact.join(', '),
      a.eabKid ?? '—',
      when(a.createdAt),
      status(a.status),
      a.status === 'valid'
        ? postForm(
            v.s,
            `/accounts/${a.id}/deactivate`,
            '',
            html`<button class="danger" type="submit">Deactivate</button>`,
          )
        : '',
    ]),
  );
}

export async function eabKeys(v: View): Promise<Html> {
  type Key = {
    kid: string;
    name: string;
    accountId: string | null;
    boundAccounts: number;
    maxAccounts: number | null;
    createdAt: string;
    revokedAt: string | null;
    expiresAt: string | null;
    profiles: string[] | null;
    optInChallenges?: string[];
    policy: { allow: string[]; deny: string[] } | null;
  };
  const { keys } = await api<{ keys: Key[] }>(v, '/eab-keys');
  const form = postForm(
    v.s,
    '/eab',
    html`<label>Name <input name="name" maxlength="200" placeholder="team-web" /></label>
      <label>Allowed names (comma-separated rules, empty: any) <input name="allow" placeholder=".web.example.internal" /></label>
      <label>Profiles (comma-separated, empty: all) <input name="profiles" placeholder="default" /></label>
      <label>Expires in days (empty: never) <input name="expiresDays" inputmode="numeric" pattern="[0-9]*" /></label>
      <label>Accounts it may bind (empty: 1; a number, or "unlimited" for a fleet sharing one key) <input name="maxAccounts" placeholder="1" /></label>`,
    html`<button type="submit">Create EAB key</button>`,
    'stack',
  );
  return html`<h2>New key</h2>${form}<h2>Keys</h2>
    ${table(
      [
        'Key id',
        'Name',
        'Account',
        'Accounts bound',
        'Policy',
        'Profiles',
        'Opt-in challenges',
        'Expires',
        'State',
        '',
      ],
      keys.map((k) => [
        html`<code>${k.kid}</code>`,
        k.name,
        k.accountId ? html`<code>${k.accountId}</code>` : 'unbound',
        `${k.boundAccounts} of ${k.maxAccounts ?? 'unlimited'}`,
        k.policy
          ? `allow ${k.policy.allow.join(', ') || 'any'}; deny ${k.policy.deny.join(', ') || 'none'}`
          : '—',
        k.profiles?.join(', ') ?? 'all',
        k.optInChallenges?.join(', ') || '—',
        when(k.expiresAt),
        status(k.revokedAt ? 'revoked' : 'active'),
        k.revokedAt
          ? ''
          : postForm(
              v.s,
              `/eab/${k.kid}/revoke`,
              '',
              html`<button class="danger" type="submit">Revoke</button>`,
            ),
      ]),
    )}`;
}

export async function policies(v: View): Promise<Html> {
  const { policies } = await api<{ policies: { scope: string; allow: string[]; deny: string[] }[] }>(
    v,
    '/policies',
  );
  return html`${table(
    ['Scope', 'Allow', 'Deny'],
    policies.map((p) => [
      html`<code>${p.scope}</code>`,
      p.allow.join(', ') || 'anything not denied',
      p.deny.join(', ') || '—',
    ]),
    'No policy set: every name passes (the signer ceiling still applies).',
  )}
    <p class="muted">Change with <code>npx edgeca admin policy set SCOPE --allow R --deny R</code> (docs/admin.md).</p>`;
}

export async function profiles(v: View): Promise<Html> {
  type P = {
    name: string;
    description: string;
    validitySeconds: number;
    keyTypes: string[];
    ekus: string[];
    identifierTypes: string[];
    signerProfile: string;
    optInChallenges?: string[];
    default: boolean;
  };
  const { profiles } = await api<{ profiles: P[] }>(v, '/profiles');
  const dur = (s: number) =>
    s % 86_400 === 0 ? `${s / 86_400} d` : s % 3600 === 0 ? `${s / 3600} h` : `${s} s`;
  return html`${table(
    ['Name', 'Description', 'Validity', 'Keys', 'EKUs', 'Identifiers', 'Signer profile', 'Opt-in challenges'],
    profiles.map((p) => [
      html`<b>${p.name}</b>${p.default ? ' (default)' : ''}`,
      p.description,
      dur(p.validitySeconds),
      p.keyTypes.join(', '),
      p.ekus.join(', '),
      p.identifierTypes.join(', '),
      p.signerProfile,
      p.optInChallenges?.join(', ') || '—',
    ]),
  )}
    <p class="muted">Change with <code>npx edgeca admin profile set NAME ...</code> (docs/admin.md).</p>`;
}

export async function rateLimits(v: View): Promise<Html> {
  type L = { name: string; count: number; windowSeconds: number };
  const r = await api<{ names: string[]; limits: L[]; overrides: (L & { scope: string })[] }>(
    v,
    '/rate-limits',
  );
  return html`${table(
    ['Limit', 'Count', 'Window'],
    r.names.map((n) => {
      const l = r.limits.find((x) => x.name === n);
      return [n, l ? String(l.count) : 'off', l ? `${l.windowSeconds} s` : '—'];
    }),
  )}
    <h2>Overrides</h2>
    ${table(
      ['Limit', 'Scope', 'Count', 'Window'],
      r.overrides.map((o) => [
        o.name,
        html`<code>${o.scope}</code>`,
        String(o.count),
        `${o.windowSeconds} s`,
      ]),
      'No overrides.',
    )}
    <p class="muted">Change with <code>npx edgeca admin ratelimit set NAME --count N --window 1h</code>.</p>`;
}

export async function changes(v: View): Promise<Html> {
  type Ch = { id: number; at: string; tokenId: string; action: string; target: string; after: unknown };
  const { changes } = await api<{ changes: Ch[] }>(v, '/changes?limit=200');
  return table(
    ['When', 'Token', 'Action', 'Target', 'After'],
    changes.map((c) => [
      when(c.at),
      html`<code>${c.tokenId}</code>`,
      c.action,
      html`<code>${c.target}</code>`,
      html`<code>${c.after === null ? '—' : JSON.stringify(c.after).slice(0, 200)}</code>`,
    ]),
    'No changes recorded.',
  );
}
