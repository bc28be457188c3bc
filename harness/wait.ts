// The one readiness poller of the tests, the benchmark and the dev scripts: ask `check` until it
// gives a value, at most `tries` times and for at most `timeoutMs` (a check that hangs is cut off
// at the deadline too), and fail with an error that names what was awaited, how long and how
// often it was asked, and the last thing it said. `giveUp` ends the wait at once when waiting
// cannot help (the server being waited for has exited).

export interface WaitOptions {
  /** the whole wait, checks included */
  timeoutMs: number;
  /** the pause between two checks (default 100 ms) */
  intervalMs?: number;
  /** the most checks (default: as many as fit in timeoutMs at intervalMs, plus one) */
  tries?: number;
  /** asked before each check: a reason stops the wait with that reason */
  giveUp?: () => string | undefined;
  /** added to the error (e.g. the tail of a server's log) */
  context?: () => string;
}

/** A check's answer when not ready yet, with what it saw (it may throw instead). */
export class NotYet {
  constructor(readonly reason: string) {}
}

export class WaitTimeout extends Error {
  override name = 'WaitTimeout';
}

const describe = (e: unknown): string => {
  if (e instanceof NotYet) return e.reason;
  if (e instanceof Error) return e.cause ? `${e.message} (${String(e.cause)})` : e.message;
  return String(e);
};

/**
 * Polls `check` until it returns something other than undefined or a NotYet; a throw counts as
 * "not yet", and its message is kept as the last error.
 */
export async function waitFor<T>(
  what: string,
  check: (signal: AbortSignal) => Promise<T | undefined | NotYet> | T | undefined | NotYet,
  o: WaitOptions,
): Promise<Exclude<T, undefined | NotYet>> {
  const interval = o.intervalMs ?? 100;
  const tries = o.tries ?? Math.ceil(o.timeoutMs / Math.max(interval, 1)) + 1;
  const started = Date.now();
  const deadline = started + o.timeoutMs;
  let last = 'not asked yet';
  let asked = 0;
  const fail = (why: string): never => {
    const extra = o.context?.() ?? '';
    throw new WaitTimeout(
      `${what}: ${why} (asked ${asked} time${asked === 1 ? '' : 's'} in ${Date.now() - started} ms; last: ${last})` +
        (extra ? `\n${extra}` : ''),
    );
  };
  while (asked < tries) {
    const reason = o.giveUp?.();
    if (reason !== undefined) fail(reason);
    const left = deadline - Date.now();
    if (left <= 0) break;
    asked++;
    const stop = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const CUT_OFF = new NotYet('the check did not answer before the deadline');
    const cutOff = new Promise<NotYet>((resolve) => {
      timer = setTimeout(() => {
        stop.abort(new Error(`the check did not answer within the ${o.timeoutMs} ms`));
        resolve(CUT_OFF);
      }, left);
    });
    try {
      const v = await Promise.race([Promise.resolve().then(() => check(stop.signal)), cutOff]);
      if (v !== undefined && !(v instanceof NotYet)) return v as Exclude<T, undefined | NotYet>;
      // A check cut off at the deadline says less than the answer before it: keep that one.
      if (v === CUT_OFF && asked > 1) last = `${last}; the next check did not answer before the deadline`;
      else last = v instanceof NotYet ? v.reason : 'not ready';
    } catch (e) {
      last = describe(e);
    } finally {
      clearTimeout(timer);
    }
    const pause = Math.min(interval, deadline - Date.now());
    if (asked < tries && pause > 0) await new Promise((r) => setTimeout(r, pause));
  }
  return fail(asked >= tries ? `not ready after ${tries} checks` : `not ready within ${o.timeoutMs} ms`);
}

/** A check for waitFor: GET `url` (plain fetch) until it answers `status` (default 200). */
export function httpAnswers(
  url: string,
  {
    status = 200,
    fetch: f = fetch,
    init,
  }: {
    status?: number;
    fetch?: (url: string, init?: RequestInit) => Promise<Response>;
    init?: RequestInit;
  } = {},
): (signal: AbortSignal) => Promise<Response | NotYet> {
  return async (signal) => {
    const res = await f(url, { ...init, signal });
    if (res.status === status) return res;
    await res.body?.cancel();
    return new NotYet(`${url} answered HTTP ${res.status}`);
  };
}
