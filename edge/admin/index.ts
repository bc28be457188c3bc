// The admin API under /admin: JSON in and out, bearer tokens stored hashed with read and
// write scopes, problem documents naming the faulty field, every change in the change log. The
// OpenAPI document at /admin/openapi.json needs no token. Wrong tokens are throttled per client
// address (login-throttle.ts), the same throttle as the web UI's login.
import { Hono } from 'hono';
import type { AppEnv } from '../context.ts';
import { ADMIN_PREFIX, type AdminEnv, AdminError } from './http.ts';
import { adminLogin } from './login-throttle.ts';
import { OPENAPI_ROUTE } from './openapi.ts';
import { ADMIN_RESOURCES } from './resources.ts';

export function createAdminApp(): Hono<AdminEnv> {
  const r = new Hono<AdminEnv>();
  OPENAPI_ROUTE.register(r);
  r.use('*', async (c, next) => {
    const auth = c.req.header('authorization') ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(auth);
    if (!m) {
      c.header('WWW-Authenticate', 'Bearer realm="edgeca-admin"');
      throw new AdminError('unauthorized', 'an admin token is required: Authorization: Bearer <token>');
    }
    const login = await adminLogin(c.var.svc, c.var.clientAddress, m[1]!);
    if (!login.ok && login.why === 'throttled') {
      c.header('Retry-After', String(login.retryAfterSeconds));
      throw new AdminError(
        'tooManyRequests',
        `too many failed admin logins from this address; retry after ${login.retryAfterSeconds} s`,
      );
    }
    if (!login.ok) {
      c.header('WWW-Authenticate', 'Bearer realm="edgeca-admin", error="invalid_token"');
      throw new AdminError('unauthorized', 'the admin token is unknown or revoked');
    }
    const token = login.token;
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
  for (const resource of ADMIN_RESOURCES) for (const route of resource.routes) route.register(r);
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
