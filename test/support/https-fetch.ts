// A fetch-like function over node:https that trusts one CA file: Node 20's global fetch cannot be
// given a CA without reaching into undici, and the edge's certificate chains to the dev root.
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { FetchLike } from './acme.ts';

/**
 * timeoutMs: per request (a loaded machine may need more than the default). newConnection: every
 * request on a connection of its own (no keep-alive), as a client behind a load balancer that
 * spreads connections is spread request by request.
 */
export function httpsFetch(
  caFile: string,
  timeoutMs = 30_000,
  o: { newConnection?: boolean } = {},
): FetchLike {
  const ca = readFileSync(caFile);
  return (url, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const u = new URL(url);
      const headers: Record<string, string> = {};
      new Headers(init.headers).forEach((v, k) => {
        headers[k] = v;
      });
      const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(
        u,
        {
          method: init.method ?? 'GET',
          headers,
          ca,
          timeout: timeoutMs,
          ...(o.newConnection ? { agent: false } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const h = new Headers();
            for (const [k, v] of Object.entries(res.headers)) {
              if (Array.isArray(v)) for (const x of v) h.append(k, x);
              else if (v !== undefined) h.set(k, v);
            }
            const status = res.statusCode ?? 0;
            const body =
              status === 204 || status === 304 || init.method === 'HEAD' ? null : Buffer.concat(chunks);
            resolve(new Response(body, { status, headers: h }));
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
      req.on('error', reject);
      if (init.body !== undefined && init.body !== null) req.end(init.body as string);
      else req.end();
    });
}
