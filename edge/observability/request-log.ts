// One structured log line and the metrics of every request. Each request gets an id: the
// client's X-Request-Id when it is a short token, else a fresh one; it is answered in X-Request-Id,
// kept in the context (`requestId`) for the relay to the signer (the `rid` claim, which the signer
// logs) and written in the line. The line names method, path, matched route, status, time and the
// ACME problem type; never a query string, a header value or a body, so no token or key can leak.
import type { Context, MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import { randomToken } from '../../shared/encoding.ts';
import { secondsSince } from '../../shared/metrics.ts';
import { AcmeProblem } from '../../shared/problems.ts';
import type { AppEnv } from '../context.ts';
import { recordCondition } from '../events/outbox.ts';
import type { EdgeServices } from '../services.ts';

const INCOMING_ID = /^[A-Za-z0-9._:-]{8,64}$/;

/** The client's request id when it is usable, else a new random one. */
export function requestIdFrom(header: string | undefined): string {
  return header && INCOMING_ID.test(header) ? header : randomToken(12);
}

/** The request's matched route pattern (a bounded label), `other` for the catch-all. */
export function routeLabel(c: Context): string {
  let r: string;
  try {
    r = routePath(c);
  } catch {
    return 'other';
  }
  return r === '' || r === '*' || r === '/*' || r.endsWith('/*') ? 'other' : r;
}

export function requestObserver(svc: EdgeServices): MiddlewareHandler<AppEnv> {
  const metrics = svc.metrics;
  return async (c, next) => {
    const started = performance.now();
    const rid = requestIdFrom(c.req.header('x-request-id'));
    c.set('requestId', rid);
    await next();
    c.res.headers.set('X-Request-Id', rid);
    const route = routeLabel(c);
    const status = c.res.status;
    const seconds = secondsSince(started);
    metrics.requests.inc({ method: c.req.method, route, status: String(status) });
    metrics.requestSeconds.observe({ route }, seconds);
    const line: Record<string, unknown> = {
      event: 'request',
      rid,
      method: c.req.method,
      path: c.req.path,
      route,
      status,
      ms: Math.round(seconds * 10_000) / 10,
    };
    const err = c.error;
    if (err instanceof AcmeProblem) {
      line.problem = err.kind;
      metrics.problems.inc({ type: err.kind });
      if (err.kind === 'rateLimited') {
        // limits.ts words every refusal "... (limit NAME); retry after N s"
        const limit = /\(limit (\w+)\)/.exec(err.message)?.[1] ?? 'other';
        metrics.rateLimited.inc({ limit });
        line.limit = limit;
        await recordCondition(svc, 'ratelimit.hit', limit, {
          limit,
          clientAddress: c.var.clientAddress,
          detail: err.message,
        });
      }
    }
    svc.log(line);
  };
}
