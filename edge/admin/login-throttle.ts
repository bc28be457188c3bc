// Every admin login — a bearer token on the admin API, the web UI's login form, the token in a UI
// session cookie — goes through this one check, so none of them is a way to guess tokens faster.
// A wrong token takes one token from its client address's bucket (GCRA in the shared database,
// edge/storage/rate-buckets.ts); the take is one guarded statement that both checks the bucket and counts
// the attempt, so a parallel burst cannot get more wrong answers than the limit, whatever instance
// it reaches. Once the bucket is empty every attempt from that address is refused (429 with
// Retry-After), a right token included, so guessing learns nothing until the bucket refills. A right
// token costs nothing: it only checks that the bucket is not empty.
import type { EdgeServices } from '../services.ts';
import type { PublicToken } from '../storage/admin.ts';

export type AdminLogin =
  | { ok: true; token: PublicToken }
  | { ok: false; why: 'unknown' }
  | { ok: false; why: 'throttled'; retryAfterSeconds: number };

export async function adminLogin(
  svc: EdgeServices,
  clientAddress: string,
  secret: string,
): Promise<AdminLogin> {
  const { admin, buckets } = await svc.stores();
  const limit = { count: svc.config.adminAuthFailuresPerMinute, windowSeconds: 60 };
  const key = `adminAuthFailures:${clientAddress}`;
  const token = await admin.authenticate(secret);
  const t = token ? await buckets.peek(key, limit) : await buckets.take(key, limit);
  if (!t.ok) return { ok: false, why: 'throttled', retryAfterSeconds: t.retryAfterSeconds };
  return token ? { ok: true, token } : { ok: false, why: 'unknown' };
}
