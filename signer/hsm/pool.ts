// The logged-in sessions of one connection to the token. A PKCS#11 session runs one operation
// at a time (CKR_OPERATION_ACTIVE otherwise), so callers borrow a session and queue when all
// are busy. The queue is bounded in time: a slow token (a TPM signs a few hundred times a
// second) under more load than it can take answers "busy, retry later" (HsmBusyError, a 503
// with Retry-After) instead of letting requests pile up until the client gives up. When the
// connection is lost the pool stops lending, fails its queue, and closes its sessions only
// after the calls still running on them have returned.
import type * as graphene from 'graphene-pk11';
import { HsmUnavailableError } from '../ca-signer.ts';

/** How long closing a lost pool waits for in-flight operations before abandoning its sessions. */
const DRAIN_TIMEOUT_MS = 5000;

/** Every session stayed busy for the whole queue wait: the token is saturated, not gone. */
export class HsmBusyError extends HsmUnavailableError {
  constructor(message: string) {
    super(message);
    this.name = 'HsmBusyError';
  }
}

interface Waiter<S> {
  resolve: (s: S) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

export class SessionPool<S extends { close(): void } = graphene.Session> {
  /** key object handles by class and label, valid as long as this login */
  readonly handles = new Map<string, Buffer>();
  private readonly free: S[];
  private readonly waiters: Waiter<S>[] = [];
  private busy = 0;
  private lostWith: Error | undefined;
  private onDrained: () => void = () => {};
  private readonly drained = new Promise<void>((resolve) => {
    this.onDrained = resolve;
  });

  /**
   * @param queueTimeoutMs longest wait for a free session; 0 refuses at once when all are busy
   * @param name the token, for messages
   */
  constructor(
    readonly sessions: S[],
    private readonly queueTimeoutMs = 5000,
    private readonly name = 'the token',
  ) {
    this.free = [...sessions];
  }

  get lost(): boolean {
    return this.lostWith !== undefined;
  }

  /** Callers waiting for a session right now. */
  get queued(): number {
    return this.waiters.length;
  }

  acquire(): Promise<S> {
    if (this.lostWith) return Promise.reject(this.lostWith);
    const s = this.free.pop();
    if (s) {
      this.busy++;
      return Promise.resolve(s);
    }
    const busy = () =>
      new HsmBusyError(
        `all ${this.sessions.length} session(s) of ${this.name} stayed busy for ${this.queueTimeoutMs} ms ` +
          `(${this.waiters.length} caller(s) queued); retry later`,
      );
    if (this.queueTimeoutMs <= 0) return Promise.reject(busy());
    return new Promise((resolve, reject) => {
      const waiter: Waiter<S> = {
        resolve: (session) => {
          clearTimeout(waiter.timer);
          this.busy++;
          resolve(session);
        },
        reject: (e) => {
          clearTimeout(waiter.timer);
          reject(e);
        },
        timer: undefined,
      };
      waiter.timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(busy());
      }, this.queueTimeoutMs);
      this.waiters.push(waiter);
    });
  }

  release(s: S): void {
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
