// The signer's hash-chained audit log. Each row's hash covers the previous row's hash and the
// row's own content, so editing, inserting or deleting a row breaks the chain from that row on;
// the audit_head row (written in the same batch as each append) also catches a truncated tail.
// Appends are serialised in the process (one writer) and the seq primary key refuses a second
// process's fork: the losing batch rolls back and is retried on the new head.
import { asc, gt, sql } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import type { LibSQLDatabase } from 'drizzle-orm/libsql';
import { sha256, toHex } from '../../shared/encoding.ts';
import { type AuditEvent, auditHead, auditLog } from './schema.ts';

export type StoreDb = LibSQLDatabase<Record<string, never>>;
export const GENESIS_HASH = '0'.repeat(64);
const APPEND_ATTEMPTS = 5;
const VERIFY_PAGE = 1000;

/** JSON with object keys sorted at every depth: the same content always hashes the same. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = sortKeys((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}

export async function auditRowHash(
  prevHash: string,
  row: { seq: number; time: number; event: string; details: string },
): Promise<string> {
  return toHex(await sha256(`${prevHash}\n${row.seq}\n${row.time}\n${row.event}\n${row.details}`));
}

export interface AppendResult {
  /** false when `onlyIfChanged` was set and the statement before the audit row changed nothing */
  applied: boolean;
  seq?: number;
}

interface Pending {
  event: AuditEvent;
  details: Record<string, unknown>;
  before: BatchItem<'sqlite'>[];
  onlyIfChanged: boolean;
  resolve: (r: AppendResult) => void;
  reject: (e: unknown) => void;
}

/** Appends queued while a commit runs share the next one: at most this many per transaction. */
const MAX_GROUP = 64;

export class AuditWriter {
  private head: { seq: number; hash: string } | undefined;
  private readonly queue: Pending[] = [];
  private draining = false;

  constructor(private readonly db: StoreDb) {}

  /**
   * Appends one audit row in one batch after `before` (the state change it records).
   * With `onlyIfChanged`, the audit row is written only when the last statement of `before`
   * changed a row (SQLite changes()), so a guarded update that lost a race records nothing.
   * Appends are serialised; those that queue up while a commit runs are written together in
   * one transaction (group commit), each still after its own state change and in chain order.
   */
  append(
    event: AuditEvent,
    details: Record<string, unknown>,
    before: BatchItem<'sqlite'>[] = [],
    onlyIfChanged = false,
  ): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ event, details, before, onlyIfChanged, resolve, reject });
      if (!this.draining) {
        this.draining = true;
        // Let the appends of this turn of the event loop join the first group.
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      // Bounded by the queue: each pass settles at least one append.
      while (this.queue.length > 0) {
        const group = this.queue.splice(0, MAX_GROUP);
        if (group.length > 1) {
          try {
            const results = await this.appendGroup(group);
            for (const [i, p] of group.entries()) p.resolve(results[i] as AppendResult);
            continue;
          } catch {
            // A guarded change lost its race, or another process moved the head: the whole group
            // rolled back; append each on its own, with the per-row guard and retries.
            this.head = undefined;
          }
        }
        for (const p of group) {
          try {
            p.resolve(await this.appendNow(p.event, p.details, p.before, p.onlyIfChanged));
          } catch (e) {
            p.reject(e);
          }
        }
      }
    } finally {
      this.draining = false;
    }
  }

  /**
   * One transaction for several appends. A guarded state change that changed nothing makes its
   * audit row's hash NULL, which the NOT NULL column refuses: the transaction rolls back and the
   * caller falls back to one append at a time (a group never writes a hole in the chain).
   */
  private async appendGroup(group: Pending[]): Promise<AppendResult[]> {
    let head = this.head ?? (await this.readHead());
    const items: BatchItem<'sqlite'>[] = [];
    const results: AppendResult[] = [];
    for (const p of group) {
      const row = { seq: head.seq + 1, time: Date.now(), event: p.event, details: canonicalJson(p.details) };
      const hash = await auditRowHash(head.hash, row);
      const guarded = p.onlyIfChanged && p.before.length > 0;
      const hashValue = guarded ? sql`CASE WHEN changes() > 0 THEN ${hash} END` : sql`${hash}`;
      items.push(
        ...p.before,
        this.db.run(sql`INSERT INTO audit_log (seq, time, event, details, prev_hash, hash)
            VALUES (${row.seq}, ${row.time}, ${row.event}, ${row.details}, ${head.hash}, ${hashValue})`),
      );
      head = { seq: row.seq, hash };
      results.push({ applied: true, seq: row.seq });
    }
    items.push(
      this.db.run(sql`INSERT INTO audit_head (id, seq, hash) VALUES (1, ${head.seq}, ${head.hash})
          ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash`),
    );
    await this.db.batch(items as [BatchItem<'sqlite'>, ...BatchItem<'sqlite'>[]]);
    this.head = head;
    return results;
  }

  private async appendNow(
    event: AuditEvent,
    details: Record<string, unknown>,
    before: BatchItem<'sqlite'>[],
    onlyIfChanged: boolean,
  ): Promise<AppendResult> {
    const detailsText = canonicalJson(details);
    for (let attempt = 1; ; attempt++) {
      const head = this.head ?? (await this.readHead());
      const row = { seq: head.seq + 1, time: Date.now(), event, details: detailsText };
      const hash = await auditRowHash(head.hash, row);
      const guard = onlyIfChanged && before.length > 0 ? sql`changes() > 0` : sql`1`;
      const insertRow = this.db.run(
        sql`INSERT INTO audit_log (seq, time, event, details, prev_hash, hash)
            SELECT ${row.seq}, ${row.time}, ${row.event}, ${row.details}, ${head.hash}, ${hash} WHERE ${guard}`,
      );
      // changes() here is the audit insert's: the head moves only when the row was written.
      const moveHead = this.db.run(
        sql`INSERT INTO audit_head (id, seq, hash) SELECT 1, ${row.seq}, ${hash} WHERE changes() > 0
            ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash`,
      );
      try {
        const items: [BatchItem<'sqlite'>, ...BatchItem<'sqlite'>[]] = [insertRow, moveHead];
        items.unshift(...before);
        const results = await this.db.batch(items);
        const inserted = (results[before.length] as { rowsAffected: number }).rowsAffected === 1;
        if (!inserted) return { applied: false };
        this.head = { seq: row.seq, hash };
        return { applied: true, seq: row.seq };
      } catch (e) {
        this.head = undefined;
        if (attempt >= APPEND_ATTEMPTS || !/UNIQUE constraint failed: audit_log\.seq/.test(String(e)))
          throw e;
      }
    }
  }

  private async readHead(): Promise<{ seq: number; hash: string }> {
    const [last] = await this.db.select().from(auditLog).orderBy(sql`${auditLog.seq} DESC`).limit(1);
    this.head = last ? { seq: last.seq, hash: last.hash } : { seq: 0, hash: GENESIS_HASH };
    return this.head;
  }
}

export interface AuditVerification {
  ok: boolean;
  rows: number;
  firstBadSeq?: number;
  reason?: string;
}

/** Walks the whole chain: seq contiguous from 1, each prevHash and hash right, head matching. */
export async function verifyAuditChain(db: StoreDb): Promise<AuditVerification> {
  let expected = { seq: 1, prevHash: GENESIS_HASH };
  let rows = 0;
  for (let page = 0; page < Number.MAX_SAFE_INTEGER; page++) {
    const batch = await db
      .select()
      .from(auditLog)
      .where(gt(auditLog.seq, expected.seq - 1))
      .orderBy(asc(auditLog.seq))
      .limit(VERIFY_PAGE);
    for (const row of batch) {
      const bad = (reason: string): AuditVerification => ({
        ok: false,
        rows,
        firstBadSeq: expected.seq,
        reason,
      });
      if (row.seq !== expected.seq) return bad(`row ${expected.seq} is missing (next row is ${row.seq})`);
      if (row.prevHash !== expected.prevHash) return bad(`row ${row.seq} does not link to the row before it`);
      if ((await auditRowHash(row.prevHash, row)) !== row.hash)
        return bad(`row ${row.seq} content does not match its hash`);
      rows++;
      expected = { seq: row.seq + 1, prevHash: row.hash };
    }
    if (batch.length < VERIFY_PAGE) break;
  }
  const [head] = await db.select().from(auditHead).limit(1);
  const lastSeq = expected.seq - 1;
  if (!head && lastSeq === 0) return { ok: true, rows };
  if (!head || head.seq !== lastSeq || head.hash !== expected.prevHash) {
    const headSeq = head?.seq ?? 0;
    return {
      ok: false,
      rows,
      firstBadSeq: Math.min(headSeq, lastSeq) + 1,
      reason: `the chain ends at row ${lastSeq} but the recorded head is row ${headSeq}`,
    };
  }
  return { ok: true, rows };
}
