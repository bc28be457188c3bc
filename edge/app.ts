// The edge application: one Hono app, the same on every runtime. `createApp` wires the routes
// onto the services (edge/services.ts), the headers every ACME response carries (Replay-Nonce,
// Link rel="index") and the one place errors become problem documents.

import { Hono } from 'hono';
import { AcmeProblem } from '../shared/problems.ts';
import { registerAdmin } from './admin/index.ts';
import { registerAdminUi } from './admin/ui/index.ts';
import type { AppEnv } from './context.ts';
import { PATHS } from './linker.ts';
import { requestObserver } from './observability/request-log.ts';
import { registerObservability } from './observability/routes.ts';
import { type ConnectionInfo, clientAddressOf } from './ratelimit/client-address.ts';
import { registerAccount } from './routes/account.ts';
import { registerAuthz } from './routes/authz.ts';
import { registerCertificate } from './routes/certificate.ts';
import { registerCrl } from './routes/crl.ts';
import { registerDirectory } from './routes/directory.ts';
import { registerKeyChange } from './routes/key-change.ts';
import { registerOrder } from './routes/order.ts';
import { registerRenewalInfo } from './routes/renewal-info.ts';
import type { EdgeServices } from './services.ts';
import { isDatabaseBusy } from './storage/db.ts';

const POST_ONLY = [
  PATHS.newAccount,
  PATHS.newOrder,
  PATHS.revokeCert,
  PATHS.keyChange,
  PATHS.account,
  PATHS.accountOrders,
  PATHS.order,
  PATHS.finalize,
  PATHS.authz,
  PATHS.challenge,
  PATHS.certificate,
];

/** publicMetrics: serve /metrics without a token (default; Workers passes false: /admin/metrics only) */
export function createApp(svc: EdgeServices, opts: { publicMetrics?: boolean } = {}): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  // A request id, one log line and the metrics of every request (edge/observability/).
  app.use('*', requestObserver(svc));

  app.use('*', async (c, next) => {
    c.set('svc', svc);
    c.set(
      'clientAddress',
      clientAddressOf(c.env as ConnectionInfo | undefined, c.req.raw.headers, svc.config.trustedProxyHeader),
    );
    await next();
    // RFC 8555 §7.1: every response links the directory; §6.5: every POST response and every
    // error response, GET included (onError renders before this runs), carries a fresh nonce.
    c.res.headers.append('Link', `<${svc.linker.directory()}>;rel="index"`);
    if (c.req.method !== 'GET' || c.req.path === PATHS.newNonce || c.res.status >= 400) {
      c.res.headers.set('Replay-Nonce', await svc.nonces.issue());
    }
  });

  registerDirectory(app);
  registerAccount(app);
  registerKeyChange(app);
  registerOrder(app);
  registerAuthz(app);
  registerCertificate(app);
  registerCrl(app);
  registerRenewalInfo(app);
  registerAdminUi(app);
  registerAdmin(app);
  registerObservability(app, svc, { publicMetrics: opts.publicMetrics ?? true });

  for (const path of POST_ONLY) {
    app.on(['GET', 'PUT', 'DELETE', 'PATCH', 'HEAD'], path, (c) => {
      c.header('Allow', 'POST');
      throw new AcmeProblem(
        'methodNotAllowed',
        `${c.req.method} is not allowed here: resources are read with POST-as-GET (RFC 8555 §6.3)`,
      );
    });
  }
  // A catch-all route, not app.notFound: an error thrown there skips the middleware above, and
  // the 404 would go out without Link rel="index" and Replay-Nonce.
  app.all('*', () => {
    throw new AcmeProblem('notFound', 'no such resource');
  });
  app.onError((err, c) => {
    let problem: AcmeProblem;
    if (err instanceof AcmeProblem) {
      problem = err;
    } else if (isDatabaseBusy(err)) {
      // Another connection held the database past the busy timeout; the batch changed nothing.
      svc.log({ event: 'database-busy', path: c.req.path });
      problem = new AcmeProblem('serviceUnavailable', 'the database is busy; retry the request shortly', {
        retryAfter: 1,
      });
    } else {
      svc.log({ event: 'internal-error', path: c.req.path, error: String(err), stack: (err as Error).stack });
      problem = new AcmeProblem(
        'serverInternal',
        'the server hit an internal error; the request changed nothing and may be retried',
      );
    }
    const headers: Record<string, string> = { 'Content-Type': 'application/problem+json' };
    if (problem.retryAfter !== undefined) headers['Retry-After'] = String(problem.retryAfter);
    return c.body(JSON.stringify(problem.toJSON()), problem.status as 400, headers);
  });
  return app;
}
