// The admin API's plumbing: its context type and mount point, and its problem documents (RFC 9457,
// type urn:edgeca:admin:<kind>, the faulty field named in `field`). Request fields are checked in
// fields.ts, routes built in resource.ts.
import type { Context } from 'hono';
import type { AppEnv } from '../context.ts';
import type { PublicToken } from '../storage/admin.ts';

/** Where the admin API is mounted on the edge. */
export const ADMIN_PREFIX = '/admin';

export type AdminEnv = { Variables: AppEnv['Variables'] & { adminToken: PublicToken } };
export type AdminContext = Context<AdminEnv>;

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

export const iso = (ms: number | null | undefined) =>
  ms === null || ms === undefined ? null : new Date(ms).toISOString();
