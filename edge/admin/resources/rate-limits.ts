// Admin API: rate limits (edge/ratelimit/) and their overrides per account or EAB key. Each write
// is one batch with its change-log row.
import { LIMIT_NAMES, type LimitName } from '../../storage/settings.ts';
import { body, int, onlyFields } from '../fields.ts';
import { AdminError, bad } from '../http.ts';
import { type AdminResource, record, route } from '../resource.ts';
import { ownerScope } from '../scopes.ts';

const MAX_WINDOW_S = 31 * 86_400;

function limitName(n: string): LimitName {
  if (!(LIMIT_NAMES as readonly string[]).includes(n))
    throw bad('name', `must be one of ${LIMIT_NAMES.join(', ')}`);
  return n as LimitName;
}

function parseLimit(o: Record<string, unknown>) {
  onlyFields(o, ['count', 'windowSeconds']);
  const count = int(o, 'count', 0, 1_000_000);
  const windowSeconds = int(o, 'windowSeconds', 1, MAX_WINDOW_S);
  if (count === undefined) throw bad('count', 'is required (requests per window; 0 refuses all)');
  if (windowSeconds === undefined) throw bad('windowSeconds', 'is required (seconds)');
  return { count, windowSeconds };
}

export const RATE_LIMITS: AdminResource = {
  routes: [
    route('get', '/rate-limits', 'List rate limits and overrides', async (c) => {
      const { settings } = await c.var.svc.stores();
      return c.json({
        names: LIMIT_NAMES,
        limits: await settings.limits(),
        overrides: await settings.overrides(),
      });
    }),
    route(
      'put',
      '/rate-limits/:name',
      'Set a rate limit',
      async (c) => {
        const name = limitName(c.req.param('name'));
        const l = parseLimit(await body(c));
        const { settings } = await c.var.svc.stores();
        const before = (await settings.limits()).find((x) => x.name === name);
        await record(c, 'ratelimit.set', `ratelimit:${name}`, before, { name, ...l }, [
          settings.putLimit(name, l),
        ]);
        return c.json({ name, ...l });
      },
      'Limit',
    ),
    route('delete', '/rate-limits/:name', 'Turn a rate limit off', async (c) => {
      const name = limitName(c.req.param('name'));
      const { settings } = await c.var.svc.stores();
      const before = (await settings.limits()).find((x) => x.name === name);
      if (!before) throw new AdminError('notFound', `rate limit ${name} is not set`);
      await record(c, 'ratelimit.delete', `ratelimit:${name}`, before, null, [settings.deleteLimit(name)]);
      return c.body(null, 204);
    }),
    route(
      'put',
      '/rate-limits/:name/overrides/:scope',
      'Override a limit for account:<id> or eab:<kid>',
      async (c) => {
        const name = limitName(c.req.param('name'));
        const m = /^(eab|account):(.+)$/.exec(c.req.param('scope'));
        if (!m) throw bad('scope', 'must be "account:<id>" or "eab:<kid>"');
        if (name === 'newAccountsPerIP' && m[1] !== 'eab')
          throw bad('scope', 'newAccountsPerIP is decided before an account exists: override it per EAB key');
        const scope = await ownerScope(c, m[1] as 'eab' | 'account', m[2]!);
        const l = parseLimit(await body(c));
        const { settings } = await c.var.svc.stores();
        const before = (await settings.overrides()).find((x) => x.name === name && x.scope === scope);
        const o = { name, scope, ...l };
        await record(c, 'ratelimit.override.set', `ratelimit:${name}:${scope}`, before, o, [
          settings.putOverride(o),
        ]);
        return c.json(o);
      },
      'Limit',
    ),
    route('delete', '/rate-limits/:name/overrides/:scope', 'Remove an override', async (c) => {
      const name = limitName(c.req.param('name'));
      const scope = c.req.param('scope');
      const { settings } = await c.var.svc.stores();
      const before = (await settings.overrides()).find((x) => x.name === name && x.scope === scope);
      if (!before) throw new AdminError('notFound', `no override of ${name} for ${scope}`);
      await record(c, 'ratelimit.override.delete', `ratelimit:${name}:${scope}`, before, null, [
        settings.deleteOverride(name, scope),
      ]);
      return c.body(null, 204);
    }),
  ],
  schemas: {
    Limit: {
      type: 'object',
      required: ['count', 'windowSeconds'],
      properties: { count: { type: 'integer', minimum: 0 }, windowSeconds: { type: 'integer', minimum: 1 } },
      description: `names: ${LIMIT_NAMES.join(', ')}`,
    },
  },
};
