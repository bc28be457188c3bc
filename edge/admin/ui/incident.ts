// The UI's incident page (/admin/ui/incident): bulk revocation as a preview (the API's dry run:
// exactly the certificates a run would revoke, nothing changed) and then a confirm form carrying the
// same selector; a run that leaves certificates offers to continue. Also blocking a key directly and
// the list of blocked keys. Every action is an admin API call as the session's token, so its checks
// and change-log entries are the API's. No script: forms and hidden fields only.
import type { Context, Hono } from 'hono';
import { html } from 'hono/html';
import type { AppEnv } from '../../context.ts';
import { adminApi, read } from './api.ts';
import { type Flash, type Html, postForm, table, when } from './layout.ts';
import type { View } from './pages.ts';
import type { UiSession } from './session.ts';

type C = Context<AppEnv>;
type Outcome = { flash: Flash; title: string; active: string; body: (v: View) => Promise<Html> };
/** index.ts's form wrapper: session, Origin and CSRF checked before `run`. */
type Action = (
  run: (c: C, s: UiSession, form: Record<string, string>) => Promise<Outcome>,
) => (c: C) => Promise<Response>;

export const INCIDENT_PATH = '/incident';
const TITLE = 'Incident';

const REASONS: [number, string][] = [
  [1, 'keyCompromise'],
  [0, 'unspecified'],
  [3, 'affiliationChanged'],
  [4, 'superseded'],
  [5, 'cessationOfOperation'],
  [9, 'privilegeWithdrawn'],
];
const SELECTOR = ['account', 'spkiSha256', 'pattern', 'issuedAfter', 'issuedBefore'] as const;

type Form = Record<string, string>;

interface BulkAnswer {
  selector: Record<string, string>;
  reason: number;
  reasonName: string;
  maxPerCall: number;
  limit: number;
  matched: number;
  serials?: string[];
  certificates?: {
    serial: string;
    accountId: string;
    identifiers: string[];
    issuedAt: string;
    notAfter: string;
  }[];
  results?: { serial: string; identifiers: string[]; outcome: string; detail?: string }[];
  counts?: { revoked: number; alreadyRevoked: number; failed: number; notAttempted: number };
  remaining?: number;
  complete?: boolean;
  stoppedBecause?: string;
  blockedKeys?: string[];
  /** accounts deactivated because their key was among the blocked ones */
  deactivatedAccounts?: string[];
}

type BlockedKey = {
  spkiSha256: string;
  spkiSha256Hex: string;
  source: string;
  serial: string | null;
  note: string;
  createdAt: string;
};

/** A browser's datetime-local value ("2030-01-01T10:00") is taken as UTC; RFC 3339 passes as is. */
function utc(v: string): string {
  const t = v.trim();
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(t)) return `${t}:00Z`;
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/.test(t)) return `${t}Z`;
  return t;
}

/** The API body from the form: empty fields are left out. */
function bulkBody(f: Form, dryRun: boolean): Record<string, unknown> {
  const b: Record<string, unknown> = {};
  for (const k of SELECTOR) {
    const v = f[k]?.trim();
    if (v) b[k] = k === 'issuedAfter' || k === 'issuedBefore' ? utc(v) : v;
  }
  b.reason = /^\d{1,2}$/.test(f.reason ?? '') ? Number(f.reason) : f.reason;
  if (f.limit?.trim()) b.limit = /^\d{1,4}$/.test(f.limit.trim()) ? Number(f.limit.trim()) : f.limit;
  if (dryRun) b.dryRun = true;
  return b;
}

const hidden = (fields: Record<string, string | number | undefined>): Html =>
  html`${Object.entries(fields)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => html`<input type="hidden" name="${k}" value="${String(v)}" />`)}`;

function bulkForm(v: View, f: Form = {}): Html {
  const reason = f.reason ?? '1';
  return postForm(
    v.s,
    `${INCIDENT_PATH}/preview`,
    html`<p class="muted">Give one or more; they combine (a certificate must match all). Only live (unexpired, unrevoked) certificates are selected.</p>
      <label>Account id <input name="account" value="${f.account ?? ''}" maxlength="100" /></label>
      <label>Key: SPKI SHA-256 (hex or base64url) <input name="spkiSha256" value="${f.spkiSha256 ?? ''}" maxlength="100" /></label>
      <label>Name pattern (name, *.wildcard, .suffix or CIDR) <input name="pattern" value="${f.pattern ?? ''}" maxlength="300" placeholder=".web.example.internal" /></label>
      <label>Issued at or after (UTC) <input name="issuedAfter" type="datetime-local" step="1" value="${f.issuedAfter ?? ''}" /></label>
      <label>Issued before (UTC) <input name="issuedBefore" type="datetime-local" step="1" value="${f.issuedBefore ?? ''}" /></label>
      <label>Reason <select name="reason">${REASONS.map(
        ([n, t]) => html`<option value="${n}" ${String(n) === reason ? 'selected' : ''}>${n} ${t}</option>`,
      )}</select></label>
      <label>At most this many per run (empty: the maximum) <input name="limit" inputmode="numeric" value="${f.limit ?? ''}" /></label>`,
    html`<button type="submit">Preview</button>`,
    'stack',
  );
}

async function blockedKeys(v: View): Promise<Html> {
  const { blockedKeys } = await read<{ blockedKeys: BlockedKey[] }>(
    v.svc,
    v.rid,
    v.s,
    '/blocked-keys?limit=200',
  );
  return table(
    ['Key (SPKI SHA-256, hex)', 'Source', 'Certificate', 'Note', 'Since', ''],
    blockedKeys.map((k) => [
      html`<code data-field="blocked-key">${k.spkiSha256Hex}</code>`,
      k.source,
      k.serial ? html`<code>${k.serial}</code>` : '—',
      k.note || '—',
      when(k.createdAt),
      postForm(
        v.s,
        `${INCIDENT_PATH}/unblock/${k.spkiSha256}`,
        '',
        html`<button class="quiet" type="submit">Unblock</button>`,
      ),
    ]),
    'No key is blocked.',
  );
}

/** The page: the bulk revocation form (with what was typed, after an error), block a key, blocked keys. */
export async function incidentPage(v: View, f: Form = {}): Promise<Html> {
  return html`<h2>Bulk revocation</h2>
    <p class="muted">Preview first: it lists exactly what a run would revoke and changes nothing. The run then revokes each certificate through the signer (the next CRL lists it); with keyCompromise the keys are blocked too.</p>
    ${bulkForm(v, f)}
    <h2>Block a key</h2>
    <p class="muted">A blocked key is refused as an account key (newAccount, keyChange) and as a certificate key (finalize).</p>
    ${postForm(
      v.s,
      `${INCIDENT_PATH}/block`,
      html`<label>SPKI SHA-256 (hex or base64url) <input name="spkiSha256" maxlength="100" /></label>
        <label>or a PEM: public key, certificate or CSR (never a private key) <textarea name="pem" rows="4" style="font:inherit;width:100%"></textarea></label>
        <label>Note <input name="note" maxlength="500" /></label>`,
      html`<button class="danger" type="submit">Block this key</button>`,
      'stack',
    )}
    <h2>Blocked keys</h2>
    ${await blockedKeys(v)}`;
}

function certRows(a: BulkAnswer): Html {
  return table(
    ['Serial', 'Identifiers', 'Account', 'Issued', 'Not after'],
    (a.certificates ?? []).map((c) => [
      html`<code data-field="serial">${c.serial}</code>`,
      c.identifiers.join(', '),
      html`<code>${c.accountId}</code>`,
      when(c.issuedAt),
      when(c.notAfter),
    ]),
    'No live certificate matches.',
  );
}

function confirmForm(v: View, a: BulkAnswer, label: string): Html {
  return postForm(
    v.s,
    `${INCIDENT_PATH}/revoke`,
    hidden({ ...a.selector, reason: a.reason, limit: a.limit }),
    html`<button class="danger" type="submit" data-action="confirm">${label}</button>`,
    'stack',
  );
}

function previewPage(a: BulkAnswer): (v: View) => Promise<Html> {
  return async (v) => {
    const n = a.serials?.length ?? 0;
    const more = a.matched - n;
    return html`<p data-field="summary"><b>${a.matched}</b> live certificate(s) match
        <code>${JSON.stringify(a.selector)}</code>; a run revokes <b>${n}</b> of them with reason
        ${a.reason} (${a.reasonName})${more > 0 ? `, then ${more} remain for further runs (at most ${a.maxPerCall} per run)` : ''}.
        ${a.reason === 1 ? 'Their keys will be blocked.' : ''}</p>
      ${certRows(a)}
      ${n > 0 ? confirmForm(v, a, `Revoke these ${n} certificate(s)`) : ''}
      <p><a href="/admin/ui${INCIDENT_PATH}">Back, revoke nothing</a></p>`;
  };
}

/** What a block did to accounts, for the flash after blocking a key. */
function deactivatedText(data: unknown): string {
  const ids = (data as { deactivatedAccounts?: string[] }).deactivatedAccounts ?? [];
  return ids.length ? ` ${ids.length} account(s) using it deactivated: ${ids.join(', ')}.` : '';
}

function resultPage(a: BulkAnswer): (v: View) => Promise<Html> {
  return async (v) => html`<p data-field="summary">Revoked <b>${a.counts?.revoked ?? 0}</b>, already revoked
      ${a.counts?.alreadyRevoked ?? 0}, failed ${a.counts?.failed ?? 0}, not attempted ${a.counts?.notAttempted ?? 0};
      <b>${a.remaining ?? 0}</b> still match.${a.stoppedBecause ? html` Stopped: ${a.stoppedBecause}.` : ''}
      ${a.blockedKeys?.length ? ` ${a.blockedKeys.length} key(s) blocked.` : ''}
      ${a.deactivatedAccounts?.length ? ` ${a.deactivatedAccounts.length} account(s) using them deactivated: ${a.deactivatedAccounts.join(', ')}.` : ''}</p>
    ${table(
      ['Serial', 'Identifiers', 'Outcome', 'Detail'],
      (a.results ?? []).map((r) => [
        html`<code data-field="serial">${r.serial}</code>`,
        r.identifiers.join(', '),
        html`<span data-field="outcome">${r.outcome}</span>`,
        r.detail ?? '',
      ]),
      'Nothing was left to revoke.',
    )}
    ${a.complete === false ? confirmForm(v, a, `Continue: revoke the ${a.remaining} that remain`) : ''}
    <p><a href="/admin/ui${INCIDENT_PATH}">Back to the incident page</a></p>`;
}

/** The form routes; `action` is index.ts's wrapper (session, Origin, CSRF). */
export function registerIncidentUi(ui: Hono<AppEnv>, action: Action): void {
  const call = (c: C, s: UiSession, method: 'POST' | 'DELETE', path: string, body?: unknown) =>
    adminApi<BulkAnswer>(c.var.svc, c.var.requestId, s, method, path, body);
  const base = { title: TITLE, active: INCIDENT_PATH };

  ui.post(
    `${INCIDENT_PATH}/preview`,
    action(async (c, s, f) => {
      const r = await call(c, s, 'POST', '/bulk-revoke', bulkBody(f, true));
      if (!r.ok)
        return {
          ...base,
          body: (v) => incidentPage(v, f),
          flash: { kind: 'err', text: `Nothing revoked: ${r.detail}` },
        };
      return {
        ...base,
        title: 'Bulk revocation: preview',
        body: previewPage(r.data),
        flash: { kind: 'ok', text: 'Preview only: nothing has been revoked yet.' },
      };
    }),
  );
  ui.post(
    `${INCIDENT_PATH}/revoke`,
    action(async (c, s, f) => {
      const r = await call(c, s, 'POST', '/bulk-revoke', bulkBody(f, false));
      if (!r.ok)
        return {
          ...base,
          body: (v) => incidentPage(v, f),
          flash: { kind: 'err', text: `Not run: ${r.detail}` },
        };
      const a = r.data;
      return {
        ...base,
        title: 'Bulk revocation: result',
        body: resultPage(a),
        flash: a.complete
          ? { kind: 'ok', text: 'Done: every matching certificate is revoked; the next CRL lists them.' }
          : // a partial run is not a bad request: what was revoked is done, the rest continues below
            { kind: 'ok', text: `Not finished: ${a.remaining} certificate(s) still match. Continue below.` },
      };
    }),
  );
  ui.post(
    `${INCIDENT_PATH}/block`,
    action(async (c, s, f) => {
      const body: Record<string, unknown> = {};
      if (f.spkiSha256?.trim()) body.spkiSha256 = f.spkiSha256.trim();
      if (f.pem?.trim()) body.pem = f.pem;
      if (f.note?.trim()) body.note = f.note.trim();
      const r = await call(c, s, 'POST', '/blocked-keys', body);
      return {
        ...base,
        body: (v) => incidentPage(v),
        flash: r.ok
          ? { kind: 'ok', text: `Key blocked.${deactivatedText(r.data)}` }
          : { kind: 'err', text: `Not blocked: ${r.detail}` },
      };
    }),
  );
  ui.post(
    `${INCIDENT_PATH}/unblock/:spki`,
    action(async (c, s) => {
      const spki = c.req.param('spki') ?? '';
      const r = await call(c, s, 'DELETE', `/blocked-keys/${encodeURIComponent(spki)}`);
      return {
        ...base,
        body: (v) => incidentPage(v),
        flash: r.ok ? { kind: 'ok', text: 'Key unblocked.' } : { kind: 'err', text: r.detail },
      };
    }),
  );
}
