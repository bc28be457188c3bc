// Admin API: EAB keys (RFC 8555 §7.3.4) with their policy, profiles, expiry, account limit and
// pre-authorization; the key's HMAC is shown once, when it is made (edge/admin/eab-keys.ts builds
// the rows and change-log entries, the same for the CLI).
import { parsePolicy } from '../../policy/engine.ts';
import type { EabKeyRow } from '../../storage/schema.ts';
import { DEFAULT_EAB_SETTINGS, type EabSettings, type Stmt } from '../../storage/settings.ts';
import { eabKeyCreation, eabKeyRevocation, eabKeyView, MAX_ACCOUNTS_LIMIT } from '../eab-keys.ts';
import { body, bool, int, onlyFields, str, time } from '../fields.ts';
import { type AdminContext, AdminError, bad, iso } from '../http.ts';
import { OPT_IN_SCHEMA, optInField } from '../opt-in-challenges.ts';
import { type AdminResource, found, record, recordChange, route } from '../resource.ts';

async function eabView(c: AdminContext, k: EabKeyRow, s?: EabSettings, bound?: number) {
  const { settings } = await c.var.svc.stores();
  return eabKeyView(
    k,
    s ?? (await settings.eabSettings(k.kid)),
    await settings.policy(`eab:${k.kid}`),
    bound ?? (await c.var.svc.eab.boundAccounts(k.kid)),
  );
}

/** maxAccounts: a positive integer, or null for no limit; undefined when absent. */
function maxAccountsField(o: Record<string, unknown>): number | null | undefined {
  if (o.maxAccounts === null) return null;
  return int(o, 'maxAccounts', 1, MAX_ACCOUNTS_LIMIT);
}

/** The EAB settings fields of a create or update body, checked (profiles must exist). */
async function eabFields(c: AdminContext, o: Record<string, unknown>, base: EabSettings) {
  const { settings } = await c.var.svc.stores();
  const out: EabSettings = { ...base };
  if (o.profiles !== undefined) {
    if (o.profiles === null) out.profiles = null;
    else {
      if (!Array.isArray(o.profiles) || o.profiles.some((p) => typeof p !== 'string'))
        throw bad('profiles', 'must be an array of profile names, or null for every profile');
      const known = new Set((await settings.profiles()).map((p) => p.name));
      const unknown = (o.profiles as string[]).filter((p) => !known.has(p));
      if (unknown.length) throw bad('profiles', `no such profile: ${unknown.join(', ')}`);
      out.profiles = [...new Set(o.profiles as string[])];
    }
  }
  const exp = time(o, 'expiresAt');
  if (exp !== undefined) out.expiresAt = exp;
  const pre = bool(o, 'preAuthorize');
  if (pre !== undefined) out.preAuthorize = pre;
  const optIn = optInField(o);
  if (optIn !== undefined) out.optInChallenges = optIn;
  let policy: { allow: string[]; deny: string[] } | null | undefined;
  if (o.policy === null) policy = null;
  else if (o.policy !== undefined) {
    const parsed = parsePolicy(o.policy);
    if (!parsed.ok) throw bad(`policy.${parsed.field}`, parsed.error);
    policy = parsed.policy;
  }
  return { settings: out, policy };
}

async function eabKey(c: AdminContext): Promise<EabKeyRow> {
  const kid = c.req.param('kid') ?? '';
  return found(await c.var.svc.eab.get(kid), `EAB key "${kid}"`);
}

export const EAB_KEYS: AdminResource = {
  routes: [
    route('get', '/eab-keys', 'List EAB keys (never their HMAC)', async (c) => {
      const { settings } = await c.var.svc.stores();
      const all = await settings.allEabSettings();
      const keys = await c.var.svc.eab.list();
      const bound = await c.var.svc.eab.boundAccountsByKey();
      return c.json({
        keys: await Promise.all(
          keys.map((k) => eabView(c, k, all.get(k.kid) ?? DEFAULT_EAB_SETTINGS, bound.get(k.kid) ?? 0)),
        ),
      });
    }),
    route(
      'post',
      '/eab-keys',
      'Create an EAB key; the answer holds its HMAC key, once',
      async (c) => {
        const o = await body(c);
        onlyFields(o, [
          'name',
          'policy',
          'profiles',
          'expiresAt',
          'preAuthorize',
          'maxAccounts',
          'optInChallenges',
        ]);
        const name = str(o, 'name') ?? '';
        const maxAccounts = maxAccountsField(o);
        const f = await eabFields(c, o, DEFAULT_EAB_SETTINGS);
        if (f.settings.expiresAt !== null && f.settings.expiresAt <= Date.now())
          throw bad('expiresAt', 'lies in the past');
        const made = eabKeyCreation(await c.var.svc.stores(), {
          name,
          settings: f.settings,
          policy: f.policy ?? null,
          maxAccounts: maxAccounts === undefined ? 1 : maxAccounts,
        });
        await recordChange(c, made.change, made.stmts);
        const key = (await c.var.svc.eab.get(made.kid))!;
        // The HMAC key is in this answer only; no other view shows it.
        return c.json({ ...(await eabView(c, key)), hmacKey: made.hmacKey }, 201);
      },
      'EabKey',
    ),
    route('get', '/eab-keys/:kid', 'Show an EAB key', async (c) => c.json(await eabView(c, await eabKey(c)))),
    route(
      'patch',
      '/eab-keys/:kid',
      'Change the policy, profiles, expiry or pre-authorization of a key',
      async (c) => {
        const k = await eabKey(c);
        const o = await body(c);
        onlyFields(o, ['policy', 'profiles', 'expiresAt', 'preAuthorize', 'maxAccounts', 'optInChallenges']);
        const { settings, admin } = await c.var.svc.stores();
        const beforeView = await eabView(c, k);
        const maxAccounts = maxAccountsField(o);
        const f = await eabFields(c, o, await settings.eabSettings(k.kid));
        const stmts: Stmt[] = [settings.putEabSettings(k.kid, f.settings)];
        // Lowering the limit below the accounts already bound unbinds none: it only stops new ones.
        if (maxAccounts !== undefined) stmts.push(admin.setEabMaxAccounts(k.kid, maxAccounts));
        if (f.policy === null) stmts.push(settings.deletePolicy(`eab:${k.kid}`));
        else if (f.policy) stmts.push(settings.putPolicy(`eab:${k.kid}`, f.policy));
        const policy = f.policy === undefined ? beforeView.policy : f.policy;
        await record(
          c,
          'eab.update',
          `eab:${k.kid}`,
          beforeView,
          {
            ...beforeView,
            ...f.settings,
            expiresAt: iso(f.settings.expiresAt),
            policy,
            ...(maxAccounts !== undefined ? { maxAccounts } : {}),
          },
          stmts,
        );
        return c.json(await eabView(c, (await c.var.svc.eab.get(k.kid)) ?? k));
      },
      'EabKeyUpdate',
    ),
    route(
      'post',
      '/eab-keys/:kid/revoke',
      'Revoke an EAB key (its accounts can no longer order)',
      async (c) => {
        const k = await eabKey(c);
        if (k.revokedAt)
          throw new AdminError('conflict', `EAB key ${k.kid} was already revoked on ${iso(k.revokedAt)}`);
        const made = eabKeyRevocation(await c.var.svc.stores(), await eabView(c, k));
        await recordChange(c, made.change, made.stmts);
        return c.json(await eabView(c, (await c.var.svc.eab.get(k.kid))!));
      },
    ),
  ],
  schemas: {
    EabKeyUpdate: {
      type: 'object',
      additionalProperties: false,
      properties: {
        policy: { oneOf: [{ $ref: '#/components/schemas/Policy' }, { type: 'null' }] },
        profiles: { oneOf: [{ type: 'array', items: { type: 'string' } }, { type: 'null' }] },
        expiresAt: { oneOf: [{ type: 'string', format: 'date-time' }, { type: 'null' }] },
        preAuthorize: { type: 'boolean' },
        optInChallenges: OPT_IN_SCHEMA,
        maxAccounts: {
          oneOf: [{ type: 'integer', minimum: 1, maximum: MAX_ACCOUNTS_LIMIT }, { type: 'null' }],
          description: 'accounts the key may bind (default 1); null: no limit',
        },
      },
    },
    EabKey: {
      allOf: [
        { $ref: '#/components/schemas/EabKeyUpdate' },
        { type: 'object', properties: { name: { type: 'string' } } },
      ],
    },
  },
};
