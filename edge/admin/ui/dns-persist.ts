// The UI page that gives the exact dns-persist-01 TXT record an operator must publish for one
// account and one name (the admin API's GET /dns-persist-record), with the risk it carries, and
// where dns-persist-01 is enabled. A GET form: nothing changes here.
import { html } from 'hono/html';
import { adminApi } from './api.ts';
import type { Html } from './layout.ts';
import type { View } from './pages.ts';
import { UI_PREFIX as L } from './session.ts';

export const DNS_PERSIST_PATH = '/dns-persist';

type Rec = {
  accountUrl: string;
  name: string;
  issuerDomainNames: string[];
  owner: string;
  value: string;
  zoneLine: string;
  draft01: { value: string; zoneLine: string };
  warning: string;
};

export async function dnsPersistPage(v: View): Promise<Html> {
  const account = v.query('account') ?? '';
  const name = v.query('name') ?? '';
  const wildcard = v.query('wildcard') === 'true';
  const form = html`<form method="get" action="${L}${DNS_PERSIST_PATH}" class="stack">
    <label>Account id <input name="account" value="${account}" required placeholder="the id at the end of the account URL" /></label>
    <label>Name <input name="name" value="${name}" required placeholder="db.corp.example or *.corp.example" /></label>
    <label><input type="checkbox" name="wildcard" value="true" ${wildcard ? 'checked' : ''} /> also wildcards and subdomains (policy=wildcard)</label>
    <button type="submit">Show the record</button>
  </form>`;
  let shown: Html | string = '';
  if (account && name) {
    const q = new URLSearchParams({ account, name, ...(wildcard ? { wildcard: 'true' } : {}) });
    const r = await adminApi<Rec>(v.svc, v.rid, v.s, 'GET', `/dns-persist-record?${q}`);
    shown = r.ok
      ? html`<h2>Record for ${r.data.name}</h2>
          <p class="flash err"><b>Risk:</b> ${r.data.warning}</p>
          <p>Publish this TXT record (draft-ietf-acme-dns-persist-02, a hashed account URI):</p>
          <pre>${r.data.zoneLine}</pre>
          <p>Clients that speak draft -01 (lego 5, acme.sh 3.1.4) write the raw account URL instead; this CA accepts that too:</p>
          <pre>${r.data.draft01.zoneLine}</pre>
          <p class="muted">Account URL <code>${r.data.accountUrl}</code>; issuer domain names ${r.data.issuerDomainNames.join(', ')}.</p>`
      : html`<p class="flash err">${r.detail}</p>`;
  }
  return html`<p>dns-persist-01 is offered only for profiles and EAB keys that enable it
      (<code>npx edgeca admin profile set NAME --opt-in-challenges dns-persist-01</code>, or
      <code>eab update KID --opt-in-challenges dns-persist-01</code>) and while EDGECA_CAA_IDENTITIES names the CA.</p>
    ${form}${shown}`;
}
