// Purging the signer's store, so it stops growing with every certificate: issuance rows (intents
// and issued certificates) once their notAfter lies `issuanceDays` in the past, and audit rows up
// to a signed checkpoint taken more than `auditDays` ago. Both engines, bounded: each statement
// deletes at most `batch` rows, each transaction is short, and signers keep signing in between.
//
// An issuance row never goes before the certificate's notAfter, revoked or not: until then its
// CRL lists it (RFC 5280 §3.3 lets a CRL drop an entry only once the certificate expired), and
// revokedUnexpired reads exactly those rows.
//
// The audit chain stays verifiable: rows are deleted only up to a checkpoint, which then anchors
// the oldest row left (store/checkpoints.ts), and one checkpoint interval is deleted per
// transaction, so the chain verifies between any two of them. Before deleting, the rows are read
// and checked to chain from the current start to the hash the checkpoint signed: a purge never
// removes the evidence of a rewrite; it refuses and says so instead.
import { auditRowHash, GENESIS_HASH } from './audit.ts';
import { CHECKPOINT_COLUMNS, type Checkpoint, checkpointRow } from './checkpoints.ts';
import { type Engine, intOf, intOrNull, type Queryable } from './sql.ts';

const DAY_MS = 86_400_000;
export const SIGNER_PURGE_BATCH = 500;

export interface SignerRetention {
  /** days an issuance row is kept past the certificate's notAfter */
  issuanceDays: number;
  /** days audit rows are kept (they go up to a checkpoint at least this old); null: forever */
  auditDays: number | null;
}

export interface SignerPurgeOptions {
  now?: number;
  batch?: number;
  /** stop starting new batches after this long (default 2 s); the next run goes on */
  budgetMs?: number;
  clock?: () => number;
  /** the audit purge anchors only at checkpoints this accepts (their signature checked) */
  trustCheckpoint?: (cp: Checkpoint) => boolean;
}

export interface SignerPurgeRun {
  issuance: number;
  audit: number;
  /** the checkpoint the audit chain now starts from, when audit rows were purged */
  anchoredAt?: number;
  /** why audit rows that are due stayed (an untrusted checkpoint, a chain that does not verify) */
  auditRefused?: string;
  /** statements that deleted rows, and transactions, run */
  statements: number;
  unfinished: boolean;
  ms: number;
}

export async function purgeSignerStore(
  engine: Engine,
  policy: SignerRetention,
  o: SignerPurgeOptions = {},
): Promise<SignerPurgeRun> {
  const clock = o.clock ?? Date.now;
  const started = clock();
  const now = o.now ?? Date.now();
  const batch = Math.max(1, o.batch ?? SIGNER_PURGE_BATCH);
  const budget = o.budgetMs ?? 2000;
  const out: SignerPurgeRun = { issuance: 0, audit: 0, statements: 0, unfinished: false, ms: 0 };
  const inBudget = () => clock() - started < budget;

  const before = now - Math.max(0, policy.issuanceDays) * DAY_MS;
  for (;;) {
    if (!inBudget()) {
      out.unfinished = true;
      break;
    }
    const n = await engine.transaction((tx) =>
      tx.run(
        `DELETE FROM issuance WHERE order_id IN
           (SELECT order_id FROM issuance WHERE not_after < ? ORDER BY not_after LIMIT ?)`,
        [before, batch],
      ),
    );
    out.statements++;
    out.issuance += n;
    if (n < batch) break;
  }

  if (policy.auditDays !== null && !out.unfinished) {
    const cutoff = now - policy.auditDays * DAY_MS;
    for (;;) {
      if (!inBudget()) {
        out.unfinished = true;
        break;
      }
      const step = await purgeAuditInterval(engine, cutoff, batch, o.trustCheckpoint);
      out.statements += step.statements;
      if (step.refused) {
        out.auditRefused = step.refused;
        break;
      }
      if (step.deleted === 0 || step.anchoredAt === undefined) break;
      out.audit += step.deleted;
      out.anchoredAt = step.anchoredAt;
    }
  }
  out.ms = clock() - started;
  return out;
}

/**
 * Deletes the audit rows of one checkpoint interval: from the chain's current start up to the
 * oldest checkpoint past it that was taken before `cutoff`, in one transaction of statements of at
 * most `batch` rows. The rows are checked first to chain to the hash that checkpoint signed.
 */
async function purgeAuditInterval(
  engine: Engine,
  cutoff: number,
  batch: number,
  trust: ((cp: Checkpoint) => boolean) | undefined,
): Promise<{ deleted: number; anchoredAt?: number; refused?: string; statements: number }> {
  return engine.transaction(async (tx) => {
    let statements = 0;
    const [first] = await tx.all<{ s: unknown }>('SELECT MIN(seq) AS s FROM audit_log');
    const firstSeq = intOrNull(first?.s);
    if (firstSeq === null) return { deleted: 0, statements };
    const [row] = await tx.all<Parameters<typeof checkpointRow>[0]>(
      `SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoint WHERE seq >= ? AND time < ? ORDER BY seq LIMIT 1`,
      [firstSeq, cutoff],
    );
    if (!row) return { deleted: 0, statements };
    const cp = checkpointRow(row);
    if (trust && !trust(cp)) {
      return {
        deleted: 0,
        statements,
        refused: `the checkpoint at row ${cp.seq} does not verify with its issuer's certificate: no audit row was purged`,
      };
    }
    // the hash the oldest row links to: the anchoring checkpoint's, or the genesis hash
    let prevHash = GENESIS_HASH;
    if (firstSeq > 1) {
      const [anchor] = await tx.all<{ hash: string }>('SELECT hash FROM audit_checkpoint WHERE seq = ?', [
        firstSeq - 1,
      ]);
      if (!anchor) {
        return {
          deleted: 0,
          statements,
          refused: `rows before ${firstSeq} are missing and no checkpoint anchors row ${firstSeq}: run audit-verify`,
        };
      }
      prevHash = anchor.hash;
    }
    for (let from = firstSeq; from <= cp.seq; from += batch) {
      const to = Math.min(cp.seq, from + batch - 1);
      const rows = await tx.all<{
        seq: unknown;
        time: unknown;
        event: string;
        details: string;
        prevHash: string;
        hash: string;
      }>(
        `SELECT seq, time, event, details, prev_hash AS "prevHash", hash FROM audit_log
         WHERE seq >= ? AND seq <= ? ORDER BY seq`,
        [from, to],
      );
      let expected = from;
      for (const r of rows) {
        const seq = intOf(r.seq);
        const ok =
          seq === expected &&
          r.prevHash === prevHash &&
          (await auditRowHash(prevHash, { seq, time: intOf(r.time), event: r.event, details: r.details })) ===
            r.hash;
        if (!ok) {
          return {
            deleted: 0,
            statements,
            refused: `audit row ${expected} does not chain to the checkpoint at row ${cp.seq}: nothing purged; run audit-verify`,
          };
        }
        prevHash = r.hash;
        expected++;
      }
      if (expected !== to + 1) {
        return {
          deleted: 0,
          statements,
          refused: `audit row ${expected} is missing before the checkpoint at row ${cp.seq}: nothing purged; run audit-verify`,
        };
      }
    }
    if (prevHash !== cp.hash) {
      return {
        deleted: 0,
        statements,
        refused: `the chain does not pass through the head the checkpoint at row ${cp.seq} signed: nothing purged; run audit-verify`,
      };
    }
    let deleted = 0;
    for (let from = firstSeq; from <= cp.seq; from += batch) {
      deleted += await tx.run('DELETE FROM audit_log WHERE seq >= ? AND seq <= ?', [
        from,
        Math.min(cp.seq, from + batch - 1),
      ]);
      statements++;
    }
    await deleteOlderCheckpoints(tx, cp.seq);
    statements++;
    return { deleted, anchoredAt: cp.seq, statements };
  });
}

/** The checkpoints before the new anchor cover no row any more. */
async function deleteOlderCheckpoints(tx: Queryable, seq: number): Promise<void> {
  await tx.run('DELETE FROM audit_checkpoint WHERE seq < ?', [seq]);
}
