// Metrics, liveness and readiness of an on-prem service (the signer, the validator).
// `withObservability` puts /metrics, /health and /ready in front of the service's relay app and
// counts every request; each service adds its own metrics to the registry and its own checks to
// /ready (signer/metrics.ts: the HSM and the store). The registry is the portable one in
// shared/metrics.ts (Web APIs only).
import { Hono } from 'hono';
import { METRICS_CONTENT_TYPE, Registry, secondsSince } from '../shared/metrics.ts';

/**
 * The relay paths of the on-prem services (docs/architecture.md, Relay protocol); anything else is
 * one label value, so a scanner cannot grow the series.
 */
const KNOWN_PATHS = new Set([
  '/v1/sign',
  '/v1/revoke',
  '/v1/crl',
  '/v1/issuers',
  '/v1/health',
  '/v1/validate',
]);

/** A registry with the request metrics every on-prem service has, named `<prefix>_…`. */
export function createServiceMetrics(prefix: string) {
  const registry = new Registry();
  return {
    registry,
    requests: registry.counter(`${prefix}_requests_total`, 'HTTP requests answered, by path and status.', [
      'method',
      'path',
      'status',
    ]),
    requestSeconds: registry.histogram(
      `${prefix}_request_duration_seconds`,
      'Time to answer a request, by path.',
      ['path'],
    ),
  };
}

export type ServiceMetrics = ReturnType<typeof createServiceMetrics>;

export interface ReadyCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface ObservabilityOptions {
  metrics: ServiceMetrics;
  /** what the service is called in /health and /ready (signer, validator) */
  service: string;
  /** what /ready checks, in this order; ready when every one is ok (none: always ready) */
  readiness?: (() => Promise<ReadyCheck>)[];
}

/** The relay app behind /metrics, /health and /ready, with every request counted. */
export function withObservability(
  inner: { fetch: (req: Request) => Response | Promise<Response> },
  o: ObservabilityOptions,
): Hono {
  const { metrics } = o;
  const app = new Hono();
  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    const path =
      KNOWN_PATHS.has(c.req.path) || ['/metrics', '/health', '/ready'].includes(c.req.path)
        ? c.req.path
        : 'other';
    metrics.requests.inc({ method: c.req.method, path, status: String(c.res.status) });
    metrics.requestSeconds.observe({ path }, secondsSince(started));
  });
  app.get('/health', (c) => c.json({ status: 'ok', service: o.service }));
  app.get('/ready', async (c) => {
    const checks: ReadyCheck[] = [];
    for (const check of o.readiness ?? []) checks.push(await check());
    const ready = checks.every((x) => x.ok);
    return c.json({ status: ready ? 'ready' : 'not ready', service: o.service, checks }, ready ? 200 : 503);
  });
  app.get('/metrics', async (c) =>
    c.body(await metrics.registry.render(), 200, { 'Content-Type': METRICS_CONTENT_TYPE }),
  );
  app.all('*', (c) => inner.fetch(c.req.raw));
  return app;
}
