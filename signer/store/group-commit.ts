// Group commit: writes asked for while a commit runs share the next transaction, so N concurrent
// requests pay for one commit (one fsync on a libSQL file with synchronous=FULL, one round trip
// and WAL flush on PostgreSQL) instead of N. Each job is still durable when its promise resolves:
// it resolves only after the transaction holding it has committed. A job whose statements throw
// rolls its whole group back; the group is then written again one job per transaction, so only
// that job fails. When the store is unreachable every job of the group fails alike (a 503).
import { type Engine, type Queryable, StoreUnavailableError } from './sql.ts';

/** At most this many jobs share one transaction (bounds its size and the time the lock is held). */
export const MAX_GROUP = 64;

/** Runs a group's jobs in one transaction, in order; returns one result per job. */
export type GroupWriter<J, R> = (tx: Queryable, jobs: readonly J[]) => Promise<R[]>;

interface Pending<J, R> {
  job: J;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

export class GroupCommit<J, R> {
  private readonly queue: Pending<J, R>[] = [];
  private draining = false;

  constructor(
    private readonly engine: Engine,
    private readonly write: GroupWriter<J, R>,
  ) {}

  /** Resolves with the job's result once the transaction that wrote it has committed. */
  submit(job: J): Promise<R> {
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      if (!this.draining) {
        this.draining = true;
        // Let the jobs submitted in this turn of the event loop join the first group.
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      // Bounded by the queue: each pass settles at least one job.
      while (this.queue.length > 0) {
        const group = this.queue.splice(0, MAX_GROUP);
        try {
          const results = await this.commit(group);
          for (const [i, p] of group.entries()) p.resolve(results[i] as R);
          continue;
        } catch (e) {
          if (group.length === 1 || e instanceof StoreUnavailableError) {
            for (const p of group) p.reject(e);
            continue;
          }
        }
        for (const p of group) {
          try {
            const [r] = await this.commit([p]);
            p.resolve(r as R);
          } catch (e) {
            p.reject(e);
          }
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private commit(group: Pending<J, R>[]): Promise<R[]> {
    return this.engine.transaction(async (tx) => {
      const results = await this.write(
        tx,
        group.map((p) => p.job),
      );
      if (results.length !== group.length) {
        throw new Error(`group commit: ${results.length} results for ${group.length} jobs`);
      }
      return results;
    });
  }
}
