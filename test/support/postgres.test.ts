// The PostgreSQL harness's rule for a machine without PostgreSQL: skip loudly, but fail in CI.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { skipWithoutPostgres } from './postgres.ts';

test('PostgreSQL tests run when PostgreSQL is there', () => {
  assert.equal(skipWithoutPostgres(undefined, { CI: 'true' }), false);
});

test('PostgreSQL tests are skipped with the reason when it is missing outside CI', () => {
  assert.match(String(skipWithoutPostgres('not installed', {})), /PostgreSQL unavailable: not installed/);
});

test('PostgreSQL tests fail instead of skipping under CI=true when it is missing', () => {
  assert.throws(
    () => skipWithoutPostgres('not installed', { CI: 'true' }),
    /cannot run in CI: not installed/,
  );
});
