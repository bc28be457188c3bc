// The edge on Cloudflare Workers (wrangler.toml `main`). Services are built once per isolate, on the
// first request, from the Worker's env: string vars and secrets named EDGECA_* (the same names as on
// Node and Deno; EDGECA_RELAY_KEY is a secret holding the JWK itself) and the D1 binding `DB`.
// Storage is D1 unless EDGECA_DB_URL names a remote libSQL database (libsql:// or https://), which
// is then reached over HTTP with @libsql/client's web client. The schema and migrations are the same
// for every backend and are applied on the first request of each isolate, idempotently.
// Each request runs inside an AsyncLocalStorage scope holding its ExecutionContext, so background
// work started while serving it (a challenge's validation) goes to that request's waitUntil.
import { AsyncLocalStorage } from 'node:async_hooks';
import { createClient } from '@libsql/client';
import type { Hono } from 'hono';
import { runPurge } from '../acme/purge-job.ts';
import { runDueRevocations } from '../acme/scheduled-revocation.ts';
import { edgeConfigFromEnv } from '../config.ts';
import type { AppEnv } from '../context.ts';
import { runEvents } from '../events/delivery.ts';
import { createWorkersRuntime, DEFAULT_DOH_URL } from '../platform/workers.ts';
import { type D1Like, openD1Database } from '../storage/db.ts';
import { type BootedEdge, bootEdge } from './boot.ts';

/** The part of the Workers ExecutionContext used here. */
export interface ExecutionContextLike {
  waitUntil(work: Promise<unknown>): void;
}

export interface WorkersEnv {
  DB?: D1Like;
  [name: string]: unknown;
}

const requestCtx = new AsyncLocalStorage<ExecutionContextLike>();
type Built = BootedEdge;

let app: Promise<Built> | undefined;

function waitUntil(work: Promise<unknown>): void {
  const guarded = work.catch((err: unknown) => {
    console.error('background work failed:', err instanceof Error ? err.message : err);
  });
  // Outside a request (cannot happen for validation, which starts while serving one) the promise
  // simply runs as long as the isolate does; the next read resumes it otherwise.
  requestCtx.getStore()?.waitUntil(guarded);
}

async function build(env: WorkersEnv): Promise<Built> {
  const vars: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (k.startsWith('EDGECA_') && typeof v === 'string') vars[k] = v;
  if (vars.EDGECA_SIGNER_CA_FILE || vars.EDGECA_SIGNER_CA) {
    // Workers' fetch trusts the platform's roots and takes no CA of ours (docs/runtimes.md):
    // refuse to start rather than talk to the signer without the pin that was asked for.
    throw new Error(
      'EDGECA_SIGNER_CA(_FILE) cannot be honoured on Workers: fetch there trusts only the platform roots. Give the signer a publicly trusted certificate or a Cloudflare Tunnel, and unset it',
    );
  }
  const config = edgeConfigFromEnv(vars);
  const dohUrl = config.dnsResolver ?? DEFAULT_DOH_URL;
  if (!/^https?:\/\//i.test(dohUrl)) {
    throw new Error(`EDGECA_DNS_RESOLVER must be a DNS-over-HTTPS URL on Workers (no UDP), got "${dohUrl}"`);
  }
  const runtime = createWorkersRuntime({ dohUrl, waitUntil });
  if (vars.EDGECA_DB_URL) {
    const client = createClient({
      url: vars.EDGECA_DB_URL,
      ...(config.dbAuthToken ? { authToken: config.dbAuthToken } : {}),
    });
    return bootEdge({ config, runtime, db: { client }, publicMetrics: false });
  }
  if (!env.DB) throw new Error('no D1 binding "DB" and no EDGECA_DB_URL: the edge has no database');
  const database = await openD1Database(env.DB);
  return bootEdge({ config, runtime, db: { database }, publicMetrics: false });
}

/** The isolate's app and services, built on first use; a failed start is retried next time. */
function built(env: WorkersEnv): Promise<Built> {
  if (!app) {
    app = build(env);
    app.catch(() => {
      app = undefined;
    });
  }
  return app;
}

export default {
  async fetch(req: Request, env: WorkersEnv, ctx: ExecutionContextLike): Promise<Response> {
    return requestCtx.run(ctx, async () => {
      let ready: Hono<AppEnv>;
      try {
        // A failed start (bad setting, database away) is retried by the next request.
        ready = (await built(env)).app;
      } catch (err) {
        console.error(
          JSON.stringify({
            event: 'edge-start-failed',
            error: err instanceof Error ? err.message : String(err),
          }),
        );
        return new Response(
          JSON.stringify({
            type: 'urn:ietf:params:acme:error:serverInternal',
            detail: 'the edge could not start; see the Worker log',
            status: 503,
          }),
          { status: 503, headers: { 'Content-Type': 'application/problem+json', 'Retry-After': '5' } },
        );
      }
      // A Worker sees no connection: Cloudflare puts the client's address in CF-Connecting-IP,
      // replacing any such header the client sent (edge/ratelimit/client-address.ts).
      return ready.fetch(req, { remoteAddress: req.headers.get('cf-connecting-ip') ?? undefined });
    });
  },

  /**
   * The Cron Trigger (wrangler.toml [triggers]): Workers has no timer between requests, so what a
   * Node or Deno edge runs from its timers runs here — the expiry watch and webhook deliveries
   * (edge/events/delivery.ts), the purge of expired rows, and scheduled revocations that are due
   * (which requests also start).
   */
  async scheduled(_controller: unknown, env: WorkersEnv, ctx: ExecutionContextLike): Promise<void> {
    await requestCtx.run(ctx, async () => {
      const { services } = await built(env);
      const jobs = await Promise.allSettled([
        runEvents(services).then((run) => services.log({ event: 'events-run', ...run })),
        runPurge(services, { trigger: 'cron' }),
        runDueRevocations(services),
      ]);
      for (const j of jobs) {
        if (j.status === 'rejected') {
          services.log({
            event: 'cron-job-failed',
            error: j.reason instanceof Error ? j.reason.message : String(j.reason),
          });
        }
      }
    });
  },
};
