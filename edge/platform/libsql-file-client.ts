// A libSQL client for an embedded database file (Node and Deno) over the `libsql` package's
// better-sqlite3 API, with every statement prepared once per connection. @libsql/client's local
// client prepares the statement again on every execute, reads its columns twice and defines each
// cell of each row with Object.defineProperty; on the edge, where every ACME request runs a few
// short statements, that was most of the SQL cost. This client keeps the same contract as far as
// drizzle's libSQL driver and the migrations use it: rows readable by index (with a length) and by
// column name (enumerable, index and length not), integers as numbers (RangeError beyond 2^53
// like intMode "number"), blobs as ArrayBuffer, errors as LibsqlError, a batch as one transaction
// rolled back on any error. It has one connection: every call runs to completion synchronously, so
// a batch's BEGIN..COMMIT never interleaves with another request's statements. For the same reason
// it offers no interactive transaction (the edge uses none: D1 has none either).
import {
  type Client,
  type InArgs,
  type InStatement,
  type InValue,
  LibsqlBatchError,
  LibsqlError,
  type ResultSet,
  type Row,
  type TransactionMode,
  type Value,
} from '@libsql/client';
import Database from 'libsql';

type NativeDb = InstanceType<typeof Database>;
type NativeStatement = ReturnType<NativeDb['prepare']>;

/** A statement prepared once, with what its results look like. */
interface Prepared {
  stmt: NativeStatement;
  /** returns rows (a SELECT, a PRAGMA, a statement with RETURNING) */
  reader: boolean;
  columns: string[];
  columnTypes: string[];
  makeRow: (values: Value[]) => Row;
}

/**
 * Prepared statements kept per connection. The edge runs a few dozen distinct statements; the
 * bound keeps statements whose text carries values (an admin query, `IN (?, ?, …)` lists of
 * every length) from growing the cache without end. The oldest prepared goes first.
 */
export const STATEMENT_CACHE_SIZE = 500;

const VALUES = Symbol('values');
type RowObject = Record<string | symbol, unknown> & { [VALUES]: Value[] };

/**
 * A row maker for one set of columns. The values are kept under a symbol (not an own enumerable
 * key, so JSON and Object.keys see only the column names); indices and length are getters on the
 * shared prototype, so a row costs one object and one store per column. A column name that is
 * an index or "length" is left out of the names, as @libsql/client does.
 */
function rowMaker(columns: readonly string[]): (values: Value[]) => Row {
  const descriptors: PropertyDescriptorMap = { length: { value: columns.length } };
  for (let i = 0; i < columns.length; i++)
    descriptors[i] = {
      get(this: RowObject) {
        return this[VALUES][i];
      },
    };
  const proto = Object.create(Object.prototype, descriptors) as object;
  const named: [string, number][] = [];
  const seen = new Set<string>();
  for (const [i, name] of columns.entries()) {
    if (
      seen.has(name) ||
      name === 'length' ||
      (String(Number(name)) === name && Number(name) < columns.length)
    )
      continue;
    seen.add(name);
    named.push([name, i]);
  }
  const plain = named.every(([n]) => n !== '__proto__');
  return (values) => {
    const row = Object.create(proto) as RowObject;
    row[VALUES] = values;
    if (plain) for (const [name, i] of named) row[name] = values[i];
    else
      for (const [name, i] of named)
        Object.defineProperty(row, name, {
          value: values[i],
          enumerable: true,
          writable: true,
          configurable: true,
        });
    return row as unknown as Row;
  };
}

class FileResultSet implements ResultSet {
  constructor(
    readonly columns: string[],
    readonly columnTypes: string[],
    readonly rows: Row[],
    readonly rowsAffected: number,
    readonly lastInsertRowid: bigint | undefined,
  ) {}
  toJSON() {
    const json = (v: unknown) =>
      typeof v === 'bigint' ? String(v) : v instanceof ArrayBuffer ? [...new Uint8Array(v)] : v;
    return {
      columns: this.columns,
      columnTypes: this.columnTypes,
      rows: this.rows.map((r) => Array.prototype.map.call(r, json)),
      rowsAffected: this.rowsAffected,
      lastInsertRowid: this.lastInsertRowid === undefined ? null : String(this.lastInsertRowid),
    };
  }
}

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_I64 = -(2n ** 63n);
const MAX_I64 = 2n ** 63n - 1n;

/** A value read from SQLite as @libsql/client's intMode "number" gives it. */
function fromSql(v: unknown): Value {
  if (typeof v === 'bigint') {
    if (v < MIN_SAFE || v > MAX_SAFE)
      throw new RangeError('Received integer which cannot be safely represented as a JavaScript number');
    return Number(v);
  }
  if (v instanceof Uint8Array)
    return v.byteOffset === 0 && v.byteLength === v.buffer.byteLength
      ? (v.buffer as ArrayBuffer)
      : (v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength) as ArrayBuffer);
  return v as Value;
}

/** An argument as SQLite takes it, with @libsql/client's checks and conversions. */
function toSql(v: InValue): unknown {
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
      if (!Number.isFinite(v))
        throw new RangeError('Only finite numbers (not Infinity or NaN) can be passed as arguments');
      return v;
    case 'bigint':
      if (v < MIN_I64 || v > MAX_I64)
        throw new RangeError(
          'bigint is too large to be represented as a 64-bit integer and passed as argument',
        );
      return v;
    case 'boolean':
      return v ? 1 : 0;
    case 'undefined':
      throw new TypeError('undefined cannot be passed as argument to the database');
    default:
      if (v instanceof ArrayBuffer) return new Uint8Array(v);
      if (v instanceof Date) return v.valueOf();
      return v;
  }
}

function argsToSql(args: InArgs | undefined): unknown[] | Record<string, unknown> {
  if (args === undefined) return [];
  if (Array.isArray(args)) {
    const out = new Array<unknown>(args.length);
    for (let i = 0; i < args.length; i++) out[i] = toSql(args[i] as InValue);
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(args)) out[/^[@$:]/.test(name) ? name.slice(1) : name] = toSql(v);
  return out;
}

// SQLite's primary result codes (an extended code's low byte), as @libsql/client names them.
const BASE_CODES = [
  'SQLITE_OK',
  'SQLITE_ERROR',
  'SQLITE_INTERNAL',
  'SQLITE_PERM',
  'SQLITE_ABORT',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_NOMEM',
  'SQLITE_READONLY',
  'SQLITE_INTERRUPT',
  'SQLITE_IOERR',
  'SQLITE_CORRUPT',
  'SQLITE_NOTFOUND',
  'SQLITE_FULL',
  'SQLITE_CANTOPEN',
  'SQLITE_PROTOCOL',
  'SQLITE_EMPTY',
  'SQLITE_SCHEMA',
  'SQLITE_TOOBIG',
  'SQLITE_CONSTRAINT',
  'SQLITE_MISMATCH',
  'SQLITE_MISUSE',
  'SQLITE_NOLFS',
  'SQLITE_AUTH',
  'SQLITE_FORMAT',
  'SQLITE_RANGE',
  'SQLITE_NOTADB',
  'SQLITE_NOTICE',
  'SQLITE_WARNING',
];

/** A native SQLite error as the LibsqlError @libsql/client throws (same code, message and cause). */
function libsqlError(e: unknown): unknown {
  if (!(e instanceof Database.SqliteError)) return e;
  const raw = e.rawCode;
  const code =
    raw === undefined ? 'SQLITE_UNKNOWN' : (BASE_CODES[raw & 0xff] ?? `SQLITE_UNKNOWN_${raw & 0xff}`);
  return new LibsqlError(e.message, code, e.code, raw, e);
}

function batchError(e: unknown, index: number): unknown {
  if (e instanceof LibsqlBatchError || !(e instanceof LibsqlError)) return e;
  return new LibsqlBatchError(
    e.message.replace(`${e.code}: `, ''),
    index,
    e.code,
    e.extendedCode,
    e.rawCode,
    e.cause instanceof Error ? e.cause : undefined,
  );
}

const BEGIN: Record<TransactionMode, string> = {
  write: 'BEGIN IMMEDIATE',
  read: 'BEGIN TRANSACTION READONLY',
  deferred: 'BEGIN DEFERRED',
};

export interface FileClientOptions {
  /** per-connection PRAGMAs run once the file is open (journal mode, synchronous, busy timeout) */
  pragmas?: readonly string[];
  /** statements kept prepared (STATEMENT_CACHE_SIZE unless said) */
  cacheSize?: number;
}

/** The libSQL Client for an embedded file, with its statement cache visible to tests. */
export interface FileClient extends Client {
  /** statements currently prepared */
  readonly cachedStatements: number;
  /** how many times a statement was prepared natively since the client opened */
  readonly prepares: number;
}

/**
 * Opens `path` (a file path, or ":memory:") as a libSQL Client. The file is created if missing;
 * callers that want it private create it first (edge/platform/db-file.ts).
 */
export function openFileClient(path: string, opts: FileClientOptions = {}): FileClient {
  const cacheSize = Math.max(1, opts.cacheSize ?? STATEMENT_CACHE_SIZE);
  let db: NativeDb;
  try {
    db = new Database(path);
  } catch (e) {
    throw libsqlError(e);
  }
  const cache = new Map<string, Prepared>();
  let prepares = 0;
  let closed = false;

  const prepare = (sql: string): Prepared => {
    const hit = cache.get(sql);
    if (hit) return hit;
    let stmt: NativeStatement;
    try {
      stmt = db.prepare(sql);
    } catch (e) {
      throw libsqlError(e);
    }
    prepares++;
    const reader = stmt.reader;
    const p: Prepared = { stmt, reader, columns: [], columnTypes: [], makeRow: rowMaker([]) };
    if (reader) {
      stmt.raw(true);
      stmt.safeIntegers(true);
      describe(p);
    }
    if (cache.size >= cacheSize) cache.delete(cache.keys().next().value as string);
    cache.set(sql, p);
    return p;
  };

  const describe = (p: Prepared) => {
    const cols = p.stmt.columns();
    p.columns = cols.map((c) => c.name);
    p.columnTypes = cols.map((c) => c.type ?? '');
    p.makeRow = rowMaker(p.columns);
  };

  const run = (sql: string, args: InArgs | undefined): ResultSet => {
    const p = prepare(sql);
    const bound = argsToSql(args);
    try {
      if (!p.reader) {
        const info = p.stmt.run(bound);
        return new FileResultSet([], [], [], info.changes, BigInt(info.lastInsertRowid));
      }
      const raw = p.stmt.all(bound) as unknown[][];
      // SQLite re-prepares a statement after a schema change, and `SELECT *` may then return
      // more columns than when it was cached (migrations only add columns and tables).
      if (raw.length > 0 && raw[0]?.length !== p.columns.length) describe(p);
      const rows = new Array<Row>(raw.length);
      for (let r = 0; r < raw.length; r++) {
        const values = raw[r] as Value[];
        for (let i = 0; i < values.length; i++) values[i] = fromSql(values[i]);
        rows[r] = p.makeRow(values);
      }
      // rowsAffected is 0 for a statement that returns rows, as with @libsql/client
      return new FileResultSet(p.columns, p.columnTypes, rows, 0, undefined);
    } catch (e) {
      throw libsqlError(e);
    }
  };

  const statement = (s: InStatement | [string, InArgs?] | string): [string, InArgs | undefined] =>
    typeof s === 'string' ? [s, undefined] : Array.isArray(s) ? [s[0], s[1]] : [s.sql, s.args];

  const checkOpen = () => {
    if (closed) throw new LibsqlError('The client is closed', 'CLIENT_CLOSED');
  };

  /** Ends a transaction an error left open; the error being thrown matters more than this one's. */
  const rollbackQuietly = () => {
    try {
      if (db.inTransaction) run('ROLLBACK', undefined);
    } catch {
      // the connection rolls back by itself when it closes
    }
  };

  /** Runs `stmts` in one transaction: all of them or, on any error, none. */
  const transactionally = (begin: string, stmts: (InStatement | [string, InArgs?])[]): ResultSet[] => {
    run(begin, undefined);
    try {
      const out: ResultSet[] = [];
      for (const [i, s] of stmts.entries()) {
        try {
          if (!db.inTransaction)
            throw new LibsqlBatchError('The transaction has been rolled back', i, 'TRANSACTION_CLOSED');
          const [sql, args] = statement(s);
          out.push(run(sql, args));
        } catch (e) {
          throw batchError(e, i);
        }
      }
      run('COMMIT', undefined);
      return out;
    } finally {
      // An error above (or a failed COMMIT) leaves the transaction open: undo all of it.
      rollbackQuietly();
    }
  };

  for (const p of opts.pragmas ?? []) run(p, undefined);

  const client: FileClient = {
    protocol: 'file',
    get closed() {
      return closed;
    },
    get cachedStatements() {
      return cache.size;
    },
    get prepares() {
      return prepares;
    },
    async execute(stmtOrSql: InStatement | string, args?: InArgs): Promise<ResultSet> {
      checkOpen();
      const [sql, a] = typeof stmtOrSql === 'string' ? [stmtOrSql, args] : statement(stmtOrSql);
      return run(sql, a);
    },
    async batch(stmts, mode = 'deferred') {
      checkOpen();
      const begin = BEGIN[mode];
      if (!begin)
        throw new RangeError('Unknown transaction mode, supported values are "write", "read" and "deferred"');
      return transactionally(begin, stmts);
    },
    async migrate(stmts) {
      checkOpen();
      run('PRAGMA foreign_keys=off', undefined);
      try {
        return transactionally(BEGIN.deferred, stmts);
      } finally {
        run('PRAGMA foreign_keys=on', undefined);
      }
    },
    async transaction(): Promise<never> {
      throw new LibsqlError(
        'interactive transactions are not offered on the shared embedded connection: use batch()',
        'TRANSACTION_NOT_SUPPORTED',
      );
    },
    async executeMultiple(sql) {
      checkOpen();
      try {
        db.exec(sql);
      } catch (e) {
        throw libsqlError(e);
      } finally {
        rollbackQuietly();
      }
    },
    async sync() {
      throw new LibsqlError('an embedded file without a sync URL has nothing to sync', 'SYNC_NOT_SUPPORTED');
    },
    reconnect() {
      throw new LibsqlError('open a new client instead', 'RECONNECT_NOT_SUPPORTED');
    },
    close() {
      if (closed) return;
      closed = true;
      cache.clear();
      db.close();
    },
  } as FileClient;
  return client;
}
