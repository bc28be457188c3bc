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
  return new Proxy(client, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (typeof value !== 'function') return value;
      const fn = (value as (...a: unknown[]) => unknown).bind(target);
      switch (prop) {
        case 'execute':
        case 'executeMultiple':
          return (stmt: unknown, ...rest: unknown[]) => {
            counts.count(sqlTextOf(stmt));
            return fn(stmt, ...rest);
          };
        case 'batch':
        case 'migrate':
          return (stmts: unknown, ...rest: unknown[]) => {
            counts.countKind('batch');
            countAll(stmts);
            return fn(stmts, ...rest);
          };
        case 'transaction':
          return async (...a: unknown[]) => {
            counts.countKind('transaction');
            return wrapTx((await fn(...a)) as Transaction);
          };
        default:
          return fn;
      }
    },
  });
}
