// The UI acts only through the admin API (edge/admin/), called in-process with the session's token:
// the same checks, scopes (a read token cannot write from the UI either), problem documents and
// change log as for the CLI; the UI adds no second path to the data.
import { Hono } from 'hono';
import type { AppEnv } from '../../context.ts';
import type { EdgeServices } from '../../services.ts';
import { ADMIN_PREFIX } from '../http.ts';
import { createAdminApp } from '../index.ts';

type Bridge = {
  Bindings: { svc: EdgeServices; rid: string; clientAddress: string };
  Variables: AppEnv['Variables'];
};

/** Who calls: the session's token, from the browser's address (the admin login throttle's key). */
export interface ApiCaller {
  token: string;
  clientAddress: string;
}

let bridge: Hono<Bridge> | undefined;

function adminBridge(): Hono<Bridge> {
  if (!bridge) {
    const b = new Hono<Bridge>();
    b.use('*', async (c, next) => {
      c.set('svc', c.env.svc);
      c.set('requestId', c.env.rid);
      c.set('clientAddress', c.env.clientAddress);
      await next();
    });
    b.route(ADMIN_PREFIX, createAdminApp() as unknown as Hono<Bridge>);
    bridge = b;
  }
  return bridge;
}

export type ApiResult<T> =
  | { ok: true; status: number; data: T }
  | { ok: false; status: number; detail: string };

/** One admin API call as the session's token; errors come back as the problem's detail. */
export async function adminApi<T = Record<string, unknown>>(
  svc: EdgeServices,
  rid: string,
  caller: ApiCaller,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<ApiResult<T>> {
  const res = await adminBridge().request(
    `${svc.config.baseUrl}${ADMIN_PREFIX}${path}`,
    {
      method,
      headers: {
        authorization: `Bearer ${caller.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    },
    { svc, rid, clientAddress: caller.clientAddress },
  );
  const text = await res.text();
  let doc: unknown;
  try {
    doc = text ? JSON.parse(text) : {};
  } catch {
    doc = {};
  }
  if (res.ok) return { ok: true, status: res.status, data: doc as T };
  const detail =
    typeof doc === 'object' && doc && 'detail' in doc
      ? String((doc as { detail: unknown }).detail)
      : `HTTP ${res.status}`;
  return { ok: false, status: res.status, detail };
}

/** The data of a successful call; a failed read throws (rendered as the page's error). */
export async function read<T>(svc: EdgeServices, rid: string, caller: ApiCaller, path: string): Promise<T> {
  const r = await adminApi<T>(svc, rid, caller, 'GET', path);
  if (!r.ok) throw new Error(`${path}: ${r.detail}`);
  return r.data;
}
