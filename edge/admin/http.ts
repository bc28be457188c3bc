// The admin API's plumbing: its context type, its problem documents (RFC 9457, type
// urn:edgeca:admin:<kind>, the faulty field named in `field`), request bodies, and the field checks
// every route shares. Every check runs before any write, so a bad request changes nothing.
import type { Context } from 'hono';
import type { AppEnv } from '../context.ts';
import type { PublicToken } from '../storage/admin.ts';
import type { Stmt } from '../storage/settings.ts';

export type AdminEnv = { Variables: AppEnv['Variables'] & { adminToken: PublicToken } };
export type AdminContext = Context<AdminEnv>;

/** One OpenAPI operation: method, path ({param} style), summary, and the request body's schema name. */
export type AdminOp = [method: string, path: string, summary: string, body?: string];

/**
 * An admin resource's part of the OpenAPI document, kept in the file that registers its routes:
 * its operations and the schemas of their request bodies (openapi.ts assembles the parts, and
 * openapi.test.ts holds the operations to the routes).
 */
export interface AdminApiPart {
  ops: AdminOp[];
  schemas: Record<string, unknown>;
}

export type AdminErrorKind =
  | 'badRequest'
  | 'unauthorized'
  | 'forbidden'
  | 'notFound'
  | 'conflict'
  | 'tooManyRequests'
  | 'internal'
  | 'badGateway';

const STATUS: Record<AdminErrorKind, number> = {
  badRequest: 400,
  unauthorized: 401,
  forbidden: 403,
  notFound: 404,
  conflict: 409,
  tooManyRequests: 429,
  internal: 500,
  badGateway: 502,
};

export class AdminError extends Error {
  readonly status: number;
  constructor(
    readonly kind: AdminErrorKind,
    detail: string,
    readonly field?: string,
  ) {
    super(detail);
    this.status = STATUS[kind];
  }
  toJSON() {
    return {
      type: `urn:edgeca:admin:${this.kind}`,
      status: this.status,
      detail: this.message,
      ...(this.field !== undefined ? { field: this.field } : {}),
    };
  }
}

export const bad = (field: string, what: string) => new AdminError('badRequest', `${field}: ${what}`, field);

/** The JSON object body of a request; `{}` for an empty body. */
export async function body(c: AdminContext): Promise<Record<string, unknown>> {
  const text = await c.req.text();
  if (text.trim() === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new AdminError('badRequest', 'the request body is not JSON', 'body');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('body', 'must be a JSON object');
  return v as Record<string, unknown>;
}

export function onlyFields(o: Record<string, unknown>, allowed: string[]): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw bad(k, `unknown field; expected one of ${allowed.join(', ')}`);
  }
}

export function str(o: Record<string, unknown>, k: string, max = 200): string | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw bad(k, 'must be a string');
  if (v.length > max) throw bad(k, `at most ${max} characters`);
  return v;
}

export function int(o: Record<string, unknown>, k: string, min: number, max: number): number | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw bad(k, 'must be an integer');
  if (v < min || v > max) throw bad(k, `must lie between ${min} and ${max}`);
  return v;
}

export function bool(o: Record<string, unknown>, k: string): boolean | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw bad(k, 'must be true or false');
  return v;
}

/** A non-empty array of distinct values taken from `choices`. */
export function subset<T extends string>(
  o: Record<string, unknown>,
  k: string,
  choices: readonly T[],
): T[] | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length === 0) throw bad(k, `must be a non-empty array of ${choices.join(', ')}`);
  for (const x of v) {
    if (!choices.includes(x as T)) throw bad(k, `${JSON.stringify(x)} is not one of ${choices.join(', ')}`);
  }
  return [...new Set(v as T[])];
}

/** RFC 3339 date-time → ms, or null; undefined when absent. */
export function time(o: Record<string, unknown>, k: string): number | null | undefined {
  const v = o[k];
  if (v === undefined || v === null) return v;
  const ms = typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(v) ? Date.parse(v) : Number.NaN;
  if (Number.isNaN(ms)) throw bad(k, 'must be an RFC 3339 date-time such as 2030-01-01T00:00:00Z, or null');
  return ms;
}

export function queryInt(c: AdminContext, k: string, dflt: number, max: number): number {
  const v = c.req.query(k);
  if (v === undefined) return dflt;
  if (!/^\d{1,9}$/.test(v) || Number(v) < 1 || Number(v) > max)
    throw bad(k, `must be an integer from 1 to ${max}`);
  return Number(v);
}

export const iso = (ms: number | null | undefined) =>
  ms === null || ms === undefined ? null : new Date(ms).toISOString();

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
