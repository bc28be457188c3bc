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
import type { AppEnv, EdgeServices } from '../acme/context.ts';
import { createApp, createServices } from '../app.ts';
import { edgeConfigFromEnv } from '../config.ts';
import { runEvents } from '../events/delivery.ts';
import { type D1Like, openD1Database } from '../storage/db.ts';
import { createWorkersRuntime, DEFAULT_DOH_URL } from './workers.ts';

/** The part of the Workers ExecutionContext used here. */
export interface ExecutionContextLike {
  waitUntil(work: Promise<unknown>): void;
}

export interface WorkersEnv {
  DB?: D1Like;
  [name: string]: unknown;
}

const requestCtx = new AsyncLocalStorage<ExecutionContextLike>();
let app: Promise<Hono<AppEnv>> | undefined;
/** the services behind `app`, for the Cron Trigger (set once `build` has made them) */
let services: EdgeServices | undefined;

function waitUntil(work: Promise<unknown>): void {
  const guarded = work.catch((err: unknown) => {
    console.error('background work failed:', err instanceof Error ? err.message : err);
  });
  // Outside a request (cannot happen for validation, which starts while serving one) the promise
  // simply runs as long as the isolate does; the next read resumes it otherwise.
  requestCtx.getStore()?.waitUntil(guarded);
}

async function build(env: WorkersEnv): Promise<Hono<AppEnv>> {
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
    services = await createServices({ config, runtime, dbClient: client });
    return createApp(services, { publicMetrics: false });
  }
  if (!env.DB) throw new Error('no D1 binding "DB" and no EDGECA_DB_URL: the edge has no database');
  const database = await openD1Database(env.DB);
  services = await createServices({ config, runtime, database });
  return createApp(services, { publicMetrics: false });
}

async function ensureApp(env: WorkersEnv): Promise<Hono<AppEnv>> {
  if (!app) {
    app = build(env);
    // A failed start (bad setting, database away) is retried by the next request.
    app.catch(() => {
      app = undefined;
    });
  }
  return app;
}

export default {
  /**
   * The Cron Trigger (wrangler.toml [triggers] crons): Workers has no timer between requests, so
   * the expiry watch and webhook deliveries run here (edge/events/delivery.ts).
   */
  async scheduled(_event: unknown, env: WorkersEnv, ctx: ExecutionContextLike): Promise<void> {
    await requestCtx.run(ctx, async () => {
      await ensureApp(env);
      if (!services) return;
      const run = await runEvents(services);
      console.log(JSON.stringify({ event: 'events-run', ...run }));
    });
  },
  async fetch(req: Request, env: WorkersEnv, ctx: ExecutionContextLike): Promise<Response> {
    return requestCtx.run(ctx, async () => {
      let ready: Hono<AppEnv>;
      try {
        ready = await ensureApp(env);
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
};
