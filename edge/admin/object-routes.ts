// Admin API: accounts, orders, certificates, admin tokens, pre-authorized authorizations and the
// change log (EAB keys: eab-key-routes.ts).

import type { Hono } from 'hono';
import { toHex } from '../../shared/encoding.ts';
import { certIdOf } from '../acme/ari.ts';
import { blockKeys } from '../acme/block-keys.ts';
import { compromisedCertificateKey, KEY_COMPROMISE } from '../acme/compromised-keys.ts';
import { revocationTime } from '../relay/signer-client.ts';
import {
  type AdminApiPart,
  type AdminEnv,
  AdminError,
  bad,
  body,
  int,
  iso,
  onlyFields,
  queryInt,
  record,
  str,
} from './http.ts';

export function registerObjectRoutes(r: Hono<AdminEnv>): void {
  r.get('/accounts', async (c) => {
    const { admin } = await c.var.svc.stores();
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
    const { admin } = await c.var.svc.stores();
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
    const { admin } = await c.var.svc.stores();
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
    const { admin } = await c.var.svc.stores();
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
    const { admin } = await c.var.svc.stores();
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
    const { admin } = await c.var.svc.stores();
    const made = await admin.newToken(str(o, 'name') ?? '', scope);
    await record(c, 'token.create', `token:${made.row.id}`, null, made.row, [made.stmt]);
    return c.json({ ...made.row, createdAt: iso(made.row.createdAt), token: made.token }, 201);
  });
  r.post('/tokens/:id/revoke', async (c) => {
    const { admin } = await c.var.svc.stores();
    const t = await admin.token(c.req.param('id'));
    if (!t) throw new AdminError('notFound', `no admin token "${c.req.param('id')}"`);
    if (t.revokedAt) throw new AdminError('conflict', `token ${t.id} is already revoked`);
    await record(c, 'token.revoke', `token:${t.id}`, t, { ...t, revokedAt: Date.now() }, [
      admin.revokeToken(t.id),
    ]);
    return c.json({ id: t.id, revoked: true });
  });

  r.get('/preauthorizations', async (c) => {
    const { admin } = await c.var.svc.stores();
    const rows = await admin.preauthorized(queryInt(c, 'limit', 100, 1000));
    return c.json({ preauthorizations: rows.map((p) => ({ ...p, createdAt: iso(p.createdAt) })) });
  });

  r.get('/changes', async (c) => {
    const { admin } = await c.var.svc.stores();
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
    Revoke: { type: 'object', properties: { reason: { type: 'integer', minimum: 0, maximum: 10 } } },
    Token: {
      type: 'object',
      properties: { name: { type: 'string' }, scope: { type: 'string', enum: ['read', 'write'] } },
    },
  },
};
