// Admin API: admin tokens — list (never their secret), create (the answer holds the token, once),
// revoke. Tokens are stored hashed (edge/storage/admin.ts).
import { body, onlyFields, str } from '../fields.ts';
import { AdminError, bad, iso } from '../http.ts';
import { type AdminResource, found, record, route } from '../resource.ts';

export const TOKENS: AdminResource = {
  routes: [
    route('get', '/tokens', 'List admin tokens (never their secret)', async (c) => {
      const { admin } = await c.var.svc.stores();
      return c.json({
        tokens: (await admin.tokens()).map((t) => ({
          ...t,
          createdAt: iso(t.createdAt),
          revokedAt: iso(t.revokedAt),
        })),
      });
    }),
    route(
      'post',
      '/tokens',
      'Create an admin token; the answer holds it, once',
      async (c) => {
        const o = await body(c);
        onlyFields(o, ['name', 'scope']);
        const scope = o.scope ?? 'read';
        if (scope !== 'read' && scope !== 'write') throw bad('scope', 'must be "read" or "write"');
        const { admin } = await c.var.svc.stores();
        const made = await admin.newToken(str(o, 'name') ?? '', scope);
        await record(c, 'token.create', `token:${made.row.id}`, null, made.row, [made.stmt]);
        return c.json({ ...made.row, createdAt: iso(made.row.createdAt), token: made.token }, 201);
      },
      'Token',
    ),
    route('post', '/tokens/:id/revoke', 'Revoke an admin token', async (c) => {
      const { admin } = await c.var.svc.stores();
      const t = found(await admin.token(c.req.param('id')), `admin token "${c.req.param('id')}"`);
      if (t.revokedAt) throw new AdminError('conflict', `token ${t.id} is already revoked`);
      await record(c, 'token.revoke', `token:${t.id}`, t, { ...t, revokedAt: Date.now() }, [
        admin.revokeToken(t.id),
      ]);
      return c.json({ id: t.id, revoked: true });
    }),
  ],
  schemas: {
    Token: {
      type: 'object',
      properties: { name: { type: 'string' }, scope: { type: 'string', enum: ['read', 'write'] } },
    },
  },
};
