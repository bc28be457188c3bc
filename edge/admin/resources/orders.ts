// Admin API: ACME orders, searched by account, status or identifier.
import { iso } from '../http.ts';
import { type AdminResource, pageLimit, queryFilter, route } from '../resource.ts';

export const ORDERS: AdminResource = {
  routes: [
    route('get', '/orders', 'Search orders (?account=&status=&identifier=&limit=)', async (c) => {
      const { admin } = await c.var.svc.stores();
      const rows = await admin.orders({
        ...queryFilter(c, { account: 'accountId', status: 'status', identifier: 'identifier' }),
        limit: pageLimit(c),
      });
      return c.json({
        orders: rows.map((o) => ({
          ...o,
          identifiers: JSON.parse(o.identifiers),
          createdAt: iso(o.createdAt),
          expiresAt: iso(o.expiresAt),
        })),
      });
    }),
  ],
  schemas: {},
};
