// The logged-in sessions of one connection to the token. A PKCS#11 session runs one operation
// at a time (CKR_OPERATION_ACTIVE otherwise), so callers borrow a session and queue when all
// are busy. When the connection is lost the pool stops lending, fails its queue, and closes its
// sessions only after the calls still running on them have returned.
import type * as graphene from 'graphene-pk11';

/** How long closing a lost pool waits for in-flight operations before abandoning its sessions. */
const DRAIN_TIMEOUT_MS = 5000;

export class SessionPool {
  /** key object handles by class and label, valid as long as this login */
  readonly handles = new Map<string, Buffer>();
  private readonly free: graphene.Session[];
  private readonly waiters: { resolve: (s: graphene.Session) => void; reject: (e: Error) => void }[] = [];
  private busy = 0;
  private lostWith: Error | undefined;
  private onDrained: () => void = () => {};
  private readonly drained = new Promise<void>((resolve) => {
    this.onDrained = resolve;
  });

  constructor(readonly sessions: graphene.Session[]) {
    this.free = [...sessions];
  }

  get lost(): boolean {
    return this.lostWith !== undefined;
  }

  acquire(): Promise<graphene.Session> {
    if (this.lostWith) return Promise.reject(this.lostWith);
    const s = this.free.pop();
    if (s) {
      this.busy++;
      return Promise.resolve(s);
    }
    return new Promise((resolve, reject) => {
      this.waiters.push({
        resolve: (session) => {
          this.busy++;
          resolve(session);
        },
        reject,
      });
    });
  }

  release(s: graphene.Session): void {
    this.busy--;
    if (this.lostWith) {
      if (this.busy === 0) this.onDrained();
      return;
    }
    const next = this.waiters.shift();
    if (next) next.resolve(s);
    else this.free.push(s);
  }

  /** Stops lending: queued callers get `err`. Idempotent. */
  lose(err: Error): void {
    if (this.lostWith) return;
    this.lostWith = err;
    for (const w of this.waiters.splice(0)) w.reject(err);
    if (this.busy === 0) this.onDrained();
  }

  /** Closes the sessions of a lost pool once nothing runs on them (or leaks them after a timeout). */
  async close(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      this.drained.then(() => true),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(false), DRAIN_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
    // Closing a session whose call still runs could close a handle a new login has reused: leak it instead.
    if (!drained) return;
    for (const s of this.sessions) {
      try {
        s.close();
      } catch {
        // already gone with the token or the library
      }
    }
  }
}
