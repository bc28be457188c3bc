// Writes signed checkpoints of the audit chain (store/checkpoints.ts says what they are): the
// chain's head signed in the HSM by the newest active issuer's key, at least every
// audit.checkpointSeconds, or once audit.checkpointRows rows were appended since the last one,
// whichever comes first, at every start, and at every rotation. Every signer sharing the store
// runs this; the store tells each whether one is due, so N signers do not write N checkpoints.
import type { CaSigner } from '../ca-signer.ts';
import type { SignerConfig } from '../config.ts';
import { type Checkpoint, checkpointMessage } from '../store/checkpoints.ts';
import type { SignerStore } from '../store/store.ts';

export const DEFAULT_CHECKPOINT_S = 300;
export const DEFAULT_CHECKPOINT_ROWS = 1000;
/** Longest time between two looks at whether a checkpoint is due. */
const MAX_TICK_S = 15;

/** Signs the chain's head now with `issuer`'s key and stores it; undefined while the chain is empty. */
export async function writeCheckpoint(
  store: SignerStore,
  issuer: { id: string; signer: CaSigner },
): Promise<Checkpoint | undefined> {
  const head = await store.checkpoints.head();
  if (head.seq === 0) return undefined;
  const unsigned = { seq: head.seq, hash: head.hash, time: head.now, issuer: issuer.id };
  const cp = { ...unsigned, signature: await issuer.signer.sign(checkpointMessage(unsigned)) };
  await store.checkpoints.save(cp);
  return cp;
}

export class CheckpointWriter {
  private timer: ReturnType<typeof setInterval> | undefined;
  private running: Promise<Checkpoint | undefined> | undefined;
  private readonly seconds: number;
  private readonly rows: number;

  constructor(
    private readonly o: {
      store: SignerStore;
      /** the issuer whose key signs: the newest active one this signer holds */
      signingIssuer: () => { id: string; signer: CaSigner } | undefined;
      config: SignerConfig;
      log: (line: Record<string, unknown>) => void;
    },
  ) {
    this.seconds = o.config.audit?.checkpointSeconds ?? DEFAULT_CHECKPOINT_S;
    this.rows = o.config.audit?.checkpointRows ?? DEFAULT_CHECKPOINT_ROWS;
  }

  /** Writes a checkpoint when one is due (always when `force`); failures are logged, not thrown. */
  maybeWrite(cause: string, force = false): Promise<Checkpoint | undefined> {
    // A forced one (a rotation) must not be swallowed by a routine look already under way.
    if (this.running && force) return this.running.then(() => this.maybeWrite(cause, true));
    this.running ??= this.writeIfDue(cause, force)
      .catch((e: unknown) => {
        this.o.log({ event: 'checkpoint-failed', cause, error: e instanceof Error ? e.message : String(e) });
        return undefined;
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async writeIfDue(cause: string, force: boolean): Promise<Checkpoint | undefined> {
    const issuer = this.o.signingIssuer();
    if (!issuer) return undefined;
    if (!force) {
      const [head, last] = await Promise.all([
        this.o.store.checkpoints.head(),
        this.o.store.checkpoints.latest(),
      ]);
      const due = !last || head.seq - last.seq >= this.rows || head.now - last.time >= this.seconds * 1000;
      if (!due || head.seq === 0) return undefined;
    }
    const cp = await writeCheckpoint(this.o.store, issuer);
    if (cp) this.o.log({ event: 'audit-checkpoint', cause, seq: cp.seq, issuer: cp.issuer });
    return cp;
  }

  start(): void {
    const tick = Math.max(1, Math.min(this.seconds, MAX_TICK_S));
    this.timer = setInterval(() => void this.maybeWrite('interval'), tick * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
