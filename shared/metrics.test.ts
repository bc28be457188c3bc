import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from './metrics.ts';

test('renders counters, gauges and histograms in the Prometheus text format', async () => {
  const r = new Registry();
  const c = r.counter('t_requests_total', 'Requests.', ['route']);
  const g = r.gauge('t_size', 'Size.');
  const h = r.histogram('t_seconds', 'Latency.', ['op'], [0.1, 1]);
  c.inc({ route: '/a' });
  c.inc({ route: '/a' }, 2);
  g.set({}, 7);
  h.observe({ op: 'sign' }, 0.05);
  h.observe({ op: 'sign' }, 0.5);
  h.observe({ op: 'sign' }, 5);
  assert.equal(
    await r.render(),
    [
      '# HELP t_requests_total Requests.',
      '# TYPE t_requests_total counter',
      't_requests_total{route="/a"} 3',
      '# HELP t_size Size.',
      '# TYPE t_size gauge',
      't_size 7',
      '# HELP t_seconds Latency.',
      '# TYPE t_seconds histogram',
      't_seconds_bucket{op="sign",le="0.1"} 1',
      't_seconds_bucket{op="sign",le="1"} 2',
      't_seconds_bucket{op="sign",le="+Inf"} 3',
      't_seconds_sum{op="sign"} 5.55',
      't_seconds_count{op="sign"} 3',
      '',
    ].join('\n'),
  );
});

test('escapes label values (backslash, quote, newline)', async () => {
  const r = new Registry();
  r.counter('t_total', 'x', ['v']).inc({ v: 'a"b\\c\nd' });
  assert.match(await r.render(), /t_total\{v="a\\"b\\\\c\\nd"\} 1/);
});

test('refuses a counter going down, a name registered twice and a bad name', () => {
  const r = new Registry();
  const c = r.counter('t_total', 'x');
  assert.throws(() => c.inc({}, -1), /cannot go down/);
  assert.throws(() => r.counter('t_total', 'again'), /registered twice/);
  assert.throws(() => r.gauge('bad-name', 'x'), /bad metric name/);
});

test('folds label sets past the bound into one overflow series', async () => {
  const r = new Registry();
  const c = r.counter('t_total', 'x', ['id']);
  for (let i = 0; i < 600; i++) c.inc({ id: String(i) });
  const text = await r.render();
  assert.equal(text.split('\n').filter((l) => l.startsWith('t_total{')).length, 501);
  assert.match(text, /t_total\{id="overflow"\} 100/);
});

test('a failing collector is counted, not thrown, and the others still run', async () => {
  const r = new Registry();
  const g = r.gauge('t_rows', 'x');
  r.collect(async () => {
    throw new Error('database away');
  });
  r.collect(async () => g.set({}, 4));
  const text = await r.render();
  assert.match(text, /^t_rows 4$/m);
  assert.match(text, /^edgeca_collector_errors 1$/m);
});
