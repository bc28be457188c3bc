// Small helpers shared by route handlers: JSON answers with Location, and the ownership check every
// account-scoped resource needs. Another account's resource is refused with `unauthorized` (403):
// ids are 128 random bits, so telling "exists but not yours" apart from "absent" reveals nothing useful.
import type { Context } from 'hono';
import { AcmeProblem } from '../../shared/problems.ts';
import type { AppEnv } from '../context.ts';
import type { AccountRow } from '../storage/schema.ts';

export function json(
  c: Context<AppEnv>,
  body: unknown,
  status: 200 | 201 = 200,
  location?: string,
): Response {
  if (location) c.header('Location', location);
  return c.json(body as object, status);
}

export function requireAccount(c: Context<AppEnv>): AccountRow {
  const a = c.var.jws.account;
  if (!a) throw new AcmeProblem('malformed', 'this request must be signed by an account key (kid)');
  return a;
}

export function notFound(what: string): AcmeProblem {
  return new AcmeProblem('notFound', `${what} does not exist`);
}

/** The resource belongs to the signing account, or it does not exist as far as this account knows. */
export function ensureOwner(owner: string | undefined, account: AccountRow, what: string): void {
  if (owner !== account.id) throw new AcmeProblem('unauthorized', `${what} belongs to another account`);
}
