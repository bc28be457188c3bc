// The store's engine on libSQL: an embedded file (the default, one machine) or remote libSQL.
// Writes to one database from this process go one at a time (an in-process queue per URL): the
// libSQL client's calls are synchronous, so a BEGIN IMMEDIATE waiting in SQLite's busy handler
// would block the very event loop the transaction holding the lock needs to finish. Another
// process on the same file waits up to BUSY_TIMEOUT_MS for the write lock, after which the
// request is answered 503.
import { type Client, createClient, type InValue, type ResultSet } from '@libsql/client';
import { isDatabaseBusy, resilientClient } from '../../shared/libsql.ts';
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

export class LibsqlEngine implements Engine {
  readonly name = 'libsql' as const;
  readonly dialect = DIALECT;
  private readonly writes: { tail: Promise<unknown>; users: number };
  private readonly reach: Reachability;
  private readonly direct: Queryable;

  private constructor(
    private readonly client: Client,
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
    this.direct = queryable((sql, a) => this.client.execute(sql, a));
  }

  static async open(url: string, log: (line: Record<string, unknown>) => void): Promise<LibsqlEngine> {
    // WAL lets the CLI (crl, audit-verify) read while the service writes; synchronous stays FULL:
    // this is the record of issuance. A connection that hit SQLITE_BUSY is replaced
    // (shared/libsql.ts); `timeout` is the busy timeout of every pooled connection.
    const pragmas = url.startsWith('file:') ? ['PRAGMA journal_mode = WAL'] : [];
    const client = resilientClient(() => createClient({ url, timeout: BUSY_TIMEOUT_MS }), pragmas);
    for (const p of pragmas) await client.execute(p);
    return new LibsqlEngine(client, url, log);
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
    this.client.close();
  }

  private async inTransaction<T>(mode: 'write' | 'deferred', fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const tx = await this.client.transaction(mode);
    try {
      const out = await fn(queryable((sql, a) => tx.execute({ sql, args: a })));
      await tx.commit();
      return out;
    } finally {
      tx.close();
    }
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
