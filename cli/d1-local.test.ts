// Where the CLI finds the checkout whose wrangler reaches the dev edge's local D1: from source
// (cli/) and compiled (dist/cli/) alike, and a clear error elsewhere.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { checkoutRoot } from './d1-local.ts';

const ROOT = resolve(import.meta.dirname, '..');

test('the checkout is found from cli/ and from the compiled dist/cli/', () => {
  assert.equal(checkoutRoot(join(ROOT, 'cli')), ROOT);
  assert.equal(checkoutRoot(join(ROOT, 'dist', 'cli')), ROOT);
});

test('outside a checkout: an error that says where to run from', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgeca-no-checkout-'));
  try {
    assert.throws(
      () => checkoutRoot(join(dir, 'a', 'cli')),
      /no wrangler.toml was found above .*run edgeca from the checkout/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
