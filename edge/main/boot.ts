// What every entry point does once it has its runtime's adapter and a way to its database: build
// the services (edge/services.ts) and the app on them. The entry points (node.ts, deno.ts,
// workers.ts) differ only in how they read their settings, reach the database and serve.
import type { Client } from '@libsql/client';
import type { Hono } from 'hono';
import { createApp } from '../app.ts';
import type { EdgeConfig } from '../config.ts';
import type { AppEnv } from '../context.ts';
import type { EdgeRuntime } from '../platform/types.ts';
import { createServices, type EdgeServices } from '../services.ts';
import type { Database } from '../storage/db.ts';

export interface BootOptions {
  config: EdgeConfig;
  runtime: EdgeRuntime;
  /** a libSQL client, opened and migrated by createServices, or a database already open (D1) */
  db: { client: Client } | { database: Database };
  log?: (e: Record<string, unknown>) => void;
  /** serve /metrics without a token (the app's default); Workers: false, /admin/metrics only */
  publicMetrics?: boolean;
}

export interface BootedEdge {
  services: EdgeServices;
  app: Hono<AppEnv>;
}

export async function bootEdge(o: BootOptions): Promise<BootedEdge> {
  const services = await createServices({
    config: o.config,
    runtime: o.runtime,
    ...('client' in o.db ? { dbClient: o.db.client } : { database: o.db.database }),
    ...(o.log ? { log: o.log } : {}),
  });
  const app = createApp(services, o.publicMetrics === undefined ? {} : { publicMetrics: o.publicMetrics });
  return { services, app };
}
