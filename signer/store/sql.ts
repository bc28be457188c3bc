// The small SQL layer under the signer's store: one interface over an embedded libSQL file and
// PostgreSQL, so the store's statements are written once. Statements use `?` placeholders (the
// PostgreSQL engine numbers them); the few spellings that differ between the two engines are
// the Dialect's fields. Every write that must be atomic with another runs in `transaction`, a real
// write transaction on both engines (BEGIN IMMEDIATE on libSQL, row locks on PostgreSQL).
import { AcmeProblem } from '../../shared/problems.ts';
import type { StatementCounts } from '../../shared/sql-statements.ts';

export type SqlValue = string | number | null | Uint8Array;

export interface Queryable {
  /** The rows a statement returns (SELECT, or a write with RETURNING). */
  all<T extends object>(text: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** Runs a write; the number of rows it changed. */
  run(text: string, params?: readonly SqlValue[]): Promise<number>;
}

export interface Dialect {
  /** a column type for byte strings (DDL) */
  bytes: 'BLOB' | 'BYTEA';
  /** a column type for 64-bit integers (DDL) */
  int64: 'INTEGER' | 'BIGINT';
  /** the larger of two values: SQLite's scalar MAX, PostgreSQL's GREATEST */
  greatest: 'MAX' | 'GREATEST';
  /** the database's clock in milliseconds since 1970, so every signer reads one clock */
  nowMs: string;
  /** appended to a SELECT that must lock its row until commit ('' where the transaction already holds the write lock) */
  forUpdate: string;
}

/**
 * For work that is long by nature (a migration over every row, verifying the whole audit chain):
 * how long it may take before it counts as the store not answering. A request's work keeps the
 * engine's short deadline.
 */
export interface LongWork {
  deadlineMs?: number;
}

/** The deadline of long work: generous, still bounded. */
export const LONG_WORK_MS = 30 * 60_000;

export interface Engine extends Queryable {
  readonly name: 'libsql' | 'postgres';
  readonly dialect: Dialect;
  /** The URL without secrets, for messages. */
  readonly displayUrl: string;
  /** Runs `fn` in one write transaction: all of it commits, or none of it. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>, o?: LongWork): Promise<T>;
  /** Runs `fn` on one consistent snapshot (read only): rows committed meanwhile are not seen. */
  snapshot<T>(fn: (tx: Queryable) => Promise<T>, o?: LongWork): Promise<T>;
  /** Takes an exclusive lock for the rest of the transaction (schema migrations). */
  lockForMigration(tx: Queryable): Promise<void>;
  close(): Promise<void>;
}

/** Seconds a client is asked to wait when the store does not answer. */
export const STORE_RETRY_AFTER_S = 5;

/**
 * The store cannot be reached (connection refused or lost, no primary, a lock held too long).
 * It is a 503 problem with Retry-After: nothing was signed, and the request may be retried.
 */
export class StoreUnavailableError extends AcmeProblem {
  /** what went wrong, for the log (never sent to the client) */
  readonly storeCause: string;

  constructor(cause: string) {
    super('serviceUnavailable', "the signer's store is unavailable; retry later", {
      retryAfter: STORE_RETRY_AFTER_S,
    });
    this.name = 'StoreUnavailableError';
    this.storeCause = cause;
  }
}

/** Database bytes as a Buffer (libSQL returns ArrayBuffer, postgres.js Buffer). */
export function bytesOf(v: unknown): Buffer {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof ArrayBuffer) return Buffer.from(v);
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  throw new TypeError(`expected bytes from the store, got ${typeof v}`);
}

/** Database integers as numbers (PostgreSQL BIGINT arrives as a string unless parsed). */
export function intOf(v: unknown): number {
  const n =
    typeof v === 'number' ? v : typeof v === 'bigint' || typeof v === 'string' ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw new TypeError(`expected an integer from the store, got ${String(v)}`);
  return n;
}

export const intOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : intOf(v));

/** Tells a state change's observer when the store goes away and when it answers again, once each. */
export class Reachability {
  private lost = false;
  constructor(
    private readonly url: string,
    private readonly log: (line: Record<string, unknown>) => void,
  ) {}

  ok(): void {
    if (!this.lost) return;
    this.lost = false;
    this.log({ event: 'store-reachable', store: this.url });
  }

  failed(cause: string): void {
    if (this.lost) return;
    this.lost = true;
    this.log({ event: 'store-unavailable', store: this.url, error: cause });
  }
}

/** `q` with every statement it runs counted in `counts` by kind. */
function countingQueryable(q: Queryable, counts: StatementCounts): Queryable {
  return {
    all<T extends object>(text: string, params?: readonly SqlValue[]) {
      counts.count(text);
      return q.all<T>(text, params);
    },
    run(text: string, params?: readonly SqlValue[]) {
      counts.count(text);
      return q.run(text, params);
    },
  };
}

/**
 * `engine` with every statement counted in `counts` by kind (edgeca_signer_sql_statements_total,
 * switched on by EDGECA_SQL_STATEMENT_METRICS): each transaction counts one "transaction" (or
 * "snapshot") and each statement run in it.
 */
export function countingEngine(engine: Engine, counts: StatementCounts): Engine {
  const direct = countingQueryable(engine, counts);
  return {
    name: engine.name,
    dialect: engine.dialect,
    displayUrl: engine.displayUrl,
    all: direct.all,
    run: direct.run,
    transaction(fn, o) {
      counts.countKind('transaction');
      return engine.transaction((tx) => fn(countingQueryable(tx, counts)), o);
    },
    snapshot(fn, o) {
      counts.countKind('snapshot');
      return engine.snapshot((tx) => fn(countingQueryable(tx, counts)), o);
    },
    lockForMigration: (tx) => engine.lockForMigration(tx),
    close: () => engine.close(),
  };
}
