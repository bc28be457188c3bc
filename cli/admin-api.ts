// The admin API as the admin CLI reaches it: where it is and which token to send (options, the
// EDGECA_ADMIN_* variables, or the endpoints.json `npm start` writes), and one call over HTTP(S)
// whose failure says what went wrong and how to fix it.
import { existsSync, readFileSync } from 'node:fs';
import type { Conn } from './admin-format.ts';
import { adminToken } from './admin-token.ts';
import { UsageError } from './args.ts';
import { httpRequest } from './http-request.ts';

const ENDPOINTS = '.edgeca/dev/endpoints.json';

/** The edge could not be reached, or answered an error: the message says which and what to do. */
export class AdminApiError extends Error {}

/** Where the admin API is and how to authenticate: options, then EDGECA_ADMIN_*, then the dev endpoints.json. */
export function connection(v: {
  url?: string | undefined;
  token?: string | undefined;
  'token-file'?: string | undefined;
  'ca-file'?: string | undefined;
}): Conn {
  let dev: { adminUrl?: string; tlsCaFile?: string } = {};
  if (existsSync(ENDPOINTS)) dev = JSON.parse(readFileSync(ENDPOINTS, 'utf8'));
  const url = v.url ?? process.env.EDGECA_ADMIN_URL ?? dev.adminUrl;
  if (!url)
    throw new UsageError(
      'no admin URL: pass --url https://edge/admin or set EDGECA_ADMIN_URL (npm start writes one to .edgeca/dev/endpoints.json)',
    );
  const token = adminToken(v, (line) => process.stderr.write(`edgeca admin: ${line}\n`));
  if (!token)
    throw new UsageError(
      'no admin token: pass --token-file FILE or set EDGECA_ADMIN_TOKEN_FILE (make the first one with `edgeca admin token create --scope write`)',
    );
  const caFile = v['ca-file'] ?? process.env.EDGECA_ADMIN_CA_FILE ?? dev.tlsCaFile;
  return {
    url: url.replace(/\/+$/, ''),
    token,
    ...(caFile && existsSync(caFile) ? { ca: readFileSync(caFile) } : {}),
  };
}

/** One admin API call; the parsed JSON answer, or an AdminApiError naming the status and the fix. */
export async function api(conn: Conn, method: string, path: string, body?: unknown): Promise<unknown> {
  const u = new URL(conn.url + path);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const res = await httpRequest(u, {
    method,
    headers: {
      authorization: `Bearer ${conn.token}`,
      ...(payload ? { 'content-type': 'application/json' } : {}),
    },
    body: payload,
    ca: conn.ca,
    timeoutMs: 30_000,
    timeoutMessage: 'timed out after 30 s',
  }).catch((e: Error) => {
    throw new AdminApiError(
      `cannot reach ${conn.url}: ${e.message} (is the edge running? check --url / EDGECA_ADMIN_URL and --ca-file)`,
    );
  });
  const doc = res.text ? JSON.parse(res.text) : undefined;
  if (res.status >= 400) {
    const detail = doc?.detail ?? res.text;
    const hint =
      res.status === 401
        ? ' — create a token with `edgeca admin token create --scope write` and pass it with --token-file or EDGECA_ADMIN_TOKEN_FILE'
        : res.status === 403
          ? ' — use a token with the write scope'
          : '';
    throw new AdminApiError(`${method} ${path}: ${res.status} ${detail}${hint}`);
  }
  return doc;
}
