// Admin API: certificate profiles (validity, key types, EKUs, identifier types, wildcards, the
// signer ceiling profile, opt-in challenges) and the default profile of orders that name none.
// Each write is one batch with its change-log row.
import { EKUS, IDENTIFIER_TYPES, LEAF_KEY_TYPES, type Profile } from '../../storage/settings.ts';
import { body, bool, int, onlyFields, str, subset } from '../fields.ts';
import { AdminError, bad } from '../http.ts';
import { OPT_IN_SCHEMA, optInField } from '../opt-in-challenges.ts';
import { type AdminResource, found, record, route } from '../resource.ts';

const PROFILE_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const MAX_VALIDITY_S = 398 * 86_400;

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

const arr = (items: readonly string[]) => ({ type: 'array', items: { type: 'string', enum: [...items] } });

export const PROFILES: AdminResource = {
  routes: [
    route('get', '/profiles', 'List profiles and the default', async (c) => {
      const { settings } = await c.var.svc.stores();
      const dflt = await settings.defaultProfile();
      return c.json({
        default: dflt ?? null,
        profiles: (await settings.profiles()).map((p) => ({ ...p, default: p.name === dflt })),
      });
    }),
    route('get', '/profiles/:name', 'Show a profile', async (c) =>
      c.json(
        found(
          await (await c.var.svc.stores()).settings.profile(c.req.param('name')),
          `profile "${c.req.param('name')}"`,
        ),
      ),
    ),
    route(
      'put',
      '/profiles/:name',
      'Create or replace a profile',
      async (c) => {
        const p = parseProfile(c.req.param('name'), await body(c));
        const { settings } = await c.var.svc.stores();
        const before = await settings.profile(p.name);
        await record(c, before ? 'profile.update' : 'profile.create', `profile:${p.name}`, before, p, [
          settings.putProfile(p),
        ]);
        return c.json(p, before ? 200 : 201);
      },
      'Profile',
    ),
    route('delete', '/profiles/:name', 'Delete a profile (not the default)', async (c) => {
      const name = c.req.param('name');
      const { settings } = await c.var.svc.stores();
      const before = found(await settings.profile(name), `profile "${name}"`);
      if ((await settings.defaultProfile()) === name)
        throw new AdminError(
          'conflict',
          `"${name}" is the default profile; make another one the default first`,
        );
      await record(c, 'profile.delete', `profile:${name}`, before, null, [settings.deleteProfile(name)]);
      return c.body(null, 204);
    }),
    route(
      'put',
      '/default-profile',
      'Choose the profile of orders that name none',
      async (c) => {
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
      },
      'DefaultProfile',
    ),
  ],
  schemas: {
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
  },
};
