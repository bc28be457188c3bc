// The scopes a policy or a rate-limit override is set for: "global", "eab:<kid>" or "account:<id>",
// naming an EAB key or an account that exists (a 404 naming the field otherwise).
import { type AdminContext, AdminError, bad } from './http.ts';

/** "global", "eab:<kid>" or "account:<id>", naming something that exists */
export async function policyScope(c: AdminContext, scope: string): Promise<string> {
  if (scope === 'global') return scope;
  const m = /^(eab|account):(.+)$/.exec(scope);
  if (!m) throw bad('scope', 'must be "global", "eab:<kid>" or "account:<id>"');
  return ownerScope(c, m[1] as 'eab' | 'account', m[2]!);
}

export async function ownerScope(c: AdminContext, kind: 'eab' | 'account', id: string): Promise<string> {
  const { svc } = c.var;
  const exists = kind === 'eab' ? await svc.eab.get(id) : await svc.accounts.get(id);
  if (!exists)
    throw new AdminError('notFound', `no ${kind === 'eab' ? 'EAB key' : 'account'} "${id}"`, 'scope');
  return `${kind}:${id}`;
}
