// Admin API: the authorizations granted ahead of any challenge by an EAB key with pre-authorization.
import { iso } from '../http.ts';
import { type AdminResource, pageLimit, route } from '../resource.ts';

export const PREAUTHORIZATIONS: AdminResource = {
  routes: [
    route('get', '/preauthorizations', 'Authorizations granted by EAB pre-authorization', async (c) => {
      const { admin } = await c.var.svc.stores();
      const rows = await admin.preauthorized(pageLimit(c));
      return c.json({ preauthorizations: rows.map((p) => ({ ...p, createdAt: iso(p.createdAt) })) });
    }),
  ],
  schemas: {},
};
