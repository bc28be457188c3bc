// newOrder, order read and finalize (RFC 8555 §7.4): the request parsed, the order module
// (acme/order/) called, the order rendered.
import type { Hono } from 'hono';
import { acmeJws } from '../acme/jws.ts';
import { finalizeOrder } from '../acme/order/finalize.ts';
import { createOrder, parseNewOrder } from '../acme/order/new.ts';
import { readOrder } from '../acme/order/refresh.ts';
import { json, requireAccount } from '../acme/respond.ts';
import { orderToWire } from '../acme/wire.ts';
import type { AppEnv } from '../context.ts';
import { PATHS } from '../linker.ts';

const PROCESSING_RETRY_AFTER_S = '2';

export function registerOrder(app: Hono<AppEnv>): void {
  app.post(PATHS.newOrder, acmeJws('kid', { postAsGet: false, cachedAccount: true }), async (c) => {
    const { svc, jws } = c.var;
    const account = requireAccount(c);
    const req = parseNewOrder(jws.payload, svc, Date.now());
    const order = await createOrder(svc, account, req);
    svc.log({
      event: 'order-created',
      orderId: order.id,
      accountId: account.id,
      identifiers: req.identifiers.length,
    });
    return json(c, orderToWire(order, svc.linker), 201, svc.linker.order(order.id));
  });

  app.post(PATHS.order, acmeJws('kid', { postAsGet: true, cachedAccount: true }), async (c) => {
    const { svc } = c.var;
    const order = await readOrder(svc, requireAccount(c), c.req.param('id'));
    if (order.status === 'processing') c.header('Retry-After', PROCESSING_RETRY_AFTER_S);
    return json(c, orderToWire(order, svc.linker));
  });

  app.post(PATHS.finalize, acmeJws('kid', { postAsGet: false, cachedAccount: true }), async (c) => {
    const { svc, jws } = c.var;
    const id = c.req.param('id');
    const after = await finalizeOrder(svc, requireAccount(c), id, jws.payload, jws.jwk, c.var.requestId);
    if (after.status === 'processing') c.header('Retry-After', PROCESSING_RETRY_AFTER_S);
    return json(c, orderToWire(after, svc.linker), 200, svc.linker.order(id));
  });
}
