// The store's engine on libSQL: an embedded file (the default, one machine) or remote libSQL.
// An embedded file is driven from a worker thread (store/libsql-thread.ts), so commits and lock
// waits do not block the event loop; remote libSQL (and a file URL with parameters) goes through
// @libsql/client. Writes to one database from this process go one at a time (an in-process queue
// per URL): a BEGIN IMMEDIATE waiting in SQLite's busy handler would block the very thread the
// transaction holding the lock needs to finish. Another process on the same file waits up to
// BUSY_TIMEOUT_MS for the write lock, after which the request is answered 503.
import { type Client, createClient, type InValue, type ResultSet } from '@libsql/client';
import { isDatabaseBusy, resilientClient } from '../../shared/libsql.ts';
import { filePathOf, LibsqlThread } from './libsql-thread.ts';
import {
  type Dialect,
  type Engine,
  type Queryable,
  Reachability,
  type SqlValue,
  StoreUnavailableError,
} from './sql.ts';

const BUSY_TIMEOUT_MS = 5000;

/** The tail of the write queue of each database this process opened, by URL. */
const writeQueues = new Map<string, { tail: Promise<unknown>; users: number }>();

const DIALECT: Dialect = {
  bytes: 'BLOB',
  int64: 'INTEGER',
  greatest: 'MAX',
  // julianday('now') has sub-millisecond precision; 2440587.5 is 1970-01-01 as a Julian day.
  nowMs: "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)",
  forUpdate: '',
};

function rowsOf<T>(rs: ResultSet): T[] {
  return rs.rows.map((r) => {
    const o: Record<string, unknown> = {};
    for (const [i, c] of rs.columns.entries()) o[c] = r[i];
    return o as T;
  });
}

const args = (params: readonly SqlValue[]): InValue[] => params as InValue[];

function queryable(exec: (sql: string, a: InValue[]) => Promise<ResultSet>): Queryable {
  return {
    async all<T extends object>(text: string, params: readonly SqlValue[] = []) {
      return rowsOf<T>(await exec(text, args(params)));
    },
    async run(text: string, params: readonly SqlValue[] = []) {
      return (await exec(text, args(params))).rowsAffected;
    },
  };
}

/** What the engine runs its statements on: @libsql/client, or a worker thread holding the file. */
interface Backend {
  /** statements outside a transaction */
  readonly direct: Queryable;
  transaction<T>(mode: 'write' | 'deferred', fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

function clientBackend(client: Client): Backend {
  return {
    direct: queryable((sql, a) => client.execute(sql, a)),
    async transaction(mode, fn) {
      const tx = await client.transaction(mode);
      try {
        const out = await fn(queryable((sql, a) => tx.execute({ sql, args: a })));
        await tx.commit();
        return out;
      } finally {
        tx.close();
      }
    },
    async close() {
      client.close();
    },
  };
}

function threadBackend(thread: LibsqlThread): Backend {
  const on = (conn: number): Queryable => ({
    async all<T extends object>(text: string, params: readonly SqlValue[] = []) {
      return ((await thread.step({ op: 'exec', conn, sql: text, args: params })).rows ?? []) as T[];
    },
    async run(text: string, params: readonly SqlValue[] = []) {
      return (await thread.step({ op: 'exec', conn, sql: text, args: params })).changes ?? 0;
    },
  });
  return {
    direct: on(0),
    async transaction(mode, fn) {
      const { conn } = await thread.step({ op: 'begin', mode });
      if (conn === undefined) throw new Error('the libSQL worker opened no transaction');
      let committed = false;
      try {
        const out = await fn(on(conn));
        await thread.step({ op: 'commit', conn });
        committed = true;
        return out;
      } finally {
        if (!committed) await thread.step({ op: 'rollback', conn }).catch(() => undefined);
      }
    },
    close: () => thread.close(),
  };
}

export class LibsqlEngine implements Engine {
  readonly name = 'libsql' as const;
  readonly dialect = DIALECT;
  private readonly writes: { tail: Promise<unknown>; users: number };
  private readonly reach: Reachability;
  private readonly direct: Queryable;

  private constructor(
    private readonly backend: Backend,
    readonly displayUrl: string,
    log: (line: Record<string, unknown>) => void,
  ) {
    this.reach = new Reachability(displayUrl, log);
    let q = writeQueues.get(displayUrl);
    if (!q) {
      q = { tail: Promise.resolve(), users: 0 };
      writeQueues.set(displayUrl, q);
    }
    q.users++;
    this.writes = q;
    this.direct = backend.direct;
  }

  static async open(url: string, log: (line: Record<string, unknown>) => void): Promise<LibsqlEngine> {
    // WAL lets the CLI (crl, audit-verify) read while the service writes; synchronous stays FULL:
    // this is the record of issuance. A connection that hit SQLITE_BUSY is replaced
    // (shared/libsql.ts); `timeout` is the busy timeout of every pooled connection.
    const pragmas = url.startsWith('file:') ? ['PRAGMA journal_mode = WAL'] : [];
    const path = filePathOf(url);
    if (path !== undefined) {
      // synchronous=FULL is SQLite's default, said here because the store's durability rests on it.
      const thread = new LibsqlThread(path, {
        timeoutMs: BUSY_TIMEOUT_MS,
        pragmas: [...pragmas, 'PRAGMA synchronous = FULL'],
      });
      const backend = threadBackend(thread);
      try {
        await backend.direct.all('SELECT 1 AS ok');
      } catch (e) {
        await backend.close();
        throw e;
      }
      return new LibsqlEngine(backend, url, log);
    }
    const client = resilientClient(() => createClient({ url, timeout: BUSY_TIMEOUT_MS }), pragmas);
    for (const p of pragmas) await client.execute(p);
    return new LibsqlEngine(clientBackend(client), url, log);
  }

  all<T extends object>(text: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.guard(() => this.direct.all<T>(text, params));
  }

  run(text: string, params?: readonly SqlValue[]): Promise<number> {
    return this.serialised(() => this.direct.run(text, params));
  }

  // A file has no network in between: its waits are bounded by the busy timeout, not a deadline.
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.serialised(() => this.inTransaction('write', fn));
  }

  snapshot<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    // A deferred transaction in WAL mode reads one snapshot from its first read to its end.
    return this.guard(() => this.inTransaction('deferred', fn));
  }

  async lockForMigration(): Promise<void> {
    // BEGIN IMMEDIATE already holds SQLite's one write lock.
  }

  async close(): Promise<void> {
    await this.writes.tail.catch(() => undefined);
    if (--this.writes.users === 0) writeQueues.delete(this.displayUrl);
    await this.backend.close();
  }

  private inTransaction<T>(mode: 'write' | 'deferred', fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.backend.transaction(mode, fn);
  }

  private serialised<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.writes.tail.then(() => this.guard(fn));
    this.writes.tail = run.catch(() => undefined);
    return run;
  }

  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      const out = await fn();
      this.reach.ok();
      return out;
    } catch (e) {
      if (!isDatabaseBusy(e)) throw e;
      const cause = e instanceof Error ? e.message : String(e);
      this.reach.failed(cause);
      throw new StoreUnavailableError(cause);
    }
  }
}
