// Admin API: name policies (allow and deny rules: names, *.wildcards, .suffixes, CIDR ranges) of
// the global scope, of an EAB key or of an account (edge/policy/engine.ts applies them). Each write
// is one batch with its change-log row.
import { parsePolicy } from '../../policy/engine.ts';
import { body } from '../fields.ts';
import { AdminError, bad } from '../http.ts';
import { type AdminResource, record, route } from '../resource.ts';
import { policyScope } from '../scopes.ts';

const rules = { type: 'array', items: { type: 'string' }, description: 'name, *.wildcard, .suffix or CIDR' };

export const POLICIES: AdminResource = {
  routes: [
    route('get', '/policies', 'List the name policies of every scope', async (c) =>
      c.json({ policies: await (await c.var.svc.stores()).settings.policies() }),
    ),
    route(
      'get',
      '/policies/:scope',
      'Show one policy (scope: global, eab:<kid>, account:<id>)',
      async (c) => {
        const scope = await policyScope(c, c.req.param('scope'));
        const p = await (await c.var.svc.stores()).settings.policy(scope);
        return c.json({ scope, ...(p ?? { allow: [], deny: [] }), set: p !== undefined });
      },
    ),
    route(
      'put',
      '/policies/:scope',
      'Set a policy',
      async (c) => {
        const scope = await policyScope(c, c.req.param('scope'));
        const parsed = parsePolicy(await body(c));
        if (!parsed.ok) throw bad(parsed.field, parsed.error);
        const { settings } = await c.var.svc.stores();
        const before = await settings.policy(scope);
        await record(c, 'policy.set', `policy:${scope}`, before, parsed.policy, [
          settings.putPolicy(scope, parsed.policy),
        ]);
        return c.json({ scope, ...parsed.policy, set: true });
      },
      'Policy',
    ),
    route('delete', '/policies/:scope', 'Remove a policy', async (c) => {
      const scope = await policyScope(c, c.req.param('scope'));
      const { settings } = await c.var.svc.stores();
      const before = await settings.policy(scope);
      if (!before) throw new AdminError('notFound', `no policy is set for ${scope}`);
      await record(c, 'policy.delete', `policy:${scope}`, before, null, [settings.deletePolicy(scope)]);
      return c.body(null, 204);
    }),
  ],
  schemas: {
    Policy: { type: 'object', properties: { allow: rules, deny: rules }, additionalProperties: false },
  },
};
