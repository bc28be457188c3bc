// The admin API under /admin: JSON in and out, bearer tokens stored hashed with read and
// write scopes, problem documents naming the faulty field, every change in the change log. The
// OpenAPI document at /admin/openapi.json needs no token.
import { Hono } from 'hono';
import { METRICS_CONTENT_TYPE } from '../../shared/metrics.ts';
import type { AppEnv } from '../acme/context.ts';
import { metricsText } from '../observability/routes.ts';
import { clientAddress } from '../ratelimit/limits.ts';
import { storesOf } from '../storage/stores.ts';
import { type AdminEnv, AdminError } from './http.ts';
import { registerIncidentRoutes } from './incident-routes.ts';
import { registerObjectRoutes } from './object-routes.ts';
import { openApiDocument } from './openapi.ts';
import { registerRenewalRoutes } from './renewal-routes.ts';
import { registerSettingsRoutes } from './settings-routes.ts';

export const ADMIN_PREFIX = '/admin';

export function createAdminApp(): Hono<AdminEnv> {
  const r = new Hono<AdminEnv>();
  r.get('/openapi.json', (c) => c.json(openApiDocument(c.var.svc.config.baseUrl + ADMIN_PREFIX)));
  r.use('*', async (c, next) => {
    const auth = c.req.header('authorization') ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(auth);
    if (!m) {
      c.header('WWW-Authenticate', 'Bearer realm="edgeca-admin"');
      throw new AdminError('unauthorized', 'an admin token is required: Authorization: Bearer <token>');
    }
    // Failed authentications are throttled per client address in a bucket every edge
    // instance shares; once it is empty every attempt from that address is refused, a right token
    // included, so guessing learns nothing until the bucket refills.
    const stores = await storesOf(c.var.svc);
    const perMinute = c.var.svc.config.adminAuthFailuresPerMinute;
    const throttle = { count: perMinute, windowSeconds: 60 };
    const key = `adminAuthFailures:${clientAddress(c.env, c.req.raw.headers)}`;
    const blocked = await stores.buckets.peek(key, throttle);
    if (!blocked.ok) {
      c.header('Retry-After', String(blocked.retryAfterSeconds));
      throw new AdminError(
        'tooManyRequests',
        `too many failed admin logins from this address; retry after ${blocked.retryAfterSeconds} s`,
      );
    }
    const token = await stores.admin.authenticate(m[1]!);
    if (!token) {
      await stores.buckets.take(key, throttle);
      c.header('WWW-Authenticate', 'Bearer realm="edgeca-admin", error="invalid_token"');
      throw new AdminError('unauthorized', 'the admin token is unknown or revoked');
    }
    const reading = c.req.method === 'GET' || c.req.method === 'HEAD';
    if (!reading && token.scope !== 'write') {
      throw new AdminError(
        'forbidden',
        `token ${token.id} has the read scope; this change needs a write token`,
      );
    }
    c.set('adminToken', token);
    await next();
    c.header('Cache-Control', 'no-store');
  });
  // The Prometheus text behind a token too (the only way to it on Workers).
  r.get('/metrics', async (c) =>
    c.body(await metricsText(c.var.svc), 200, { 'Content-Type': METRICS_CONTENT_TYPE }),
  );
  registerSettingsRoutes(r);
  registerObjectRoutes(r);
  registerRenewalRoutes(r);
  registerIncidentRoutes(r);
  r.all('*', (c) => {
    throw new AdminError(
      'notFound',
      `no admin endpoint ${c.req.method} ${c.req.path} (see /admin/openapi.json)`,
    );
  });
  r.onError((err, c) => {
    let e: AdminError;
    if (err instanceof AdminError) e = err;
    else {
      c.var.svc.log({ event: 'admin-internal-error', path: c.req.path, error: String(err) });
      e = new AdminError('internal', 'the server hit an internal error; nothing was changed');
    }
    return c.body(JSON.stringify(e.toJSON()), e.status as 400, {
      'Content-Type': 'application/problem+json',
    });
  });
  return r;
}

/** Mounts the admin API on the edge app. */
export function registerAdmin(app: Hono<AppEnv>): void {
  app.route(ADMIN_PREFIX, createAdminApp() as unknown as Hono<AppEnv>);
}
