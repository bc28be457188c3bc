// A tiny browser for in-process admin UI tests: a cookie jar over app.request, form posts, login
// with an admin token, and readers for the fields of a rendered form.
import assert from 'node:assert/strict';
import type { InprocEdge } from './edge-app.ts';

export const UI = 'https://acme.test:14000/admin/ui';

export type UiFetch = (
  path: string,
  init?: RequestInit & { form?: Record<string, string> },
) => Promise<{ res: Response; text: string }>;

export function uiClient(edge: InprocEdge): UiFetch {
  const jar = new Map<string, string>();
  return async (path, init = {}) => {
    const headers = new Headers(init.headers);
    if (jar.size) headers.set('cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '));
    let body = init.body;
    if (init.form) {
      headers.set('content-type', 'application/x-www-form-urlencoded');
      body = new URLSearchParams(init.form).toString();
    }
    const res = await edge.app.request(`${UI}${path}`, { ...init, headers, ...(body ? { body } : {}) });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      const v = pair!.slice(i + 1);
      if (v === '' || /max-age=0/i.test(c)) jar.delete(pair!.slice(0, i));
      else jar.set(pair!.slice(0, i), v);
    }
    return { res, text: await res.text() };
  };
}

const htmlText = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

/** The value of the first input named `name` on the page. */
export const fieldOf = (page: string, name: string) =>
  htmlText(new RegExp(`name="${name}" value="([^"]*)"`).exec(page)?.[1] ?? '');

/** Every input (name → value) of the form posting to `action`. */
export function formFields(page: string, action: string): Record<string, string> {
  const start = page.indexOf(`action="${action}"`);
  assert.ok(start >= 0, `a form posting to ${action}`);
  const form = page.slice(start, page.indexOf('</form>', start));
  const out: Record<string, string> = {};
  for (const m of form.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g))
    out[m[1]!] = htmlText(m[2]!);
  return out;
}

export async function uiLogIn(edge: InprocEdge, token: string): Promise<UiFetch> {
  const b = uiClient(edge);
  const login = await b('/login');
  const r = await b('/login', { method: 'POST', form: { nonce: fieldOf(login.text, 'nonce'), token } });
  assert.equal(r.res.status, 303);
  return b;
}
