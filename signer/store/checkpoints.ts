// Signed checkpoints of the audit chain. The chain's hashes are unkeyed: anyone who can write to
// the store can edit a row and recompute every hash after it, head included, and the chain still
// verifies. A checkpoint is the chain's head (sequence number and hash) at a time, signed in the
// HSM by an issuer's CA key; a rewrite of any row at or before a checkpoint changes the hash the
// checkpoint signed, and cannot be signed again without the HSM. `audit-verify` checks both.
//
// What is signed is SHA-256/384 (by the CA key's usual hash) over CHECKPOINT_DOMAIN and the
// checkpoint's fields as text. It starts with the ASCII letter 'e' (0x65); every structure the CA
// key otherwise signs (TBSCertificate, TBSCertList, CertificationRequestInfo) is a DER SEQUENCE
// and starts with 0x30, so a checkpoint signature never verifies as a certificate's or a CRL's.
import { utf8 } from '../../shared/encoding.ts';
import { bytesOf, type Engine, intOf, type Queryable } from './sql.ts';

export const CHECKPOINT_DOMAIN = 'edgeca-audit-checkpoint-v1';

export interface Checkpoint {
  /** the chain position: the seq of the last row the checkpoint covers */
  seq: number;
  /** that row's hash */
  hash: string;
  /** the database clock when it was taken, ms */
  time: number;
  /** the issuer whose key signed it */
  issuer: string;
  signature: Uint8Array;
}

/** The bytes the CA key signs for a checkpoint (see the module comment for why this shape). */
export function checkpointMessage(cp: Omit<Checkpoint, 'signature'>): Uint8Array {
  return utf8.encode(`${CHECKPOINT_DOMAIN}\n${cp.seq}\n${cp.hash}\n${cp.time}\n${cp.issuer}`);
}

type Raw = { [K in keyof Checkpoint]: unknown };

export function checkpointRow(r: Raw): Checkpoint {
  return {
    seq: intOf(r.seq),
    hash: String(r.hash),
    time: intOf(r.time),
    issuer: String(r.issuer),
    signature: bytesOf(r.signature),
  };
}

export const CHECKPOINT_COLUMNS = 'seq, hash, time, issuer, signature';

export class CheckpointTable {
  constructor(private readonly engine: Engine) {}

  /** The chain's head now, and the database clock (the time a checkpoint of it carries). */
  async head(): Promise<{ seq: number; hash: string; now: number }> {
    const [h] = await this.engine.all<{ seq: unknown; hash: string; now: unknown }>(
      `SELECT seq, hash, ${this.engine.dialect.nowMs} AS now FROM audit_head WHERE id = 1`,
    );
    if (!h) throw new Error('the audit log has no head row');
    return { seq: intOf(h.seq), hash: String(h.hash), now: intOf(h.now) };
  }

  async latest(): Promise<Checkpoint | undefined> {
    const [r] = await this.engine.all<Raw>(
      `SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoint ORDER BY seq DESC LIMIT 1`,
    );
    return r && checkpointRow(r);
  }

  /**
   * Stores a checkpoint. At a seq already checkpointed (the chain did not move) a later signature
   * of the same head replaces the earlier one, so the newest checkpoint's time says how recently
   * the HSM vouched for the head; a different hash at that seq is never written over.
   */
  async save(cp: Checkpoint): Promise<boolean> {
    return (
      (await this.engine.run(
        `INSERT INTO audit_checkpoint (seq, hash, time, issuer, signature) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (seq) DO UPDATE
           SET time = excluded.time, issuer = excluded.issuer, signature = excluded.signature
           WHERE audit_checkpoint.hash = excluded.hash AND audit_checkpoint.time < excluded.time`,
        [cp.seq, cp.hash, cp.time, cp.issuer, cp.signature],
      )) === 1
    );
  }

  /**
   * Deletes the audit rows up to and including `seq`, which must be a checkpoint's: that
   * checkpoint stays (older ones go) and anchors the oldest remaining row, so `audit-verify`
   * starts from a signed head instead of the first row. For a retention policy; nothing calls it
   * on its own.
   */
  async purgeThrough(seq: number): Promise<number> {
    return this.engine.transaction(async (tx: Queryable) => {
      const [cp] = await tx.all<{ seq: unknown }>('SELECT seq FROM audit_checkpoint WHERE seq = ?', [seq]);
      if (!cp) throw new Error(`no checkpoint at row ${seq}: audit rows are purged only up to a checkpoint`);
      const n = await tx.run('DELETE FROM audit_log WHERE seq <= ?', [seq]);
      await tx.run('DELETE FROM audit_checkpoint WHERE seq < ?', [seq]);
      return n;
    });
  }
}
