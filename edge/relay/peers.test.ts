// The failover order of on-prem peers, on a clock the test moves.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createPeerPool } from './peers.ts';

function pool(retryAfterMs = 10_000) {
  let t = 1_000_000;
  const logs: Record<string, unknown>[] = [];
  const p = createPeerPool({
    service: 'signer',
    urls: ['https://s0.internal:14100', 'https://s1.internal:14100', 'https://s2.internal:14100'],
    retryAfterMs,
    now: () => t,
    log: (e) => logs.push(e),
  });
  const advance = (ms: number): void => {
    t += ms;
  };
  return { p, logs, advance };
}
const indexes = (p: ReturnType<typeof pool>['p']) => p.order().map((x) => x.index);

test('tries peers in configured order; a failed one goes last, then back once the interval passed', () => {
  const { p, advance } = pool();
  assert.deepEqual(indexes(p), [0, 1, 2]);
  p.failed(p.order()[0]!, 'connection refused');
  assert.deepEqual(indexes(p), [1, 2, 0]);
  advance(9_999);
  assert.deepEqual(indexes(p), [1, 2, 0]);
  advance(1);
  assert.deepEqual(indexes(p), [0, 1, 2], 'probed again after the interval');
});

test('skipped peers are tried last, the one whose interval ends first before the others', () => {
  const { p, advance } = pool();
  const [s0, s1] = p.order();
  p.failed(s1!, 'HTTP 503');
  advance(1000);
  p.failed(s0!, 'no answer in time');
  assert.deepEqual(indexes(p), [2, 1, 0]);
});

test('a success clears the failures; the snapshot names peers by index, the log by URL', () => {
  const { p, logs, advance } = pool();
  const s0 = p.order()[0]!;
  p.failed(s0, 'connection refused');
  advance(2500);
  const [snap] = p.snapshot();
  assert.deepEqual(snap, { index: 0, up: false, failures: 1, lastError: 'connection refused', retryInS: 8 });
  assert.ok(!JSON.stringify(p.snapshot()).includes('internal'), 'no URL in the snapshot');
  assert.equal(logs[0]?.event, 'relay-peer-down');
  assert.equal(logs[0]?.url, 'https://s0.internal:14100');
  p.succeeded(s0);
  assert.deepEqual(p.snapshot()[0], { index: 0, up: true, failures: 0 });
  assert.equal(logs[1]?.event, 'relay-peer-up');
});

test('a peer that fails again while skipped is logged down once', () => {
  const { p, logs } = pool();
  const s0 = p.order()[0]!;
  p.failed(s0, 'a');
  p.failed(s0, 'b');
  assert.equal(logs.filter((l) => l.event === 'relay-peer-down').length, 1);
  assert.equal(p.snapshot()[0]?.failures, 2);
});
