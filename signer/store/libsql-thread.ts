// An embedded libSQL file driven from a worker thread. libSQL's calls are synchronous: on the main
// thread a COMMIT with synchronous=FULL blocks the event loop for the whole fsync (0.6 ms on a quiet
// disk, several ms on a busy one), and SQLite's busy handler blocks it for as long as another
// process holds the write lock. Here the worker blocks instead, and the main thread keeps parsing,
// verifying and signing the requests that will share the next commit. Each message is one step
// (a statement, BEGIN, COMMIT, ROLLBACK) answered before the next step is sent, so a transaction
// still reads its own writes and a COMMIT still answers only once it is durable.
//
// The worker keeps one connection for statements outside a transaction and one per open
// transaction (pooled), as @libsql/client does, and caches each connection's prepared statements
// by text (the signer runs a few dozen distinct statements).
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/** A statement's answer: its rows when it returns rows (SELECT, RETURNING), else the rows it changed. */
export interface StepResult {
  rows?: Record<string, unknown>[];
  changes?: number;
  conn?: number;
}

/** An error thrown in the worker, with SQLite's code when it had one (SQLITE_BUSY, ...). */
export class LibsqlThreadError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'LibsqlThreadError';
  }
}

type Step =
  | { op: 'exec'; conn: number; sql: string; args: readonly unknown[] }
  | { op: 'begin'; mode: 'write' | 'deferred' }
  | { op: 'commit' | 'rollback'; conn: number }
  | { op: 'close' };

// Plain JavaScript (an `eval` worker), so it runs the same from dist/ and from the TypeScript
// sources under tsx, whose loader hooks a worker does not inherit.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.libsqlPath);
const STATEMENTS_PER_CONNECTION = 256;
const open = () => {
  const db = new Database(workerData.path, { timeout: workerData.timeoutMs });
  for (const p of workerData.pragmas) db.exec(p);
  return { db, stmts: new Map() };
};
const main = open();
const open_ = new Map();
const idle = [];
let nextConn = 1;
const statement = (c, sql) => {
  let s = c.stmts.get(sql);
  if (!s) {
    s = c.db.prepare(sql);
    if (c.stmts.size >= STATEMENTS_PER_CONNECTION) c.stmts.clear();
    c.stmts.set(sql, s);
  }
  return s;
};
const bind = (args) =>
  args.map((v) => (v instanceof Uint8Array && !Buffer.isBuffer(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : v));
const conn = (id) => {
  if (id === 0) return main;
  const c = open_.get(id);
  if (!c) throw new Error('no open transaction ' + id);
  return c;
};
const release = (id) => {
  const c = open_.get(id);
  open_.delete(id);
  if (!c) return;
  if (c.db.inTransaction) {
    try { c.db.exec('ROLLBACK'); } catch {}
  }
  if (c.db.inTransaction || idle.length >= 4) {
    try { c.db.close(); } catch {}
  } else idle.push(c);
};
const step = (m) => {
  switch (m.op) {
    case 'exec': {
      const s = statement(conn(m.conn), m.sql);
      if (s.reader) return { rows: s.all(bind(m.args)) };
      return { changes: s.run(bind(m.args)).changes };
    }
    case 'begin': {
      const c = idle.pop() ?? open();
      try {
        c.db.exec(m.mode === 'write' ? 'BEGIN IMMEDIATE' : 'BEGIN DEFERRED');
      } catch (e) {
        try { c.db.close(); } catch {}
        throw e;
      }
      const id = nextConn++;
      open_.set(id, c);
      return { conn: id };
    }
    case 'commit':
      conn(m.conn).db.exec('COMMIT');
      release(m.conn);
      return {};
    case 'rollback':
      release(m.conn);
      return {};
    case 'close':
      for (const id of [...open_.keys()]) release(id);
      for (const c of [main, ...idle]) { try { c.db.close(); } catch {} }
      return {};
  }
  throw new Error('unknown step ' + m.op);
};
parentPort.on('message', ({ id, m }) => {
  try {
    parentPort.postMessage({ id, ok: true, r: step(m) });
  } catch (e) {
    parentPort.postMessage({ id, ok: false, message: String((e && e.message) || e), code: e && e.code });
  }
});
`;

/** The path of the `libsql` package @libsql/client itself loads (one native build for both). */
function libsqlPath(): string {
  const client = fileURLToPath(import.meta.resolve('@libsql/client'));
  return createRequire(client).resolve('libsql');
}

/**
 * The file a `file:` URL names, or undefined for one this thread does not open (query parameters,
 * in-memory databases): those stay with @libsql/client.
 */
export function filePathOf(url: string): string | undefined {
  if (!url.startsWith('file:') || url.includes('?') || url.includes('#')) return undefined;
  let rest = url.slice('file:'.length);
  if (rest.startsWith('//')) {
    const slash = rest.indexOf('/', 2);
    const host = rest.slice(2, slash < 0 ? undefined : slash);
    if (slash < 0 || (host !== '' && host !== 'localhost')) return undefined;
    rest = rest.slice(slash);
  }
  const path = decodeURIComponent(rest);
  return path === '' || path.startsWith(':memory:') ? undefined : path;
}

export class LibsqlThread {
  private readonly worker: Worker;
  private readonly waiting = new Map<
    number,
    { resolve: (r: StepResult) => void; reject: (e: unknown) => void }
  >();
  private nextId = 1;
  private dead: Error | undefined;

  constructor(path: string, o: { timeoutMs: number; pragmas: readonly string[] }) {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { path, libsqlPath: libsqlPath(), timeoutMs: o.timeoutMs, pragmas: o.pragmas },
    });
    this.worker.on(
      'message',
      (msg: { id: number; ok: boolean; r?: StepResult; message?: string; code?: string }) => {
        const w = this.waiting.get(msg.id);
        if (!w) return;
        this.waiting.delete(msg.id);
        if (this.waiting.size === 0) this.worker.unref();
        if (msg.ok) w.resolve(msg.r ?? {});
        else w.reject(new LibsqlThreadError(msg.message ?? 'libSQL error', msg.code));
      },
    );
    this.worker.unref();
    this.worker.on('error', (e) => this.fail(e));
    this.worker.on('exit', (code) => this.fail(new Error(`the libSQL worker exited (${code})`)));
  }

  /** Runs one step in the worker; the answer comes once it is done (a COMMIT: once durable). */
  step(m: Step): Promise<StepResult> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    // Referenced only while a step is awaited: an idle store never keeps the process alive.
    if (this.waiting.size === 0) this.worker.ref();
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ id, m });
    });
  }

  async close(): Promise<void> {
    if (!this.dead) await this.step({ op: 'close' }).catch(() => undefined);
    this.dead ??= new Error('the libSQL worker is closed');
    await this.worker.terminate();
  }

  private fail(e: Error): void {
    this.dead ??= e;
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
  }
}
