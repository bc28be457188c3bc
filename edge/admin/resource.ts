// What every admin resource file is built from: a route is one entry that holds its method, path,
// OpenAPI summary, request schema and handler, so the route and its OpenAPI operation are written
// once and cannot part (index.ts registers the entries, openapi.ts documents the same entries).
// Beside it the handler steps the resources share: the page size, query filters, a row or 404,
// and the change-log entry written in the same batch as the change.
import type { Context, Hono } from 'hono';
import type { Change } from '../storage/admin.ts';
import type { Stmt } from '../storage/settings.ts';
import { queryInt } from './fields.ts';
import { type AdminContext, type AdminEnv, AdminError } from './http.ts';

export type AdminMethod = 'get' | 'put' | 'post' | 'patch' | 'delete';

/** One admin route and its OpenAPI operation. */
export interface AdminRoute {
  method: AdminMethod;
  /** Hono style (`/tokens/:id/revoke`); the OpenAPI path is derived (`/tokens/{id}/revoke`). */
  path: string;
  summary: string;
  /** the name of the request body's schema in the resource's `schemas` */
  body?: string;
  register(r: Hono<AdminEnv>): void;
}

/** One admin resource: its routes (registered and documented in this order) and its request schemas. */
export interface AdminResource {
  routes: AdminRoute[];
  schemas: Record<string, unknown>;
}

type Handler<P extends string> = (c: Context<AdminEnv, P>) => Response | Promise<Response>;

/** An admin route; the handler's path parameters are typed from `path`. */
export function route<P extends string>(
  method: AdminMethod,
  path: P,
  summary: string,
  handler: Handler<P>,
  body?: string,
): AdminRoute {
  return {
    method,
    path,
    summary,
    ...(body !== undefined ? { body } : {}),
    register: (r) => {
      r.on(method.toUpperCase(), path, handler);
    },
  };
}

/** `/a/:id` → `/a/{id}`, the OpenAPI form of a Hono path. */
export const openApiPath = (path: string) => path.replace(/:(\w+)/g, '{$1}');

/** `?limit=` of a list: 1 to `max`, `dflt` when absent. */
export const pageLimit = (c: AdminContext, dflt = 100, max = 1000) => queryInt(c, 'limit', dflt, max);

/** The query parameters given (non-empty), renamed to the store's filter fields: `{ eab: 'eabKid' }`. */
export function queryFilter<K extends string>(
  c: AdminContext,
  names: Record<string, K>,
): Partial<Record<K, string>> {
  const out: Partial<Record<K, string>> = {};
  for (const [query, field] of Object.entries(names)) {
    const v = c.req.query(query);
    if (v) out[field] = v;
  }
  return out;
}

/** The row, or a 404 problem saying what was not found. */
export function found<T>(row: T | undefined | null, what: string): T {
  if (row === undefined || row === null) throw new AdminError('notFound', `no ${what}`);
  return row;
}

/** Writes a change prepared elsewhere (eab-keys.ts) with its change-log entry, in one batch. */
export function recordChange(c: AdminContext, change: Omit<Change, 'tokenId'>, stmts: Stmt[]) {
  return record(c, change.action, change.target, change.before, change.after, stmts);
}

/** Runs the change's statements and its change-log row in one batch. */
export async function record(
  c: AdminContext,
  action: string,
  target: string,
  before: unknown,
  after: unknown,
  stmts: Stmt[],
): Promise<number[]> {
  const { admin } = await c.var.svc.stores();
  return admin.commit(stmts, { tokenId: c.var.adminToken.id, action, target, before, after });
}
