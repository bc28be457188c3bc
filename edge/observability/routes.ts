// Liveness, readiness and metrics of the edge. /health answers while the process serves
// requests; /ready also checks what issuance needs: the database answers a query and the signer
// answers its health check with its HSM session open (503 naming what is not ready). /metrics is
// the Prometheus text; where it must not be public (Workers: no private network in front of it)
// the app is created with publicMetrics false and the same text is at /admin/metrics, behind a token.

import { sql } from 'drizzle-orm';
import type { Hono } from 'hono';
import { METRICS_CONTENT_TYPE } from '../../shared/metrics.ts';
import type { AppEnv, EdgeServices } from '../acme/context.ts';
import { metricsOf } from './edge-metrics.ts';

export interface ReadyCheck {
  name: 'database' | 'signer';
  ok: boolean;
  detail: string;
  ms: number;
}

const READY_TIMEOUT_MS = 5000;

async function check(name: ReadyCheck['name'], run: () => Promise<string>): Promise<ReadyCheck> {
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const detail = await Promise.race([
      run(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${READY_TIMEOUT_MS} ms`)),
          READY_TIMEOUT_MS,
        );
      }),
    ]);
    return { name, ok: true, detail, ms: Math.round(performance.now() - started) };
  } catch (e) {
    return { name, ok: false, detail: (e as Error).message, ms: Math.round(performance.now() - started) };
  } finally {
    clearTimeout(timer);
  }
}

/** Whether the edge can issue now: database and signer (with its HSM). */
export async function readiness(svc: EdgeServices): Promise<{ ready: boolean; checks: ReadyCheck[] }> {
  const checks = await Promise.all([
    check('database', async () => {
      await svc.database.db.run(sql`select 1`);
      return `${svc.database.kind} answers`;
    }),
    check('signer', async () => {
      if (!svc.signer.health) return 'not checked (this signer client has no health check)';
      const h = await svc.signer.health();
      if (!h.ok) throw new Error(h.detail);
      return h.detail;
    }),
  ]);
  return { ready: checks.every((c) => c.ok), checks };
}

/** The metrics text of this edge. */
export async function metricsText(svc: EdgeServices): Promise<string> {
  return metricsOf(svc).registry.render();
}

export function registerObservability(
  app: Hono<AppEnv>,
  svc: EdgeServices,
  opts: { publicMetrics: boolean },
): void {
  app.get('/health', (c) => c.json({ status: 'ok' }));
  app.get('/ready', async (c) => {
    const r = await readiness(svc);
    c.header('Cache-Control', 'no-store');
    return c.json({ status: r.ready ? 'ready' : 'not ready', checks: r.checks }, r.ready ? 200 : 503);
  });
  if (opts.publicMetrics) {
    app.get('/metrics', async (c) =>
      c.body(await metricsText(svc), 200, {
        'Content-Type': METRICS_CONTENT_TYPE,
        'Cache-Control': 'no-store',
      }),
    );
  }
}
