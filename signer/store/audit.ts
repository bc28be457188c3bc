// The signer's hash-chained audit log. Each row's hash covers the previous row's hash and the
// row's own content, so editing, inserting or deleting a row breaks the chain from that row on;
// the audit_head row, moved in the same transaction as each append, also catches a truncated tail.
//
// There is ONE chain, whichever signer appends: every append locks the head row (SELECT ... FOR
// UPDATE on PostgreSQL; SQLite's write lock on libSQL) in the transaction that also makes the
// state change it records. One chain gives one order of events across signers (an issuance before
// its revocation, whoever did each), one head to ship off-box, and `audit-verify` checks it whole.
// Per-signer chains would spare the lock, but deleting one signer's whole chain and head would go
// unnoticed unless the set of signers were pinned somewhere, and events would have no order across
// them. The lock is held for one short transaction, and appends queued in a process while one
// commits share the next (group commit), so it is not what limits issuance.
import { sha256Hex } from '../digest.ts';
import { CHECKPOINT_COLUMNS, type Checkpoint, checkpointRow } from './checkpoints.ts';
import { GroupCommit } from './group-commit.ts';
import type { AuditEvent } from './schema.ts';
import { type Engine, intOf, intOrNull, LONG_WORK_MS, type Queryable } from './sql.ts';

export const GENESIS_HASH = '0'.repeat(64);
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

export function auditRowHash(
  prevHash: string,
  row: { seq: number; time: number; event: string; details: string },
): string {
  return sha256Hex(`${prevHash}\n${row.seq}\n${row.time}\n${row.event}\n${row.details}`);
}

/** A guarded state change run in the audit row's transaction; returns the rows it changed. */
export type StateChange = (tx: Queryable) => Promise<number>;

export interface AppendResult {
  /** false when the state change changed nothing (a guard refused it): no audit row was written */
  applied: boolean;
  seq?: number;
}

interface AuditJob {
  event: AuditEvent;
  details: Record<string, unknown>;
  change: StateChange | undefined;
}

export class AuditWriter {
  private readonly group: GroupCommit<AuditJob, AppendResult>;

  constructor(private readonly engine: Engine) {
    this.group = new GroupCommit(engine, (tx, jobs) => this.appendGroup(tx, jobs));
  }

  /**
   * Runs `change` (if any) and, when it changed a row (or there is none), appends the audit row
   * recording it, in one transaction. Appends that queue up while a commit runs are written
   * together in the next transaction (group commit), each after its own state change.
   */
  append(event: AuditEvent, details: Record<string, unknown>, change?: StateChange): Promise<AppendResult> {
    return this.group.submit({ event, details, change });
  }

  private async appendGroup(tx: Queryable, group: readonly AuditJob[]): Promise<AppendResult[]> {
    const d = this.engine.dialect;
    // The head row is locked first, before any state change, so appenders in every signer
    // queue on one lock and never deadlock on each other's rows.
    const [head] = await tx.all<{ seq: unknown; hash: string; now: unknown }>(
      `SELECT seq, hash, ${d.nowMs} AS now FROM audit_head WHERE id = 1${d.forUpdate}`,
    );
    if (!head) throw new Error('the audit log has no head row: run `edgeca signer audit-verify`');
    // The database's clock: rows from every signer carry times from one clock.
    const time = intOf(head.now);
    let cur = { seq: intOf(head.seq), hash: head.hash };
    const results: AppendResult[] = [];
    for (const p of group) {
      if (p.change && (await p.change(tx)) === 0) {
        results.push({ applied: false });
        continue;
      }
      const row = { seq: cur.seq + 1, time, event: p.event, details: canonicalJson(p.details) };
      const hash = auditRowHash(cur.hash, row);
      await tx.run(
        'INSERT INTO audit_log (seq, time, event, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?)',
        [row.seq, row.time, row.event, row.details, cur.hash, hash],
      );
      cur = { seq: row.seq, hash };
      results.push({ applied: true, seq: row.seq });
    }
    if (cur.seq !== intOf(head.seq))
      await tx.run('UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1', [cur.seq, cur.hash]);
    return results;
  }
}

export interface AuditVerification {
  ok: boolean;
  rows: number;
  firstBadSeq?: number;
  reason?: string;
  /** set when older rows were purged: the checkpoint seq the remaining chain starts from */
  anchoredAt?: number;
  /**
   * with `withCheckpoints`: the checkpoints the chain was found to pass through (the anchor
   * first, if any), for the caller to check their signatures against the issuers' keys
   */
  checkpoints?: Checkpoint[];
}

interface AuditRow {
  seq: unknown;
  time: unknown;
  event: string;
  details: string;
  prevHash: string;
  hash: string;
}

/**
 * Walks the chain on one snapshot (signers may append meanwhile): seq contiguous from 1 (or from
 * the signed checkpoint that anchors the oldest row left after a purge), each prevHash and hash
 * right, the chain passing through the head every checkpoint recorded, no checkpoint past its end,
 * and the head matching the last row. The checkpoints' signatures are the caller's to check
 * (signer/audit-checkpoints.ts): the store holds no trust anchor.
 */
export function verifyAuditChain(
  engine: Engine,
  o: { withCheckpoints?: boolean } = {},
): Promise<AuditVerification> {
  return engine.snapshot(
    async (tx) => {
      const checkpoints = (
        await tx.all<Parameters<typeof checkpointRow>[0]>(
          `SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoint ORDER BY seq`,
        )
      ).map(checkpointRow);
      const [first] = await tx.all<{ s: unknown }>('SELECT MIN(seq) AS s FROM audit_log');
      const [head] = await tx.all<{ seq: unknown; hash: string }>(
        'SELECT seq, hash FROM audit_head WHERE id = 1',
      );
      const headSeq = head ? intOf(head.seq) : 0;
      const firstSeq = intOrNull(first?.s) ?? headSeq + 1;
      let rows = 0;
      let expected = { seq: 1, prevHash: GENESIS_HASH };
      let anchor: Checkpoint | undefined;
      if (firstSeq > 1) {
        anchor = checkpoints.find((c) => c.seq === firstSeq - 1);
        if (!anchor) {
          return {
            ok: false,
            rows,
            firstBadSeq: 1,
            reason: `rows 1 to ${firstSeq - 1} are missing and no signed checkpoint anchors row ${firstSeq}`,
          };
        }
        expected = { seq: firstSeq, prevHash: anchor.hash };
      }
      const passed = checkpoints.filter((c) => c.seq >= firstSeq - 1);
      const atSeq = new Map(passed.map((c) => [c.seq, c]));
      let lastCheckpointed = firstSeq - 1;
      for (let page = 0; page < Number.MAX_SAFE_INTEGER; page++) {
        const batch = await tx.all<AuditRow>(
          `SELECT seq, time, event, details, prev_hash AS "prevHash", hash FROM audit_log
         WHERE seq >= ? ORDER BY seq LIMIT ?`,
          [expected.seq, VERIFY_PAGE],
        );
        for (const r of batch) {
          const row = { seq: intOf(r.seq), time: intOf(r.time), event: r.event, details: r.details };
          const bad = (reason: string, at = expected.seq): AuditVerification => ({
            ok: false,
            rows,
            firstBadSeq: at,
            reason,
          });
          if (row.seq !== expected.seq) return bad(`row ${expected.seq} is missing (next row is ${row.seq})`);
          if (r.prevHash !== expected.prevHash) {
            return bad(
              row.seq === firstSeq && anchor
                ? `row ${row.seq} does not link to the signed checkpoint at row ${anchor.seq}`
                : `row ${row.seq} does not link to the row before it`,
            );
          }
          if (auditRowHash(r.prevHash, row) !== r.hash)
            return bad(`row ${row.seq} content does not match its hash`);
          const cp = atSeq.get(row.seq);
          if (cp && cp.hash !== r.hash) {
            // The hashes were recomputed after an edit: the edit lies after the previous checkpoint.
            return bad(
              `rows ${lastCheckpointed + 1} to ${row.seq} were rewritten: the chain no longer passes ` +
                `through the head signed at row ${row.seq}`,
              lastCheckpointed + 1,
            );
          }
          if (cp) lastCheckpointed = row.seq;
          rows++;
          expected = { seq: row.seq + 1, prevHash: r.hash };
        }
        if (batch.length < VERIFY_PAGE) break;
      }
      const lastSeq = expected.seq - 1;
      const found: AuditVerification = {
        ok: true,
        rows,
        ...(anchor ? { anchoredAt: anchor.seq } : {}),
        ...(o.withCheckpoints ? { checkpoints: passed } : {}),
      };
      if (!head && lastSeq === 0) return found;
      if (!head || headSeq !== lastSeq || head.hash !== expected.prevHash) {
        return {
          ok: false,
          rows,
          firstBadSeq: Math.min(headSeq, lastSeq) + 1,
          reason: `the chain ends at row ${lastSeq} but the recorded head is row ${headSeq}`,
        };
      }
      const beyond = passed.find((c) => c.seq > lastSeq);
      if (beyond) {
        return {
          ok: false,
          rows,
          firstBadSeq: lastSeq + 1,
          reason: `a signed checkpoint names row ${beyond.seq}, past the chain's end at row ${lastSeq}: rows were removed from the tail`,
        };
      }
      return found;
    },
    { deadlineMs: LONG_WORK_MS },
  );
}
