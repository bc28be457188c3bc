// newOrder, order read and finalize (RFC 8555 §7.4).
import type { Hono } from 'hono';
import { b64uEncode } from '../../shared/encoding.ts';
import { AcmeProblem } from '../../shared/problems.ts';
import { jwkDigest, refuseBlockedCsrKey } from '../acme/compromised-keys.ts';
import type { AppEnv } from '../acme/context.ts';
import { checkCsr, relayOrder } from '../acme/finalize.ts';
import { acmeJws } from '../acme/jws.ts';
import { createOrder, parseNewOrder } from '../acme/new-order.ts';
import { refreshOrder } from '../acme/order-state.ts';
import { ensureOwner, json, notFound, requireAccount } from '../acme/respond.ts';
import { orderToWire } from '../acme/wire.ts';
import { PATHS } from '../linker.ts';
import { storesOf } from '../storage/stores.ts';

const PROCESSING_RETRY_AFTER_S = '2';

export function registerOrder(app: Hono<AppEnv>): void {
  app.post(PATHS.newOrder, acmeJws('kid', { postAsGet: false }), async (c) => {
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

  app.post(PATHS.order, acmeJws('kid', { postAsGet: true }), async (c) => {
    const { svc } = c.var;
    const account = requireAccount(c);
    const found = await svc.orders.get(c.req.param('id'));
    if (!found) throw notFound('this order');
    ensureOwner(found.accountId, account, 'this order');
    const order = await refreshOrder(svc, found);
    if (order.status === 'processing') c.header('Retry-After', PROCESSING_RETRY_AFTER_S);
    return json(c, orderToWire(order, svc.linker));
  });

  app.post(PATHS.finalize, acmeJws('kid', { postAsGet: false }), async (c) => {
    const { svc, jws } = c.var;
    const account = requireAccount(c);
    const found = await svc.orders.get(c.req.param('id'));
    if (!found) throw notFound('this order');
    ensureOwner(found.accountId, account, 'this order');
    const order = await refreshOrder(svc, found);
    if (order.status !== 'ready') {
      throw new AcmeProblem(
        'orderNotReady',
        `the order is ${order.status}; it can be finalized only when ready`,
      );
    }
    const payload = jws.payload as Record<string, unknown>;
    if (typeof payload !== 'object' || payload === null)
      throw new AcmeProblem('malformed', 'finalize payload must be an object');
    const profile = await (await storesOf(svc)).settings.profile(order.profile);
    const der = await checkCsr(payload.csr, order, await jwkDigest(jws.jwk), profile);
    await refuseBlockedCsrKey(svc, der);
    if (!(await svc.orders.beginFinalize(order.id, b64uEncode(der), Date.now()))) {
      throw new AcmeProblem('orderNotReady', 'the order is no longer ready (finalized concurrently)');
    }
    const processing = (await svc.orders.get(order.id))!;
    const after = await relayOrder(svc, processing, c.var.requestId);
    if (after.status === 'processing') c.header('Retry-After', PROCESSING_RETRY_AFTER_S);
    return json(c, orderToWire(after, svc.linker), 200, svc.linker.order(order.id));
  });
}
