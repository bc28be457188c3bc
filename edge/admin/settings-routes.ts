// Admin API: name policies, profiles and the default profile, rate limits and their overrides.
// Each write is one batch with its change-log row (token, time, before, after).

import type { Hono } from 'hono';
import { parsePolicy } from '../policy/engine.ts';
import {
  EKUS,
  IDENTIFIER_TYPES,
  LEAF_KEY_TYPES,
  LIMIT_NAMES,
  type LimitName,
  type Profile,
} from '../storage/settings.ts';
import { OPT_IN_SCHEMA, optInField } from './challenge-opt-ins.ts';
import {
  type AdminApiPart,
  type AdminContext,
  type AdminEnv,
  AdminError,
  bad,
  body,
  bool,
  int,
  onlyFields,
  record,
  str,
  subset,
} from './http.ts';

const PROFILE_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const MAX_VALIDITY_S = 398 * 86_400;
const MAX_WINDOW_S = 31 * 86_400;

/** "global", "eab:<kid>" or "account:<id>", naming something that exists */
async function policyScope(c: AdminContext, scope: string): Promise<string> {
  if (scope === 'global') return scope;
  const m = /^(eab|account):(.+)$/.exec(scope);
  if (!m) throw bad('scope', 'must be "global", "eab:<kid>" or "account:<id>"');
  return ownerScope(c, m[1] as 'eab' | 'account', m[2]!);
}

async function ownerScope(c: AdminContext, kind: 'eab' | 'account', id: string): Promise<string> {
  const { svc } = c.var;
  const exists = kind === 'eab' ? await svc.eab.get(id) : await svc.accounts.get(id);
  if (!exists)
    throw new AdminError('notFound', `no ${kind === 'eab' ? 'EAB key' : 'account'} "${id}"`, 'scope');
  return `${kind}:${id}`;
}

export function parseProfile(name: string, o: Record<string, unknown>): Profile {
  if (!PROFILE_NAME.test(name)) throw bad('name', 'lowercase letters, digits, ".", "_" or "-", at most 63');
  onlyFields(o, [
    'description',
    'validitySeconds',
    'keyTypes',
    'ekus',
    'identifierTypes',
    'allowWildcards',
    'signerProfile',
    'optInChallenges',
  ]);
  const validitySeconds = int(o, 'validitySeconds', 60, MAX_VALIDITY_S);
  if (validitySeconds === undefined) throw bad('validitySeconds', 'is required (seconds, e.g. 86400)');
  const signerProfile = str(o, 'signerProfile', 63) ?? name;
  if (!PROFILE_NAME.test(signerProfile))
    throw bad('signerProfile', 'must be a profile name of the signer ceiling');
  return {
    name,
    description: str(o, 'description') ?? '',
    validitySeconds,
    keyTypes: subset(o, 'keyTypes', LEAF_KEY_TYPES) ?? [...LEAF_KEY_TYPES],
    ekus: subset(o, 'ekus', EKUS) ?? [...EKUS],
    identifierTypes: subset(o, 'identifierTypes', IDENTIFIER_TYPES) ?? [...IDENTIFIER_TYPES],
    allowWildcards: bool(o, 'allowWildcards') ?? true,
    signerProfile,
    optInChallenges: optInField(o) ?? [],
  };
}

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

export function registerSettingsRoutes(r: Hono<AdminEnv>): void {
  r.get('/policies', async (c) => c.json({ policies: await (await c.var.svc.stores()).settings.policies() }));
  r.get('/policies/:scope', async (c) => {
    const scope = await policyScope(c, c.req.param('scope'));
    const p = await (await c.var.svc.stores()).settings.policy(scope);
    return c.json({ scope, ...(p ?? { allow: [], deny: [] }), set: p !== undefined });
  });
  r.put('/policies/:scope', async (c) => {
    const scope = await policyScope(c, c.req.param('scope'));
    const parsed = parsePolicy(await body(c));
    if (!parsed.ok) throw bad(parsed.field, parsed.error);
    const { settings } = await c.var.svc.stores();
    const before = await settings.policy(scope);
    await record(c, 'policy.set', `policy:${scope}`, before, parsed.policy, [
      settings.putPolicy(scope, parsed.policy),
    ]);
    return c.json({ scope, ...parsed.policy, set: true });
  });
  r.delete('/policies/:scope', async (c) => {
    const scope = await policyScope(c, c.req.param('scope'));
    const { settings } = await c.var.svc.stores();
    const before = await settings.policy(scope);
    if (!before) throw new AdminError('notFound', `no policy is set for ${scope}`);
    await record(c, 'policy.delete', `policy:${scope}`, before, null, [settings.deletePolicy(scope)]);
    return c.body(null, 204);
  });

  r.get('/profiles', async (c) => {
    const { settings } = await c.var.svc.stores();
    const dflt = await settings.defaultProfile();
    return c.json({
      default: dflt ?? null,
      profiles: (await settings.profiles()).map((p) => ({ ...p, default: p.name === dflt })),
    });
  });
  r.get('/profiles/:name', async (c) => {
    const p = await (await c.var.svc.stores()).settings.profile(c.req.param('name'));
    if (!p) throw new AdminError('notFound', `no profile "${c.req.param('name')}"`);
    return c.json(p);
  });
  r.put('/profiles/:name', async (c) => {
    const p = parseProfile(c.req.param('name'), await body(c));
    const { settings } = await c.var.svc.stores();
    const before = await settings.profile(p.name);
    await record(c, before ? 'profile.update' : 'profile.create', `profile:${p.name}`, before, p, [
      settings.putProfile(p),
    ]);
    return c.json(p, before ? 200 : 201);
  });
  r.delete('/profiles/:name', async (c) => {
    const name = c.req.param('name');
    const { settings } = await c.var.svc.stores();
    const before = await settings.profile(name);
    if (!before) throw new AdminError('notFound', `no profile "${name}"`);
    if ((await settings.defaultProfile()) === name)
      throw new AdminError(
        'conflict',
        `"${name}" is the default profile; make another one the default first`,
      );
    await record(c, 'profile.delete', `profile:${name}`, before, null, [settings.deleteProfile(name)]);
    return c.body(null, 204);
  });
  r.put('/default-profile', async (c) => {
    const o = await body(c);
    onlyFields(o, ['name']);
    const name = str(o, 'name', 63);
    const { settings } = await c.var.svc.stores();
    if (name === undefined) throw bad('name', 'is required');
    if (!(await settings.profile(name))) throw bad('name', `no profile "${name}" exists`);
    const before = await settings.defaultProfile();
    await record(c, 'profile.default', 'default-profile', before ?? null, name, [
      settings.setDefaultProfile(name),
    ]);
    return c.json({ default: name });
  });

  r.get('/rate-limits', async (c) => {
    const { settings } = await c.var.svc.stores();
    return c.json({
      names: LIMIT_NAMES,
      limits: await settings.limits(),
      overrides: await settings.overrides(),
    });
  });
  r.put('/rate-limits/:name', async (c) => {
    const name = limitName(c.req.param('name'));
    const l = parseLimit(await body(c));
    const { settings } = await c.var.svc.stores();
    const before = (await settings.limits()).find((x) => x.name === name);
    await record(c, 'ratelimit.set', `ratelimit:${name}`, before, { name, ...l }, [
      settings.putLimit(name, l),
    ]);
    return c.json({ name, ...l });
  });
  r.delete('/rate-limits/:name', async (c) => {
    const name = limitName(c.req.param('name'));
    const { settings } = await c.var.svc.stores();
    const before = (await settings.limits()).find((x) => x.name === name);
    if (!before) throw new AdminError('notFound', `rate limit ${name} is not set`);
    await record(c, 'ratelimit.delete', `ratelimit:${name}`, before, null, [settings.deleteLimit(name)]);
    return c.body(null, 204);
  });
  r.put('/rate-limits/:name/overrides/:scope', async (c) => {
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
  });
  r.delete('/rate-limits/:name/overrides/:scope', async (c) => {
    const name = limitName(c.req.param('name'));
    const scope = c.req.param('scope');
    const { settings } = await c.var.svc.stores();
    const before = (await settings.overrides()).find((x) => x.name === name && x.scope === scope);
    if (!before) throw new AdminError('notFound', `no override of ${name} for ${scope}`);
    await record(c, 'ratelimit.override.delete', `ratelimit:${name}:${scope}`, before, null, [
      settings.deleteOverride(name, scope),
    ]);
    return c.body(null, 204);
  });
}

const arr = (items: readonly string[]) => ({ type: 'array', items: { type: 'string', enum: [...items] } });
const rules = { type: 'array', items: { type: 'string' }, description: 'name, *.wildcard, .suffix or CIDR' };

/** This resource's part of the OpenAPI document (openapi.ts assembles the parts). */
export const SETTINGS_API: AdminApiPart = {
  ops: [
    ['get', '/policies', 'List the name policies of every scope'],
    ['get', '/policies/{scope}', 'Show one policy (scope: global, eab:<kid>, account:<id>)'],
    ['put', '/policies/{scope}', 'Set a policy', 'Policy'],
    ['delete', '/policies/{scope}', 'Remove a policy'],
    ['get', '/profiles', 'List profiles and the default'],
    ['get', '/profiles/{name}', 'Show a profile'],
    ['put', '/profiles/{name}', 'Create or replace a profile', 'Profile'],
    ['delete', '/profiles/{name}', 'Delete a profile (not the default)'],
    ['put', '/default-profile', 'Choose the profile of orders that name none', 'DefaultProfile'],
    ['get', '/rate-limits', 'List rate limits and overrides'],
    ['put', '/rate-limits/{name}', 'Set a rate limit', 'Limit'],
    ['delete', '/rate-limits/{name}', 'Turn a rate limit off'],
    [
      'put',
      '/rate-limits/{name}/overrides/{scope}',
      'Override a limit for account:<id> or eab:<kid>',
      'Limit',
    ],
    ['delete', '/rate-limits/{name}/overrides/{scope}', 'Remove an override'],
  ],
  schemas: {
    Policy: { type: 'object', properties: { allow: rules, deny: rules }, additionalProperties: false },
    Profile: {
      type: 'object',
      required: ['validitySeconds'],
      additionalProperties: false,
      properties: {
        description: { type: 'string' },
        validitySeconds: { type: 'integer', minimum: 60 },
        keyTypes: arr(LEAF_KEY_TYPES),
        ekus: arr(EKUS),
        identifierTypes: arr(IDENTIFIER_TYPES),
        allowWildcards: { type: 'boolean' },
        signerProfile: { type: 'string', description: 'the signer ceiling profile (default: the same name)' },
        optInChallenges: OPT_IN_SCHEMA,
      },
    },
    DefaultProfile: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } },
    Limit: {
      type: 'object',
      required: ['count', 'windowSeconds'],
      properties: { count: { type: 'integer', minimum: 0 }, windowSeconds: { type: 'integer', minimum: 1 } },
      description: `names: ${LIMIT_NAMES.join(', ')}`,
    },
  },
};
