// The readiness poller: bounded in tries and in time (a hanging check included), and its error
// names what was awaited and the last thing the check said.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { httpAnswers, NotYet, WaitTimeout, waitFor } from './wait.ts';

describe('waitFor', () => {
  test('returns the first value the check gives, after the not-yets', async () => {
    let n = 0;
    const v = await waitFor('the counter', () => (++n < 3 ? undefined : n), {
      timeoutMs: 5000,
      intervalMs: 1,
    });
    assert.equal(v, 3);
  });

  test('stops after `tries` checks and names the last error', async () => {
    let n = 0;
    const err = await waitFor(
      'the refusing thing',
      () => {
        n++;
        throw new Error(`refused #${n}`);
      },
      { timeoutMs: 60_000, intervalMs: 1, tries: 4 },
    ).catch((e: unknown) => e);
    assert.ok(err instanceof WaitTimeout);
    assert.equal(n, 4);
    assert.match(
      err.message,
      /^the refusing thing: not ready after 4 checks \(asked 4 times in \d+ ms; last: refused #4\)$/,
    );
  });

  test('stops at the deadline even when a check never answers', async () => {
    const t0 = Date.now();
    let aborted = false;
    const err = await waitFor(
      'the silent thing',
      (signal) =>
        new Promise<never>(() => {
          signal.addEventListener('abort', () => {
            aborted = true;
          });
        }),
      { timeoutMs: 150, intervalMs: 10 },
    ).catch((e: unknown) => e);
    assert.ok(err instanceof WaitTimeout);
    assert.match(err.message, /^the silent thing: not ready within 150 ms .*last: the check did not answer/);
    assert.ok(aborted, 'the hanging check was told to stop');
    assert.ok(Date.now() - t0 < 30_000, 'the wait ended');
  });

  test('a check cut off at the deadline keeps the answer before it in the error', async () => {
    let n = 0;
    const err = await waitFor(
      'the slowing thing',
      () => (++n === 1 ? new NotYet('HTTP 503') : new Promise<never>(() => {})),
      { timeoutMs: 200, intervalMs: 10 },
    ).catch((e: unknown) => e);
    assert.ok(err instanceof WaitTimeout);
    assert.match(err.message, /last: HTTP 503; the next check did not answer before the deadline\)$/);
  });

  test('gives up at once when giveUp names a reason, with the context', async () => {
    let n = 0;
    const err = await waitFor('the child', () => new NotYet(`still starting (${++n})`), {
      timeoutMs: 60_000,
      intervalMs: 1,
      giveUp: () => (n >= 2 ? 'the child exited' : undefined),
      context: () => 'its log: boom',
    }).catch((e: unknown) => e);
    assert.ok(err instanceof WaitTimeout);
    assert.match(
      err.message,
      /^the child: the child exited \(asked 2 times .*last: still starting \(2\)\)\nits log: boom$/,
    );
  });

  test('httpAnswers waits for the status asked for and reports the last one seen', async () => {
    let calls = 0;
    const server = createServer((_req, res) => {
      calls++;
      res.writeHead(calls < 3 ? 503 : 200).end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`;
    try {
      const res = await waitFor(url, httpAnswers(url), { timeoutMs: 10_000, intervalMs: 5 });
      assert.equal(await res.text(), 'ok');
      calls = -100;
      const err = await waitFor(url, httpAnswers(url), { timeoutMs: 10_000, intervalMs: 1, tries: 2 }).catch(
        (e: unknown) => e,
      );
      assert.ok(err instanceof WaitTimeout);
      assert.match(err.message, /last: http:\/\/127\.0\.0\.1:\d+\/health answered HTTP 503\)$/);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
