import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { collectStatus, formatStatus, sample } from './status.ts';

test('sample sums the series of one metric, by label, without matching longer names', () => {
  const text = [
    '# HELP edgeca_orders Orders.',
    'edgeca_orders{status="valid"} 3',
    'edgeca_orders{status="invalid"} 1',
    'edgeca_orders_finished_total{status="valid",reason="issued"} 9',
    'edgeca_nonces_used 12',
  ].join('\n');
  assert.equal(sample(text, 'edgeca_orders'), 4);
  assert.equal(sample(text, 'edgeca_orders', 'status="valid"'), 3);
  assert.equal(sample(text, 'edgeca_nonces_used'), 12);
  assert.equal(sample(text, 'edgeca_missing'), undefined);
});

test('reports every part down when nothing answers, and exits 1', async () => {
  const r = await collectStatus({ edge: 'http://127.0.0.1:9', signer: 'http://127.0.0.1:9' });
  assert.equal(r.edge.ready, false);
  assert.equal(r.signer.ready, false);
  const text = formatStatus(r);
  assert.match(text, /^FAIL edge/m);
  assert.match(text, /^FAIL signer/m);
  assert.match(text, /pass --token/);
  await assert.rejects(
    promisify(execFile)(process.execPath, [
      'bin/edgeca.mjs',
      'status',
      '--edge',
      'http://127.0.0.1:9',
      '--signer',
      'http://127.0.0.1:9',
    ]),
    (e: { code?: number; stdout?: string }) => e.code === 1 && /FAIL edge/.test(e.stdout ?? ''),
  );
});
