// The session pool's queue on its own, with stand-in sessions: who gets a session when, how long
// a caller may wait, and what a lost pool tells its queue. (The pool on real tokens:
// test/support/hsm-token-suite.ts.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HsmUnavailableError } from '../ca-signer.ts';
import { HsmBusyError, SessionPool } from './pool.ts';

const session = (name: string) => ({ name, closed: false, close() {} });
type S = ReturnType<typeof session>;

test('a free session is lent at once; callers beyond the pool are served in arrival order', async () => {
  const pool = new SessionPool<S>([session('a')], 60_000, 'token "t"');
  const first = await pool.acquire();
  const order: number[] = [];
  const waiting = [1, 2, 3].map((i) =>
    pool.acquire().then((s) => {
      order.push(i);
      return s;
    }),
  );
  assert.equal(pool.queued, 3);
  pool.release(first);
  pool.release(await (waiting[0] as Promise<S>));
  pool.release(await (waiting[1] as Promise<S>));
  pool.release(await (waiting[2] as Promise<S>));
  assert.deepEqual(order, [1, 2, 3]);
  assert.equal(pool.queued, 0);
});

test('a caller that waits longer than the queue timeout gets HsmBusyError (a 503), and leaves the queue', async () => {
  const pool = new SessionPool<S>([session('a')], 30, 'token "t"');
  const held = await pool.acquire();
  await assert.rejects(pool.acquire(), (e: unknown) => {
    assert.ok(e instanceof HsmBusyError);
    assert.ok(e instanceof HsmUnavailableError);
    assert.match(e.message, /all 1 session\(s\) of token "t" stayed busy for 30 ms/);
    return true;
  });
  assert.equal(pool.queued, 0);
  // The session released after the timeout goes back to the pool, not to the caller that gave up.
  pool.release(held);
  assert.equal(await pool.acquire(), held);
});

test('a queue timeout of 0 refuses at once when every session is busy', async () => {
  const pool = new SessionPool<S>([session('a'), session('b')], 0);
  await pool.acquire();
  await pool.acquire();
  await assert.rejects(pool.acquire(), HsmBusyError);
  assert.equal(pool.queued, 0);
});

test('losing the pool fails its queue with the cause and refuses new callers', async () => {
  const pool = new SessionPool<S>([session('a')], 60_000);
  await pool.acquire();
  const waiting = pool.acquire();
  const gone = new HsmUnavailableError('token gone');
  pool.lose(gone);
  await assert.rejects(waiting, (e) => e === gone);
  await assert.rejects(pool.acquire(), (e) => e === gone);
});
