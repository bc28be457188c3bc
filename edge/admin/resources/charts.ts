// Admin API: the series the web UI draws its charts from (edge/storage/charts.ts).
import { chartSeries } from '../../storage/charts.ts';
import { queryInt } from '../fields.ts';
import { type AdminResource, route } from '../resource.ts';

export const CHARTS: AdminResource = {
  routes: [
    route(
      'get',
      '/charts',
      'Series for charts: certificates issued per hour, failures by problem type, expiry per coming hour with replacements (?pastHours=72&comingHours=48)',
      async (c) =>
        c.json(
          await chartSeries(
            c.var.svc.database.db,
            Date.now(),
            queryInt(c, 'pastHours', 72, 24 * 31),
            queryInt(c, 'comingHours', 48, 24 * 31),
          ),
        ),
    ),
  ],
  schemas: {},
};
