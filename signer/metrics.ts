// The signer's metrics, liveness and readiness. `withSignerObservability` puts the on-prem front
// (onprem/observability.ts: /metrics, /health, /ready, every request counted) before the relay app
// (signer/service/app.ts, left as it is), with the HSM session and the store as /ready's checks;
// `instrumentCaSigner` times every HSM signature and counts its failures.
import { sql } from 'drizzle-orm';
import type { Hono } from 'hono';
import { createServiceMetrics, type ReadyCheck, withObservability } from '../onprem/observability.ts';
import { secondsSince } from '../shared/metrics.ts';
import { type CaSigner, HsmUnavailableError } from './ca-signer.ts';

export function createSignerMetrics(prefix = 'edgeca_signer') {
  const base = createServiceMetrics(prefix);
  const { registry } = base;
  return {
    ...base,
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
    purgedRows: registry.counter(
      `${prefix}_purged_rows_total`,
      'Rows deleted from the store by the purge of expired data (store/retention.ts), by table.',
      ['table'],
    ),
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

export interface SignerObservabilityOptions {
  metrics: SignerMetrics;
  /** whether the HSM session answers now */
  hsmOk?: () => Promise<boolean>;
  /** a drizzle database to run `select 1` on (the service's own store) */
  db?: { run(q: ReturnType<typeof sql>): Promise<unknown> };
}

/** The relay app behind the on-prem front, ready when its store answers and its HSM session is open. */
export function withSignerObservability(
  inner: { fetch: (req: Request) => Response | Promise<Response> },
  o: SignerObservabilityOptions,
): Hono {
  const { metrics, db, hsmOk } = o;
  const readiness: (() => Promise<ReadyCheck>)[] = [];
  if (db) {
    readiness.push(() =>
      db.run(sql`select 1`).then(
        () => ({ name: 'database', ok: true, detail: 'answers' }),
        (e: Error) => ({ name: 'database', ok: false, detail: e.message }),
      ),
    );
  }
  if (hsmOk) {
    metrics.registry.collect(async () => metrics.hsmUp.set({}, (await hsmOk().catch(() => false)) ? 1 : 0));
    readiness.push(async () => {
      const ok = await hsmOk().catch(() => false);
      return { name: 'hsm', ok, detail: ok ? 'session open' : 'unavailable' };
    });
  }
  return withObservability(inner, { metrics, service: 'signer', readiness });
}
