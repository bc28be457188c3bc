// Smoke test of `npm run bench -- --quick`: it completes, prints its table and every chain it
// issued verifies (openssl spot checks included). Never a threshold on any figure: benchmarks are
// not timed tests.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

const ROOT = resolve(import.meta.dirname, '..');

test('npm run bench -- --quick completes and every issued chain verifies', { timeout: 420_000 }, () => {
  const out = mkdtempSync(join(tmpdir(), 'edgeca-bench-smoke-'));
  try {
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'bench.mjs'), '--quick', '--out', out], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 400_000,
    });
    assert.equal(r.status, 0, `bench exited ${r.status ?? r.signal}:\n${r.stderr.slice(-3000)}`);
    assert.match(r.stdout, /Ratios edgeca \(Node\) \/ Pebble/);
    const result = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as {
      issuance: { target: string; chains: { chains: number; failed: number; opensslChecked: number } }[];
      signer: { chainsVerified: { chains: number; failed: number } };
    };
    assert.deepEqual(
      result.issuance.map((t) => t.target),
      ['edgeca (Node)', 'Pebble', 'edgeca (Deno)'],
    );
    for (const t of result.issuance) {
      assert.ok(t.chains.chains > 0, `${t.target} issued nothing`);
      assert.equal(t.chains.failed, 0, `${t.target}: chains that do not verify`);
      assert.ok(t.chains.opensslChecked > 0, `${t.target}: no openssl spot check`);
    }
    assert.ok(result.signer.chainsVerified.chains > 0);
    assert.equal(result.signer.chainsVerified.failed, 0);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
