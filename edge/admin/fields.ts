// The request checks every admin route shares: the JSON body, its fields (string, integer, boolean,
// subset, date-time; unknown fields refused) and integer query parameters. Each names the faulty
// field in its 400 problem, and every check runs before any write, so a bad request changes nothing.
import { type AdminContext, AdminError, bad } from './http.ts';

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
