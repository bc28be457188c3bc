// libSQL connection handling shared by the edge, the signer and the validator (all on embedded
// files or remote libSQL through @libsql/client).
import type { Client, Transaction } from '@libsql/client';
import { type StatementCounts, sqlTextOf } from './sql-statements.ts';

/** True for the errors of a database another connection keeps locked past the busy timeout. */
export function isDatabaseBusy(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if (/SQLITE_BUSY|database is locked/i.test(String((e as { message?: unknown }).message ?? e)))
      return true;
  }
  return false;
}

/**
 * A libSQL client that replaces its connection after SQLITE_BUSY. @libsql/client 0.18 leaves a
 * statement open when a batch fails with SQLITE_BUSY, and every later batch on that connection
 * then fails ("cannot commit transaction - SQL statements in progress") until the process
 * restarts; a fresh connection (given `pragmas` again: they are per connection) does not inherit that.
 */
export function resilientClient(make: () => Client, pragmas: readonly string[] = []): Client {
  let inner = make();
  let ready: Promise<void> = Promise.resolve();
  const renew = () => {
    const old = inner;
    inner = make();
    const fresh = inner;
    ready = (async () => {
      if (fresh.protocol !== 'file') return;
      for (const p of pragmas) await fresh.execute(p).catch(() => {});
    })();
    try {
      old.close();
    } catch {
      // already closed
    }
  };
  const guarded = new Set<PropertyKey>(['execute', 'batch', 'executeMultiple', 'migrate', 'transaction']);
  return new Proxy({} as Client, {
    get(_target, prop) {
      const value = Reflect.get(inner, prop) as unknown;
      if (typeof value !== 'function') return value;
      if (!guarded.has(prop)) return (value as (...a: unknown[]) => unknown).bind(inner);
      return async (...args: unknown[]) => {
        await ready;
        const conn = inner;
        try {
          return await (Reflect.get(conn, prop) as (...a: unknown[]) => Promise<unknown>).apply(conn, args);
        } catch (e) {
          if (isDatabaseBusy(e) && conn === inner) renew();
          throw e;
        }
      };
    },
  });
}

/**
 * `client` with every statement it runs counted in `counts` by kind (shared/sql-statements.ts): a
 * batch counts each of its statements and one "batch" (its transaction), an interactive
 * transaction one "transaction" and each statement run in it.
 */
export function countingClient(client: Client, counts: StatementCounts): Client {
  const countAll = (stmts: unknown) => {
    for (const s of stmts as unknown[]) counts.count(sqlTextOf(s));
  };
  const wrapTx = (tx: Transaction): Transaction =>
    new Proxy(tx, {
      get(target, prop) {
        const value = Reflect.get(target, prop) as unknown;
        if (typeof value !== 'function') return value;
        const fn = (value as (...a: unknown[]) => unknown).bind(target);
        if (prop === 'execute' || prop === 'executeMultiple')
          return (stmt: unknown, ...rest: unknown[]) => {
            counts.count(sqlTextOf(stmt));
            return fn(stmt, ...rest);
          };
        if (prop === 'batch')
          return (stmts: unknown, ...rest: unknown[]) => {
            countAll(stmts);
            return fn(stmts, ...rest);
          };
        return fn;
      },
    });
  // The wrappers are made once (not at every property access) and look the method up at call
  // time, so a client underneath that swaps its connection (resilientClient) is followed.
  type Fn = (...a: unknown[]) => unknown;
  const call = (prop: PropertyKey, args: unknown[]) => (Reflect.get(client, prop) as Fn).apply(client, args);
  const one =
    (prop: string): Fn =>
    (stmt, ...rest) => {
      counts.count(sqlTextOf(stmt));
      return call(prop, [stmt, ...rest]);
    };
  const many =
    (prop: string): Fn =>
    (stmts, ...rest) => {
      counts.countKind('batch');
      countAll(stmts);
      return call(prop, [stmts, ...rest]);
    };
  const wrapped = new Map<PropertyKey, Fn>([
    ['execute', one('execute')],
    ['executeMultiple', one('executeMultiple')],
    ['batch', many('batch')],
    ['migrate', many('migrate')],
    [
      'transaction',
      async (...a) => {
        counts.countKind('transaction');
        return wrapTx((await call('transaction', a)) as Transaction);
      },
    ],
  ]);
  return new Proxy(client, {
    get(target, prop) {
      const w = wrapped.get(prop);
      if (w) return w;
      const value = Reflect.get(target, prop) as unknown;
      return typeof value === 'function' ? (value as Fn).bind(target) : value;
    },
  });
}
