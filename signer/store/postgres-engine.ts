// The store's engine on PostgreSQL, through postgres.js: several signers share one store. The
// driver follows a primary across a failover by itself (a multi-host URL; see postgres-url.ts for
// why it is asked for `primary`), but while no primary answers it queues queries without limit,
// so every operation here has a deadline: past it the request is answered 503 (nothing signed)
// and the queued work is cancelled, or, for a transaction that starts late, rolled back unseen.
import postgres from 'postgres';
import { parsePostgresUrl } from './postgres-url.ts';
import {
  type Dialect,
  type Engine,
  type LongWork,
  type Queryable,
  Reachability,
  type SqlValue,
  StoreUnavailableError,
} from './sql.ts';

/** How long one store operation may take before the request gets a 503. */
export const DEFAULT_DEADLINE_MS = 5000;

const DIALECT: Dialect = {
  bytes: 'BYTEA',
  int64: 'BIGINT',
  greatest: 'GREATEST',
  nowMs: '(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::bigint',
  forUpdate: ' FOR UPDATE',
};

/** A fixed key for pg_advisory_xact_lock: signers that start together migrate one at a time. */
const MIGRATION_LOCK_KEY = 0x65646765; // "edge"

/** Node socket errors and postgres.js connection errors: the store is not there (right now). */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
]);

/**
 * SQLSTATEs that mean "try again later": connection exceptions (08), operator intervention such as
 * a shutdown or a server still starting (57P), insufficient resources (53), a read-only standby
 * (25006), and serialization failures or deadlocks (40001, 40P01).
 */
function isUnavailable(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  if (typeof code !== 'string') return false;
  return (
    CONNECTION_CODES.has(code) || /^(08|57P|53)/.test(code) || ['25006', '40001', '40P01'].includes(code)
  );
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** `?` placeholders to PostgreSQL's `$1, $2, ...` (never inside a quoted literal). */
export function numberPlaceholders(text: string): string {
  let n = 0;
  let quoted = false;
  let out = '';
  for (const ch of text) {
    if (ch === "'") quoted = !quoted;
    out += ch === '?' && !quoted ? `$${++n}` : ch;
  }
  return out;
}

const pgParams = (params: readonly SqlValue[]) =>
  params.map((p) => (p instanceof Uint8Array && !Buffer.isBuffer(p) ? Buffer.from(p) : p));

class Abandoned extends Error {}

export interface PostgresEngineOptions {
  password?: string;
  deadlineMs?: number;
  log: (line: Record<string, unknown>) => void;
}

export class PostgresEngine implements Engine {
  readonly name = 'postgres' as const;
  readonly dialect = DIALECT;
  private readonly reach: Reachability;
  private readonly deadlineMs: number;

  private constructor(
    private readonly sql: postgres.Sql,
    readonly displayUrl: string,
    o: PostgresEngineOptions,
  ) {
    this.reach = new Reachability(displayUrl, o.log);
    this.deadlineMs = o.deadlineMs ?? DEFAULT_DEADLINE_MS;
  }

  /** Connects and checks that a writable server answers; throws one line saying why not. */
  static async open(url: string, o: PostgresEngineOptions): Promise<PostgresEngine> {
    const target = parsePostgresUrl(url);
    const sql = postgres(url, {
      ...(o.password !== undefined ? { pass: o.password } : {}),
      ...(target.targetSessionAttrs ? { target_session_attrs: target.targetSessionAttrs } : {}),
      connect_timeout: Math.max(1, Math.ceil((o.deadlineMs ?? DEFAULT_DEADLINE_MS) / 1000)),
      onnotice: () => {},
      connection: { application_name: 'edgeca-signer' },
    });
    const engine = new PostgresEngine(sql, url, o);
    try {
      await engine.all('SELECT 1 AS ok');
    } catch (e) {
      await sql.end({ timeout: 1 }).catch(() => {});
      const cause = e instanceof StoreUnavailableError ? e.storeCause : message(e);
      const code = (e as { code?: unknown }).code;
      const hint =
        o.password === undefined && (code === '28P01' || code === '28000' || /password|SASL/i.test(cause))
          ? ' (no password was given: set EDGECA_SIGNER_DATABASE_PASSWORD or databasePasswordFile)'
          : '';
      throw new Error(`cannot connect to the signer's store ${url}: ${cause}${hint}`);
    }
    return engine;
  }

  async all<T extends object>(text: string, params: readonly SqlValue[] = []): Promise<T[]> {
    const pending = this.query<T>(this.sql, text, params);
    return [...(await this.bounded(pending, () => pending.cancel()))];
  }

  async run(text: string, params: readonly SqlValue[] = []): Promise<number> {
    const pending = this.query(this.sql, text, params);
    return (await this.bounded(pending, () => pending.cancel())).count;
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>, o: LongWork = {}): Promise<T> {
    return this.inTransaction('', fn, o.deadlineMs ?? this.deadlineMs);
  }

  snapshot<T>(fn: (tx: Queryable) => Promise<T>, o: LongWork = {}): Promise<T> {
    return this.inTransaction(
      'isolation level repeatable read read only',
      fn,
      o.deadlineMs ?? this.deadlineMs,
    );
  }

  async lockForMigration(tx: Queryable): Promise<void> {
    await tx.all('SELECT pg_advisory_xact_lock(?) AS locked', [MIGRATION_LOCK_KEY]);
  }

  async close(): Promise<void> {
    await this.sql.end({ timeout: 5 });
  }

  private query<T extends object>(
    on: postgres.Sql | postgres.TransactionSql,
    text: string,
    params: readonly SqlValue[],
  ): postgres.PendingQuery<(T & postgres.Row)[]> {
    // Prepared statements only with parameters: a script without any runs as a simple query.
    return on.unsafe<(T & postgres.Row)[]>(numberPlaceholders(text), pgParams(params), {
      prepare: params.length > 0,
    });
  }

  private inTransaction<T>(mode: string, fn: (tx: Queryable) => Promise<T>, deadlineMs: number): Promise<T> {
    let abandoned = false;
    const work = this.sql.begin(mode, async (tx) => {
      const check = () => {
        // The caller was already told the store did not answer: this transaction must not commit.
        if (abandoned) throw new Abandoned('abandoned after its deadline');
      };
      check();
      const q: Queryable = {
        all: async <R extends object>(text: string, params: readonly SqlValue[] = []) => {
          check();
          return [...(await this.query<R>(tx, text, params))] as R[];
        },
        run: async (text: string, params: readonly SqlValue[] = []) => {
          check();
          return (await this.query(tx, text, params)).count;
        },
      };
      return fn(q);
    }) as Promise<T>;
    return this.bounded(
      work,
      () => {
        abandoned = true;
      },
      deadlineMs,
    );
  }

  /**
   * Resolves with `work`, or rejects with StoreUnavailableError when the store does not answer in
   * time or the connection fails; `onTimeout` cancels what was queued.
   */
  private async bounded<T>(
    work: PromiseLike<T>,
    onTimeout: () => unknown,
    deadlineMs = this.deadlineMs,
  ): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        void Promise.resolve()
          .then(onTimeout)
          .catch(() => {});
        reject(new StoreUnavailableError(`no answer within ${deadlineMs} ms`));
      }, deadlineMs);
    });
    try {
      const out = await Promise.race([work, deadline]);
      this.reach.ok();
      return out;
    } catch (e) {
      if (e instanceof StoreUnavailableError) {
        this.reach.failed(e.storeCause);
        throw e;
      }
      if (isUnavailable(e) || e instanceof Abandoned) {
        this.reach.failed(message(e));
        throw new StoreUnavailableError(message(e));
      }
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }
}
