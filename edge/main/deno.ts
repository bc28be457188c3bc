// The edge on Deno: `deno run <permissions> edge/main/deno.ts` (docs/runtimes.md spells out
// the permissions). The same EDGECA_* environment as on Node; keys and the signer CA from their
// *_FILE settings or inline. libSQL through @libsql/client (an embedded file needs FFI; a remote libsql://
// or https:// URL does not), served by Deno.serve — HTTPS when EDGECA_TLS_CERT_FILE and
// EDGECA_TLS_KEY_FILE are set (RFC 8555 §6.1), plain HTTP otherwise (behind a TLS terminator, tests).
import { createClient } from '@libsql/client';
import { resilientClient } from '../../shared/libsql.ts';
import { startPurgeTimer } from '../acme/purge-job.ts';
import { createApp } from '../app.ts';
import { edgeConfigFromEnv, readFileSettings } from '../config.ts';
import { startEventLoop } from '../events/loop.ts';
import { createDenoRuntime, deno, EDGE_ENV_NAMES, prepareDenoDatabaseFile } from '../platform/deno.ts';
import { createServices } from '../services.ts';
import { FILE_PRAGMAS } from '../storage/db.ts';

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
  const client = resilientClient(
    () =>
      createClient({ url: config.dbUrl, ...(config.dbAuthToken ? { authToken: config.dbAuthToken } : {}) }),
    FILE_PRAGMAS,
  );
  const runtime = createDenoRuntime(config.dnsResolver ? { dnsResolver: config.dnsResolver } : {});
  const services = await createServices({ config, runtime, dbClient: client });
  const app = createApp(services);
  // events: expiry watch and webhook deliveries, on a timer (edge/events/loop.ts)
  const stopEvents = startEventLoop(services);
  const stopPurge = startPurgeTimer(services);

  const tls = env.EDGECA_TLS_CERT_FILE && env.EDGECA_TLS_KEY_FILE;
  const hostname = env.EDGECA_HOST ?? '127.0.0.1';
  const ctl = new AbortController();
  const server = D.serve(
    {
      hostname,
      port: Number(env.EDGECA_PORT ?? 14000),
      signal: ctl.signal,
      ...(tls
        ? {
            cert: D.readTextFileSync(env.EDGECA_TLS_CERT_FILE!),
            key: D.readTextFileSync(env.EDGECA_TLS_KEY_FILE!),
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
