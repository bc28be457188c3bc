// Liveness, readiness and metrics of the edge. /health answers while the process serves
// requests; /ready also checks what issuance needs: the database answers a query, a signer
// answers its health check with its HSM session open (503 naming what is not ready); the on-prem
// validators, when configured, are shown beside them. Signers and validators are shown one by one BY INDEX,
// with their failover state: /ready may be public, and their URLs are internal. /metrics is
// the Prometheus text; where it must not be public (Workers: no private network in front of it)
// the app is created with publicMetrics false and the same text is at /admin/metrics, behind a token.

import { sql } from 'drizzle-orm';
import type { Hono } from 'hono';
import { METRICS_CONTENT_TYPE } from '../../shared/metrics.ts';
import type { AppEnv } from '../context.ts';
import type { EdgeServices } from '../services.ts';

export interface ReadyCheck {
  name: 'database' | 'signer' | 'validator';
  ok: boolean;
  detail: string;
  ms: number;
  /** signers or validators, by index: ready or not, and skipped after a failure or not */
  peers?: PeerReadiness[];
}

export interface PeerReadiness {
  index: number;
  ok: boolean;
  detail: string;
  /** false while the edge skips it after a failed call */
  up: boolean;
  retryInS?: number;
}

type Probe = { detail: string; peers?: PeerReadiness[] };

/** Thrown by a check whose dependency is not ready: its detail and, per peer, why. */
class NotReady extends Error {
  constructor(
    message: string,
    readonly peers?: PeerReadiness[],
  ) {
    super(message);
  }
}

function readinessOf(
  peers: { index: number; ok: boolean; detail: string; up: boolean; retryInS?: number }[],
): PeerReadiness[] {
  return peers.map((p) => ({
    index: p.index,
    ok: p.ok,
    detail: p.detail,
    up: p.up,
    ...(p.retryInS !== undefined ? { retryInS: p.retryInS } : {}),
  }));
}

const READY_TIMEOUT_MS = 5000;

async function check(name: ReadyCheck['name'], run: () => Promise<string | Probe>): Promise<ReadyCheck> {
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const got = await Promise.race([
      run(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${READY_TIMEOUT_MS} ms`)),
          READY_TIMEOUT_MS,
        );
      }),
    ]);
    const probe = typeof got === 'string' ? { detail: got } : got;
    return { name, ok: true, ...probe, ms: Math.round(performance.now() - started) };
  } catch (e) {
    return {
      name,
      ok: false,
      detail: (e as Error).message,
      ms: Math.round(performance.now() - started),
      ...(e instanceof NotReady && e.peers ? { peers: e.peers } : {}),
    };
  } finally {
    clearTimeout(timer);
  }
}

/** Whether the edge can issue now: database and a signer (with its HSM); validators shown too. */
export async function readiness(svc: EdgeServices): Promise<{ ready: boolean; checks: ReadyCheck[] }> {
  const checks = await Promise.all([
    check('database', async () => {
      await svc.database.db.run(sql`select 1`);
      return `${svc.database.kind} answers`;
    }),
    check('signer', async () => {
      if (!svc.signer.health) return 'not checked (this signer client has no health check)';
      const h = await svc.signer.health();
      const peers = h.peers ? readinessOf(h.peers) : undefined;
      if (!h.ok) throw new NotReady(h.detail, peers);
      return { detail: h.detail, ...(peers ? { peers } : {}) };
    }),
    ...(svc.config.validatorUrl
      ? [
          check('validator', async () => {
            const h = await (await svc.validator()).health();
            const peers = readinessOf(h.peers);
            if (!h.ok) throw new NotReady(h.detail, peers);
            return { detail: h.detail, peers };
          }),
        ]
      : []),
  ]);
  // A validator down does not make the edge unready: challenges routed to the edge still validate,
  // and a load balancer taking every edge out would stop those too. It is shown all the same.
  return { ready: checks.every((c) => c.ok || c.name === 'validator'), checks };
}

/** The metrics text of this edge. */
export async function metricsText(svc: EdgeServices): Promise<string> {
  return svc.metrics.registry.render();
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
