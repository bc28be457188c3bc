// Admin API: EAB keys (with their policy, profiles, expiry, pre-authorization), accounts, orders,
// certificates, admin tokens, pre-authorized authorizations and the change log.

import type { Hono } from 'hono';
import { toHex } from '../../shared/encoding.ts';
import { certIdOf } from '../acme/ari.ts';
import { blockKeys } from '../acme/block-keys.ts';
import { compromisedCertificateKey, KEY_COMPROMISE } from '../acme/compromised-keys.ts';
import { parsePolicy } from '../policy/engine.ts';
import { revocationTime } from '../relay/signer-client.ts';
import type { EabKeyRow } from '../storage/schema.ts';
import { DEFAULT_EAB_SETTINGS, type EabSettings, type Stmt } from '../storage/settings.ts';
import { storesOf } from '../storage/stores.ts';
import { eabKeyCreation, eabKeyRevocation, eabKeyView, MAX_ACCOUNTS_LIMIT } from './eab-keys.ts';
import {
  type AdminApiPart,
  type AdminContext,
  type AdminEnv,
  AdminError,
  bad,
  body,
  bool,
  int,
  iso,
  onlyFields,
  queryInt,
  record,
  str,
  time,
} from './http.ts';

async function eabView(c: AdminContext, k: EabKeyRow, s?: EabSettings, bound?: number) {
  const { settings } = await storesOf(c.var.svc);
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
  const { settings } = await storesOf(c.var.svc);
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
  const k = await c.var.svc.eab.get(c.req.param('kid') ?? '');
  if (!k) throw new AdminError('notFound', `no EAB key "${c.req.param('kid')}"`);
  return k;
}

export function registerObjectRoutes(r: Hono<AdminEnv>): void {
  r.get('/eab-keys', async (c) => {
    const { settings } = await storesOf(c.var.svc);
    const all = await settings.allEabSettings();
    const keys = await c.var.svc.eab.list();
    const bound = await c.var.svc.eab.boundAccountsByKey();
    return c.json({
      keys: await Promise.all(
        keys.map((k) => eabView(c, k, all.get(k.kid) ?? DEFAULT_EAB_SETTINGS, bound.get(k.kid) ?? 0)),
      ),
    });
  });
  r.post('/eab-keys', async (c) => {
    const o = await body(c);
    onlyFields(o, ['name', 'policy', 'profiles', 'expiresAt', 'preAuthorize', 'maxAccounts']);
    const name = str(o, 'name') ?? '';
    const maxAccounts = maxAccountsField(o);
    const f = await eabFields(c, o, DEFAULT_EAB_SETTINGS);
    if (f.settings.expiresAt !== null && f.settings.expiresAt <= Date.now())
      throw bad('expiresAt', 'lies in the past');
    const made = eabKeyCreation(await storesOf(c.var.svc), {
      name,
      settings: f.settings,
      policy: f.policy ?? null,
      maxAccounts: maxAccounts === undefined ? 1 : maxAccounts,
    });
    const { action, target, before, after } = made.change;
    await record(c, action, target, before, after, made.stmts);
    const key = (await c.var.svc.eab.get(made.kid))!;
    // The HMAC key is in this answer only; no other view shows it.
    return c.json({ ...(await eabView(c, key)), hmacKey: made.hmacKey }, 201);
  });
  r.get('/eab-keys/:kid', async (c) => c.json(await eabView(c, await eabKey(c))));
  r.patch('/eab-keys/:kid', async (c) => {
    const k = await eabKey(c);
    const o = await body(c);
    onlyFields(o, ['policy', 'profiles', 'expiresAt', 'preAuthorize', 'maxAccounts']);
    const { settings, admin } = await storesOf(c.var.svc);
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
  });
  r.post('/eab-keys/:kid/revoke', async (c) => {
    const k = await eabKey(c);
    if (k.revokedAt)
      throw new AdminError('conflict', `EAB key ${k.kid} was already revoked on ${iso(k.revokedAt)}`);
    const made = eabKeyRevocation(await storesOf(c.var.svc), await eabView(c, k));
    const { action, target, before, after } = made.change;
    await record(c, action, target, before, after, made.stmts);
    return c.json(await eabView(c, (await c.var.svc.eab.get(k.kid))!));
  });

  r.get('/accounts', async (c) => {
    const { admin } = await storesOf(c.var.svc);
    const rows = await admin.accounts({
      ...(c.req.query('eab') ? { eabKid: c.req.query('eab')! } : {}),
      ...(c.req.query('status') ? { status: c.req.query('status')! } : {}),
      limit: queryInt(c, 'limit', 100, 1000),
    });
    return c.json({
      accounts: rows.map((a) => ({ ...a, contact: JSON.parse(a.contact), createdAt: iso(a.createdAt) })),
    });
  });
  r.post('/accounts/:id/deactivate', async (c) => {
    const a = await c.var.svc.accounts.get(c.req.param('id'));
    if (!a) throw new AdminError('notFound', `no account "${c.req.param('id')}"`);
    if (a.status !== 'valid') throw new AdminError('conflict', `the account is already ${a.status}`);
    const { admin } = await storesOf(c.var.svc);
    await record(
      c,
      'account.deactivate',
      `account:${a.id}`,
      { status: a.status },
      { status: 'deactivated' },
      [admin.deactivateAccount(a.id)],
    );
    return c.json({ id: a.id, status: 'deactivated' });
  });

  r.get('/orders', async (c) => {
    const { admin } = await storesOf(c.var.svc);
    const rows = await admin.orders({
      ...(c.req.query('account') ? { accountId: c.req.query('account')! } : {}),
      ...(c.req.query('status') ? { status: c.req.query('status')! } : {}),
      ...(c.req.query('identifier') ? { identifier: c.req.query('identifier')! } : {}),
      limit: queryInt(c, 'limit', 100, 1000),
    });
    return c.json({
      orders: rows.map((o) => ({
        ...o,
        identifiers: JSON.parse(o.identifiers),
        createdAt: iso(o.createdAt),
        expiresAt: iso(o.expiresAt),
      })),
    });
  });
  r.get('/certificates', async (c) => {
    const { admin } = await storesOf(c.var.svc);
    const rows = await admin.certificates({
      ...(c.req.query('account') ? { accountId: c.req.query('account')! } : {}),
      ...(c.req.query('serial') ? { serial: c.req.query('serial')! } : {}),
      ...(c.req.query('identifier') ? { identifier: c.req.query('identifier')! } : {}),
      limit: queryInt(c, 'limit', 100, 1000),
    });
    return c.json({
      certificates: rows.map(({ chainPem, ...x }) => ({
        ...x,
        // The issuer's key identifier (the leaf's AKI): what `renew-now --issuer` selects by.
        issuer: issuerKeyId(chainPem),
        identifiers: JSON.parse(x.identifiers),
        notBefore: iso(x.notBefore),
        notAfter: iso(x.notAfter),
        revokedAt: iso(x.revokedAt),
      })),
    });
  });
  r.post('/certificates/:serial/revoke', async (c) => {
    const { svc } = c.var;
    const o = await body(c);
    onlyFields(o, ['reason']);
    const reason = int(o, 'reason', 0, 10) ?? 0;
    if (reason === 7) throw bad('reason', '7 is not a CRL reason code (RFC 5280 §5.3.1)');
    const cert = await svc.certificates.bySerial(c.req.param('serial').toLowerCase());
    if (!cert) throw new AdminError('notFound', `no certificate with serial ${c.req.param('serial')}`);
    if (cert.revokedAt)
      throw new AdminError(
        'conflict',
        `the certificate was already revoked on ${iso(cert.revokedAt)}${
          reason === KEY_COMPROMISE
            ? '; to block its key as compromised, give its PEM to blocked-keys add (POST /admin/blocked-keys)'
            : ''
        }`,
      );
    // keyCompromise blocks the key first (and deactivates the accounts using it), as ACME revokeCert
    // does (edge/acme/block-keys.ts)
    const block =
      reason === KEY_COMPROMISE
        ? await compromisedCertificateKey(cert.chainPem, 'admin-revoke', cert.serial, null)
        : undefined;
    const blocked = block
      ? { blockedKey: block.spkiSha256, ...(await blockKeys(svc, [block], { tokenId: c.var.adminToken.id })) }
      : {};
    const outcome = await svc.signer.revoke(cert.serial, reason, c.var.requestId);
    if (outcome.status === 'unavailable')
      throw new AdminError('badGateway', `the signer is unavailable: ${outcome.detail}`);
    if (outcome.status === 'refused' && outcome.problem.kind !== 'alreadyRevoked')
      throw new AdminError('badGateway', `the signer refused: ${outcome.problem.message}`);
    const at = revocationTime(outcome, Date.now());
    await svc.certificates.markRevoked(cert.id, reason, at);
    await record(
      c,
      'certificate.revoke',
      `certificate:${cert.serial}`,
      { revokedAt: null },
      { revokedAt: iso(at), reason, ...blocked },
      [],
    );
    return c.json({ serial: cert.serial, revoked: true, revokedAt: iso(at), reason, ...blocked });
  });

  r.get('/tokens', async (c) => {
    const { admin } = await storesOf(c.var.svc);
    return c.json({
      tokens: (await admin.tokens()).map((t) => ({
        ...t,
        createdAt: iso(t.createdAt),
        revokedAt: iso(t.revokedAt),
      })),
    });
  });
  r.post('/tokens', async (c) => {
    const o = await body(c);
    onlyFields(o, ['name', 'scope']);
    const scope = o.scope ?? 'read';
    if (scope !== 'read' && scope !== 'write') throw bad('scope', 'must be "read" or "write"');
    const { admin } = await storesOf(c.var.svc);
    const made = await admin.newToken(str(o, 'name') ?? '', scope);
    await record(c, 'token.create', `token:${made.row.id}`, null, made.row, [made.stmt]);
    return c.json({ ...made.row, createdAt: iso(made.row.createdAt), token: made.token }, 201);
  });
  r.post('/tokens/:id/revoke', async (c) => {
    const { admin } = await storesOf(c.var.svc);
    const t = await admin.token(c.req.param('id'));
    if (!t) throw new AdminError('notFound', `no admin token "${c.req.param('id')}"`);
    if (t.revokedAt) throw new AdminError('conflict', `token ${t.id} is already revoked`);
    await record(c, 'token.revoke', `token:${t.id}`, t, { ...t, revokedAt: Date.now() }, [
      admin.revokeToken(t.id),
    ]);
    return c.json({ id: t.id, revoked: true });
  });

  r.get('/preauthorizations', async (c) => {
    const { admin } = await storesOf(c.var.svc);
    const rows = await admin.preauthorized(queryInt(c, 'limit', 100, 1000));
    return c.json({ preauthorizations: rows.map((p) => ({ ...p, createdAt: iso(p.createdAt) })) });
  });

  r.get('/changes', async (c) => {
    const { admin } = await storesOf(c.var.svc);
    const before = c.req.query('before');
    if (before !== undefined && !/^\d{1,15}$/.test(before)) throw bad('before', 'must be a change id');
    const rows = await admin.changes({
      limit: queryInt(c, 'limit', 100, 1000),
      ...(before ? { beforeId: Number(before) } : {}),
      ...(c.req.query('target') ? { target: c.req.query('target')! } : {}),
    });
    const parse = (t: string | null) => (t === null ? null : JSON.parse(t));
    return c.json({
      changes: rows.map((x) => ({ ...x, at: iso(x.at), before: parse(x.before), after: parse(x.after) })),
    });
  });
}

/** The hex AKI key identifier of a stored chain's leaf, or null when it has none. */
function issuerKeyId(chainPem: string): string | null {
  try {
    return toHex(certIdOf(chainPem).aki);
  } catch {
    return null;
  }
}

/** This resource's part of the OpenAPI document (openapi.ts assembles the parts). */
export const OBJECT_API: AdminApiPart = {
  ops: [
    ['get', '/eab-keys', 'List EAB keys (never their HMAC)'],
    ['post', '/eab-keys', 'Create an EAB key; the answer holds its HMAC key, once', 'EabKey'],
    ['get', '/eab-keys/{kid}', 'Show an EAB key'],
    [
      'patch',
      '/eab-keys/{kid}',
      'Change the policy, profiles, expiry or pre-authorization of a key',
      'EabKeyUpdate',
    ],
    ['post', '/eab-keys/{kid}/revoke', 'Revoke an EAB key (its accounts can no longer order)'],
    ['get', '/accounts', 'Search accounts (?eab=&status=&limit=)'],
    ['post', '/accounts/{id}/deactivate', 'Deactivate an account'],
    ['get', '/orders', 'Search orders (?account=&status=&identifier=&limit=)'],
    ['get', '/certificates', 'Search certificates (?account=&serial=&identifier=&limit=)'],
    ['post', '/certificates/{serial}/revoke', 'Revoke a certificate through the signer', 'Revoke'],
    ['get', '/tokens', 'List admin tokens (never their secret)'],
    ['post', '/tokens', 'Create an admin token; the answer holds it, once', 'Token'],
    ['post', '/tokens/{id}/revoke', 'Revoke an admin token'],
    ['get', '/preauthorizations', 'Authorizations granted by EAB pre-authorization'],
    ['get', '/changes', 'The change log, newest first (?limit=&before=<id>&target=)'],
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
    Revoke: { type: 'object', properties: { reason: { type: 'integer', minimum: 0, maximum: 10 } } },
    Token: {
      type: 'object',
      properties: { name: { type: 'string' }, scope: { type: 'string', enum: ['read', 'write'] } },
    },
  },
};
