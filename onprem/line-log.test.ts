// lineLog: the lines of one turn of the event loop in one write, in order, none lost at close.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as turn } from 'node:timers/promises';
import { lineLog } from './line-log.ts';

test('the lines logged in one turn are written together, in order, after it', async () => {
  const writes: string[] = [];
  const log = lineLog((t) => writes.push(t));
  log({ a: 1 });
  log({ b: 'two' });
  assert.deepEqual(writes, []);
  await turn();
  assert.deepEqual(writes, ['{"a":1}\n{"b":"two"}\n']);
  log({ c: 3 });
  await turn();
  assert.deepEqual(writes, ['{"a":1}\n{"b":"two"}\n', '{"c":3}\n']);
  log.close();
});

test('close writes what is waiting at once', () => {
  const writes: string[] = [];
  const log = lineLog((t) => writes.push(t));
  log({ last: true });
  log.close();
  assert.deepEqual(writes, ['{"last":true}\n']);
});
