// The UI's page frame: one small stylesheet (no build step, no script), a navigation bar that wraps
// on a phone, tables that scroll sideways inside their box, and the helpers every page uses.
// hono/html escapes every interpolated value; raw() is used only for the constant stylesheet.
import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import { UI_PREFIX, type UiSession } from './session.ts';

export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;
/** a table cell or form part: markup, or plain text (escaped) */
export type Cell = Html | string;

const CSS = `
*{box-sizing:border-box}body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2433;background:#f5f6f8}
header{background:#1d2433;color:#fff;padding:.6rem 1rem;display:flex;flex-wrap:wrap;gap:.4rem 1rem;align-items:center}
header strong{font-size:1.05rem;margin-right:.5rem}header a{color:#cfd8ff;text-decoration:none;padding:.2rem 0}
header a.on{color:#fff;border-bottom:2px solid #8ea2ff}header form{margin-left:auto}
main{padding:1rem;max-width:1100px;margin:0 auto}h1{font-size:1.35rem;margin:.2rem 0 1rem}h2{font-size:1.1rem;margin:1.4rem 0 .5rem}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:.7rem}
.card{background:#fff;border:1px solid #dde1ea;border-radius:8px;padding:.8rem}.card b{display:block;font-size:1.6rem}
.box{background:#fff;border:1px solid #dde1ea;border-radius:8px;overflow-x:auto}
table{border-collapse:collapse;width:100%;min-width:520px}th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid #eef0f4;vertical-align:top}
th{background:#fafbfc;font-weight:600;white-space:nowrap}td code{word-break:break-all}
form.inline{display:inline}form.stack{display:grid;gap:.6rem;max-width:520px;background:#fff;border:1px solid #dde1ea;border-radius:8px;padding:1rem}
label{display:grid;gap:.2rem;font-weight:600}input,select{font:inherit;padding:.45rem;border:1px solid #b9c0cf;border-radius:6px;width:100%}
button{font:inherit;padding:.45rem .9rem;border:0;border-radius:6px;background:#3451d1;color:#fff;cursor:pointer}
button.danger{background:#b3261e}button.quiet{background:#5b6478}
.flash{padding:.7rem 1rem;border-radius:8px;margin-bottom:1rem;background:#e7f5ea;border:1px solid #9bd3a6}
.flash.err{background:#fdecea;border-color:#f1a7a0}.secret{font-family:ui-monospace,monospace;word-break:break-all;background:#fff8e1;padding:.6rem;border-radius:6px;border:1px solid #f0d68a}
.search{display:flex;flex-wrap:wrap;gap:.5rem;margin-bottom:.8rem}.search input,.search select{width:auto;flex:1 1 160px}
.muted{color:#5b6478}.st-valid,.st-active{color:#1b7f3b}.st-invalid,.st-revoked{color:#b3261e}
fieldset{border:1px solid #dde1ea;border-radius:6px;display:grid;gap:.2rem}label.check{display:flex;gap:.4rem;font-weight:400}label.check input{width:auto}
figure.chart{margin:0;background:#fff;border:1px solid #dde1ea;border-radius:8px;padding:.5rem}figcaption{font-size:.85rem;color:#5b6478}
.key i{display:inline-block;width:.8em;height:.8em;margin-right:.3em;vertical-align:-.05em}
@media (max-width:600px){main{padding:.6rem}h1{font-size:1.2rem}}
`;

const NAV: [string, string][] = [
  ['', 'Dashboard'],
  ['/certificates', 'Certificates'],
  ['/orders', 'Orders'],
  ['/accounts', 'Accounts'],
  ['/eab', 'EAB keys'],
  ['/policies', 'Policies'],
  ['/profiles', 'Profiles'],
  ['/rate-limits', 'Rate limits'],
  ['/changes', 'Change log'],
  ['/incident', 'Incident'],
  ['/webhooks', 'Webhooks'],
  ['/trends', 'Trends'],
];

export interface Flash {
  kind: 'ok' | 'err';
  text: string | Html;
}

export function page(o: {
  title: string;
  active: string;
  session?: UiSession;
  flash?: Flash;
  body: Html;
}): Html {
  const nav = o.session
    ? html`${NAV.map(
        ([p, label]) => html`<a href="${UI_PREFIX}${p}" class="${p === o.active ? 'on' : ''}">${label}</a>`,
      )}
      <form method="post" action="${UI_PREFIX}/logout" class="inline">
        <input type="hidden" name="csrf" value="${o.session.csrf}" />
        <button class="quiet" type="submit">Log out (${o.session.admin.name || o.session.admin.id})</button>
      </form>`
    : '';
  return html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="referrer" content="same-origin" />
    <title>${o.title} · edgeca</title>
    <style>${raw(CSS)}</style>
  </head>
  <body>
    <header><strong>edgeca</strong>${nav}</header>
    <main>
      <h1>${o.title}</h1>
      ${o.flash ? html`<div class="flash ${o.flash.kind === 'err' ? 'err' : ''}" role="status">${o.flash.text}</div>` : ''}
      ${o.body}
    </main>
  </body>
</html>`;
}

/** A table in a sideways-scrolling box; an empty list says so. */
export function table(head: string[], rows: Cell[][], empty = 'Nothing here yet.'): Html {
  if (rows.length === 0) return html`<p class="muted">${empty}</p>`;
  return html`<div class="box"><table>
    <thead><tr>${head.map((h) => html`<th>${h}</th>`)}</tr></thead>
    <tbody>${rows.map((r) => html`<tr>${r.map((cell) => html`<td>${cell}</td>`)}</tr>`)}</tbody>
  </table></div>`;
}

/** A POST form with the session's CSRF field. */
export function postForm(s: UiSession, action: string, fields: Cell, button: Html, cls = 'inline'): Html {
  return html`<form method="post" action="${UI_PREFIX}${action}" class="${cls}">
    <input type="hidden" name="csrf" value="${s.csrf}" />${fields}${button}
  </form>`;
}

/** "2026-05-01 12:00" from an ISO string (UTC), or "—". */
export function when(iso: unknown): string {
  return typeof iso === 'string' && iso.length >= 16 ? `${iso.slice(0, 10)} ${iso.slice(11, 16)}` : '—';
}

export const status = (s: string) => html`<span class="st-${s}">${s}</span>`;

export const idents = (v: unknown) =>
  Array.isArray(v)
    ? v
        .map((i: { type?: string; value?: string } | string) => (typeof i === 'string' ? i : (i.value ?? '')))
        .join(', ')
    : '';
