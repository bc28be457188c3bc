// Admin API: the events outbox, newest first (what webhooks deliver: edge/events/).
import { EVENT_TYPES, isEventType } from '../../storage/event-catalog.ts';
import { bad, iso } from '../http.ts';
import { type AdminResource, pageLimit, route } from '../resource.ts';

export const EVENTS: AdminResource = {
  routes: [
    route(
      'get',
      '/events',
      `The events outbox, newest first (?type=&limit=); types: ${EVENT_TYPES.join(', ')}`,
      async (c) => {
        const type = c.req.query('type');
        if (type !== undefined && !isEventType(type))
          throw bad('type', `must be one of ${EVENT_TYPES.join(', ')}`);
        const events = await c.var.svc.events.recent({
          limit: pageLimit(c, 50, 500),
          ...(type ? { type } : {}),
        });
        return c.json({
          events: events.map((e) => ({ id: e.id, seq: e.seq, type: e.type, at: iso(e.at), data: e.data })),
        });
      },
    ),
  ],
  schemas: {},
};
