// The edge on Deno: `deno run <permissions> edge/main/deno.ts` (docs/runtimes.md spells out
// the permissions). The same EDGECA_* environment as on Node; keys and the signer CA from their
// *_FILE settings or inline. An embedded libSQL file through the `libsql` package (native, so FFI),
// a remote libsql:// or https:// URL through @libsql/client (boot.ts). Served by Deno.serve — HTTPS
// when EDGECA_TLS_CERT_FILE and EDGECA_TLS_KEY_FILE are set (RFC 8555 §6.1), plain HTTP otherwise
// (behind a TLS terminator, tests).
import { startPurgeTimer } from '../acme/purge-job.ts';
import { edgeConfigFromEnv, readFileSettings } from '../config.ts';
import { startEventLoop } from '../events/loop.ts';
import { createDenoRuntime, deno, EDGE_ENV_NAMES, prepareDenoDatabaseFile } from '../platform/deno.ts';
import { bootEdge } from './boot.ts';
import { openLibsqlClient } from './libsql.ts';

function readEnv(D: ReturnType<typeof deno>): Record<string, string | undefined> {
  try {
    return Object.fromEntries(Object.entries(D.env.toObject()).filter(([k]) => k.startsWith('EDGECA_')));
  } catch {
    // --allow-env=<list>: the whole environment may not be read, each listed name may.
    const env: Record<string, string | undefined> = {};
    for (const k of EDGE_ENV_NAMES) {
      try {
        env[k] = D.env.get(k);
      } catch {
        // not granted: treated as unset
      }
    }
    return env;
  }
}

async function main(): Promise<void> {
  const D = deno();
  const env = readFileSettings(readEnv(D), (f) => D.readTextFileSync(f));
  if (!env.EDGECA_RELAY_KEY)
    throw new Error('set EDGECA_RELAY_KEY_FILE (or EDGECA_RELAY_KEY) to the edge relay key JWK');
  const config = edgeConfigFromEnv(env);
  const loose = prepareDenoDatabaseFile(config.dbUrl);
  if (loose) console.error(JSON.stringify({ event: 'database-file-mode', warning: loose }));
  const client = openLibsqlClient(config);
  const runtime = createDenoRuntime(config.dnsResolver ? { dnsResolver: config.dnsResolver } : {});
  const { app, services } = await bootEdge({ config, runtime, db: { client } });
  // events (expiry watch, webhook deliveries) and the purge of expired rows, on timers
  const stopEvents = startEventLoop(services);
  const stopPurge = startPurgeTimer(services);

  const { tlsCertFile, tlsKeyFile } = config.listen;
  const tls = tlsCertFile && tlsKeyFile;
  const hostname = config.listen.host;
  const ctl = new AbortController();
  const server = D.serve(
    {
      hostname,
      port: config.listen.port,
      signal: ctl.signal,
      ...(tls
        ? {
            cert: D.readTextFileSync(tlsCertFile),
            key: D.readTextFileSync(tlsKeyFile),
          }
        : {}),
      onListen: ({ port }) => {
        const host = hostname.includes(':') ? `[${hostname}]` : hostname;
        console.log(
          JSON.stringify({
            event: 'edge-listening',
            runtime: 'deno',
            url: `${tls ? 'https' : 'http'}://${host}:${port}`,
            directory: `${config.baseUrl}/directory`,
          }),
        );
      },
    },
    // The connection's peer address, for per-address limits (edge/ratelimit/client-address.ts).
    (req, info) => app.fetch(req, { remoteAddress: info.remoteAddr.hostname }),
  );
  const stop = () => ctl.abort();
  D.addSignalListener('SIGINT', stop);
  D.addSignalListener('SIGTERM', stop);
  await server.finished;
  await stopEvents();
  stopPurge();
  client.close();
}

main().catch((err: unknown) => {
  console.error(`edgeca edge (deno): ${err instanceof Error ? err.message : String(err)}`);
  deno().exit(1);
});
