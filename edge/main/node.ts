// Starting the edge on Node: libSQL over the native client (embedded file or remote), the Node
// runtime adapter, and the Hono app served over HTTPS (RFC 8555 §6.1) or, for tests behind a TLS
// terminator, plain HTTP.
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { startPurgeTimer } from '../acme/purge-job.ts';
import { type EdgeConfig, edgeConfigFromEnv, readFileSettings } from '../config.ts';
import { startEventLoop } from '../events/loop.ts';
import { createNodeRuntime } from '../platform/node.ts';
import { prepareDatabaseFile } from '../platform/node-db-file.ts';
import type { EdgeServices } from '../services.ts';
import { bootEdge } from './boot.ts';
import { openLibsqlClient } from './libsql.ts';

export interface NodeEdgeOptions {
  host?: string;
  port?: number;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  log?: (e: Record<string, unknown>) => void;
}

export interface RunningEdge {
  url: string;
  port: number;
  services: EdgeServices;
  close(): Promise<void>;
}

/** Environment → EdgeConfig on Node: file-valued settings (keys, the signer CA) are read here. */
export function loadEdgeConfigFromEnv(env: NodeJS.ProcessEnv = process.env): EdgeConfig {
  const e = readFileSettings(env, (f) => readFileSync(f, 'utf8'));
  if (!e.EDGECA_RELAY_KEY)
    throw new Error('set EDGECA_RELAY_KEY_FILE (or EDGECA_RELAY_KEY) to the edge relay key JWK');
  return edgeConfigFromEnv(e);
}

/** Node's server timeouts from the config (headersTimeout must not exceed requestTimeout). */
function slowClientLimits(config: EdgeConfig) {
  const requestTimeout = config.requestTimeoutMs;
  const headersTimeout =
    requestTimeout > 0 ? Math.min(config.headersTimeoutMs, requestTimeout) : config.headersTimeoutMs;
  return {
    requestTimeout,
    headersTimeout,
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(headersTimeout / 4) || 1000)),
  };
}

export async function startNodeEdge(config: EdgeConfig, opts: NodeEdgeOptions = {}): Promise<RunningEdge> {
  const loose = prepareDatabaseFile(config.dbUrl);
  if (loose)
    (opts.log ?? ((e) => console.error(JSON.stringify(e))))({ event: 'database-file-mode', warning: loose });
  const client = openLibsqlClient(config);
  const runtime = createNodeRuntime(config.dnsResolver ? { dnsResolver: config.dnsResolver } : {});
  const { services, app } = await bootEdge({
    config,
    runtime,
    db: { client },
    ...(opts.log ? { log: opts.log } : {}),
  });
  // events (expiry watch, webhook deliveries) and the purge of expired rows, on timers
  const stopEvents = startEventLoop(services);
  const stopPurge = startPurgeTimer(services);
  const tls = opts.tlsCertFile && opts.tlsKeyFile;
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve(
      {
        // The connection's peer address, for per-address limits (edge/ratelimit/client-address.ts).
        fetch: (req, env) => app.fetch(req, { ...env, remoteAddress: env.incoming.socket.remoteAddress }),
        hostname: opts.host ?? '127.0.0.1',
        port: opts.port ?? 0,
        // A slow client (slowloris) is cut off once its headers or its whole request
        // take longer than the configured time; Node checks every connectionsCheckingInterval.
        ...(tls
          ? {
              createServer: createHttpsServer,
              serverOptions: {
                cert: readFileSync(opts.tlsCertFile!),
                key: readFileSync(opts.tlsKeyFile!),
                ...slowClientLimits(config),
              },
            }
          : { serverOptions: slowClientLimits(config) }),
      },
      () => resolve(s),
    );
    s.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.host ?? '127.0.0.1';
  return {
    url: `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    services,
    async close() {
      stopPurge();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
      await stopEvents();
      client.close();
    },
  };
}
