import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { configPath, databaseUrl, readConfigJson } from './config.ts';

test('a relative file: URL is relative to the config file; others are left as they are', () => {
  assert.equal(databaseUrl('/etc/edgeca', 'file:signer.db'), 'file:/etc/edgeca/signer.db');
  assert.equal(databaseUrl('/etc/edgeca', 'file:/var/lib/s.db'), 'file:/var/lib/s.db');
  assert.equal(databaseUrl('/etc/edgeca', 'postgres://u@h/db'), 'postgres://u@h/db');
});

test('a relative path is relative to the config file; an absolute one stays', () => {
  assert.equal(configPath('/etc/edgeca', 'key.json'), '/etc/edgeca/key.json');
  assert.equal(configPath('/etc/edgeca', '/var/lib/key.json'), '/var/lib/key.json');
});

test('a config file that is missing or not JSON is named in the error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgeca-onprem-config-'));
  try {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ not json');
    assert.throws(
      () => readConfigJson(join(dir, 'none.json'), 'signer config'),
      /cannot read the signer config .*none\.json/,
    );
    assert.throws(
      () => readConfigJson(bad, 'validator config'),
      /the validator config .*bad\.json is not valid JSON/,
    );
    writeFileSync(bad, '{"a":1}');
    assert.deepEqual(readConfigJson(bad, 'validator config'), { a: 1 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
