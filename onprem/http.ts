// HTTP plumbing shared by the on-prem services (the signer and the validator): listening on
// HTTP or HTTPS, and the frame of a relay app — one JSON log line per request, a body cap, the
// relay content type, and every error as an RFC 7807 problem document (internal causes logged,
// never sent).
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { AcmeProblem } from '../shared/problems.ts';
import { RELAY_CONTENT_TYPE } from '../shared/relay.ts';

export interface Listening {
  url: string;
  close(): Promise<void>;
}

/** Serves `fetch` on host:port (HTTPS when both TLS files are given); port 0 picks a free port. */
export async function listen(
  fetch: (req: Request) => Response | Promise<Response>,
  o: { host: string; port: number; tlsCertFile?: string | undefined; tlsKeyFile?: string | undefined },
): Promise<Listening> {
  const tls = o.tlsCertFile && o.tlsKeyFile;
  const server = await new Promise<ReturnType<typeof serve>>((resolveListen, rejectListen) => {
    const s = serve(
      {
        fetch,
        port: o.port,
        hostname: o.host,
        ...(tls
          ? {
              createServer: createHttpsServer,
              serverOptions: {
                cert: readFileSync(o.tlsCertFile ?? ''),
                key: readFileSync(o.tlsKeyFile ?? ''),
              },
            }
          : {}),
      },
      () => resolveListen(s),
    );
    s.once('error', rejectListen);
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `${tls ? 'https' : 'http'}://${host}:${addr.port}`,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        if ('closeAllConnections' in server) server.closeAllConnections();
      }),
  };
}

export function problemResponse(problem: AcmeProblem): Response {
  const headers: Record<string, string> = { 'Content-Type': 'application/problem+json' };
  if (problem.retryAfter !== undefined) headers['Retry-After'] = String(problem.retryAfter);
  return new Response(JSON.stringify(problem.toJSON()), { status: problem.status, headers });
}

type RelayEnv<L> = { Variables: { reqLog: L } };

/**
 * A Hono app framed as a relay service: `reqLog` (fields handlers add to the request's log line),
 * a `limit` middleware capping the body at maxBodyBytes, and `readJws` for the compact JWS body.
 */
export function relayApp<L extends object>(o: {
  name: string;
  maxBodyBytes: number;
  log: (line: Record<string, unknown>) => void;
}): {
  app: Hono<RelayEnv<L>>;
  limit: MiddlewareHandler;
  readJws: (c: Context<RelayEnv<L>>) => Promise<string>;
} {
  const app = new Hono<RelayEnv<L>>();
  app.use(async (c, next) => {
    const started = performance.now();
    const reqLog = {} as L;
    c.set('reqLog', reqLog);
    await next();
    o.log({
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Math.round((performance.now() - started) * 10) / 10,
      ...reqLog,
    });
  });
  app.notFound(() => problemResponse(new AcmeProblem('notFound', `no such ${o.name} endpoint`)));
  app.onError((err, c) => {
    if (err instanceof AcmeProblem) return problemResponse(err);
    // Internal causes are logged here, never sent (STYLE.md habit 3).
    o.log({ event: 'error', path: c.req.path, error: err.message, ...c.get('reqLog') });
    return problemResponse(new AcmeProblem('serverInternal', `the ${o.name} failed to process the request`));
  });
  const limit = bodyLimit({
    maxSize: o.maxBodyBytes,
    onError: () => {
      throw new AcmeProblem('payloadTooLarge', `request body exceeds ${o.maxBodyBytes} bytes`);
    },
  });
  const readJws = async (c: Context<RelayEnv<L>>): Promise<string> => {
    const type = (c.req.header('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== RELAY_CONTENT_TYPE) {
      throw new AcmeProblem('unsupportedMediaType', `Content-Type must be ${RELAY_CONTENT_TYPE}`);
    }
    return (await c.req.text()).trim();
  };
  return { app, limit, readJws };
}
