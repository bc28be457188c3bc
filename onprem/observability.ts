// The signer's metrics, liveness and readiness. `withObservability` puts /metrics,
// /health and /ready in front of the relay app (signer/service/app.ts, left as it is) and counts
// every request; `instrumentCaSigner` times every HSM signature and counts its failures.
// The registry is the portable one in shared/metrics.ts (Web APIs only).
import { sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { METRICS_CONTENT_TYPE, Registry, secondsSince } from '../shared/metrics.ts';
import { type CaSigner, HsmUnavailableError } from '../signer/ca-signer.ts';

/** Relay paths are fixed; anything else is one label value, so a scanner cannot grow the series. */
const KNOWN_PATHS = new Set([
  '/v1/sign',
  '/v1/revoke',
  '/v1/crl',
  '/v1/issuers',
  '/v1/health',
  '/v1/validate',
]);

export function createSignerMetrics(prefix = 'edgeca_signer') {
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
    hsmSignSeconds: registry.histogram(
      `${prefix}_hsm_sign_duration_seconds`,
      'Signatures made by the CA key in the HSM (certificates and CRLs), by outcome.',
      ['outcome'],
      [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    ),
    hsmSignErrors: registry.counter(`${prefix}_hsm_sign_errors_total`, 'Failed HSM signatures, by kind.', [
      'kind',
    ]),
    hsmUp: registry.gauge(`${prefix}_hsm_up`, '1 when the HSM session answered at the last scrape, else 0.'),
  };
}

export type SignerMetrics = ReturnType<typeof createSignerMetrics>;

/** The CA signer, with every signature timed and every failure counted. */
export function instrumentCaSigner(inner: CaSigner, m: SignerMetrics): CaSigner {
  return {
    keyType: inner.keyType,
    spki: inner.spki,
    async sign(tbs) {
      const started = performance.now();
      try {
        const sig = await inner.sign(tbs);
        m.hsmSignSeconds.observe({ outcome: 'ok' }, secondsSince(started));
        return sig;
      } catch (e) {
        m.hsmSignSeconds.observe({ outcome: 'error' }, secondsSince(started));
        m.hsmSignErrors.inc({ kind: e instanceof HsmUnavailableError ? 'unavailable' : 'error' });
        throw e;
      }
    },
  };
}

export interface ReadyCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface ObservabilityOptions {
  metrics: SignerMetrics;
  /** whether the HSM session answers now */
  hsmOk?: () => Promise<boolean>;
  /** a drizzle database to run `select 1` on (the service's own store) */
  db?: { run(q: ReturnType<typeof sql>): Promise<unknown> };
  /** what the service is called in /health (signer, validator) */
  service: string;
}

/** The relay app behind /metrics, /health and /ready, with every request counted. */
export function withObservability(
  inner: { fetch: (req: Request) => Response | Promise<Response> },
  o: ObservabilityOptions,
): Hono {
  const { metrics } = o;
  if (o.hsmOk) {
    const hsmOk = o.hsmOk;
    metrics.registry.collect(async () => metrics.hsmUp.set({}, (await hsmOk().catch(() => false)) ? 1 : 0));
  }
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
    if (o.db) {
      const db = o.db;
      checks.push(
        await db.run(sql`select 1`).then(
          () => ({ name: 'database', ok: true, detail: 'answers' }),
          (e: Error) => ({ name: 'database', ok: false, detail: e.message }),
        ),
      );
    }
    if (o.hsmOk) {
      const ok = await o.hsmOk().catch(() => false);
      checks.push({ name: 'hsm', ok, detail: ok ? 'session open' : 'unavailable' });
    }
    const ready = checks.every((x) => x.ok);
    return c.json({ status: ready ? 'ready' : 'not ready', service: o.service, checks }, ready ? 200 : 503);
  });
  app.get('/metrics', async (c) =>
    c.body(await metrics.registry.render(), 200, { 'Content-Type': METRICS_CONTENT_TYPE }),
  );
  app.all('*', (c) => inner.fetch(c.req.raw));
  return app;
}
