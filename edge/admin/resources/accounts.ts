// Admin API: ACME accounts — search, and deactivate one (RFC 8555 §7.3.6 done by an operator).
import { AdminError, iso } from '../http.ts';
import { type AdminResource, found, pageLimit, queryFilter, record, route } from '../resource.ts';

export const ACCOUNTS: AdminResource = {
  routes: [
    route('get', '/accounts', 'Search accounts (?eab=&status=&limit=)', async (c) => {
      const { admin } = await c.var.svc.stores();
      const rows = await admin.accounts({
        ...queryFilter(c, { eab: 'eabKid', status: 'status' }),
        limit: pageLimit(c),
      });
      return c.json({
        accounts: rows.map((a) => ({ ...a, contact: JSON.parse(a.contact), createdAt: iso(a.createdAt) })),
      });
    }),
    route('post', '/accounts/:id/deactivate', 'Deactivate an account', async (c) => {
      const a = found(await c.var.svc.accounts.get(c.req.param('id')), `account "${c.req.param('id')}"`);
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
      // this edge refuses the account's next request at once (edge/storage/account-cache.ts)
      c.var.svc.accountCache.forget(a.id);
      return c.json({ id: a.id, status: 'deactivated' });
    }),
  ],
  schemas: {},
};
