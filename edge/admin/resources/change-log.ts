// Admin API: the change log, newest first — every admin change with its token, time, before and
// after (written by record() in the same batch as the change).
import { bad, iso } from '../http.ts';
import { type AdminResource, pageLimit, queryFilter, route } from '../resource.ts';

export const CHANGE_LOG: AdminResource = {
  routes: [
    route('get', '/changes', 'The change log, newest first (?limit=&before=<id>&target=)', async (c) => {
      const { admin } = await c.var.svc.stores();
      const before = c.req.query('before');
      if (before !== undefined && !/^\d{1,15}$/.test(before)) throw bad('before', 'must be a change id');
      const rows = await admin.changes({
        limit: pageLimit(c),
        ...(before ? { beforeId: Number(before) } : {}),
        ...queryFilter(c, { target: 'target' }),
      });
      const parse = (t: string | null) => (t === null ? null : JSON.parse(t));
      return c.json({
        changes: rows.map((x) => ({ ...x, at: iso(x.at), before: parse(x.before), after: parse(x.after) })),
      });
    }),
  ],
  schemas: {},
};
