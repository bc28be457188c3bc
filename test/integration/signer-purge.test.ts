// The signer's purge as an operator runs it, against a running signer whose checkpoints are signed
// in SoftHSM: `edgeca signer purge --audit-days 0` deletes the audit rows up to the newest signed
// checkpoint, and `edgeca signer audit-verify` then passes from that checkpoint (anchoredAt).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { createClient } from '@libsql/client';
import { waitFor } from '../../harness/wait.ts';
import { databaseUrl } from '../../onprem/config.ts';
import { loadSignerConfig } from '../../signer/server.ts';
import { type System, startSystem } from '../support/system.ts';

const CLI = new URL('../../bin/edgeca.mjs', import.meta.url).pathname;
let sys: System | undefined;

function cli(...args: string[]) {
  return spawnSync(process.execPath, [CLI, 'signer', ...args], {
    env: { ...process.env, SOFTHSM2_CONF: sys?.init.softhsmConf, NODE_TEST_CONTEXT: '' },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('edgeca signer purge, then audit-verify (SoftHSM)', { timeout: 180_000 }, () => {
  before(async () => {
    sys = await startSystem();
  });
  after(async () => {
    await sys?.stop();
  });

  it('purges the audit rows up to the signed checkpoint and audit-verify passes from it', async () => {
    const s = sys as System;
    const { config, baseDir } = loadSignerConfig(s.init.signerConfigFile);
    const db = createClient({ url: databaseUrl(baseDir, config.database) });
    try {
      // the signer signed a checkpoint when it started; wait until its time lies in the past
      const checkpoint = async () =>
        Number((await db.execute('SELECT MAX(seq) AS s FROM audit_checkpoint')).rows[0]?.s ?? 0);
      const cpSeq = await waitFor(
        'the checkpoint the signer signs at start',
        async () => (await checkpoint()) || undefined,
        { timeoutMs: 10_000, intervalMs: 250 },
      );
      await new Promise((r) => setTimeout(r, 50));
      const before = cli('audit-verify', '--config', s.init.signerConfigFile);
      assert.equal(before.status, 0, `audit-verify before: ${before.stdout} ${before.stderr}`);

      const purge = cli('purge', '--config', s.init.signerConfigFile, '--audit-days', '0');
      assert.equal(purge.status, 0, `purge: ${purge.stdout} ${purge.stderr}`);
      const purged = JSON.parse(purge.stdout) as { purged: { audit_log: number }; auditAnchoredAt?: number };
      assert.ok(purged.purged.audit_log >= cpSeq, purge.stdout);
      assert.ok((purged.auditAnchoredAt ?? 0) >= cpSeq, purge.stdout);
      const first = Number((await db.execute('SELECT MIN(seq) AS s FROM audit_log')).rows[0]?.s ?? 0);
      assert.ok(first === 0 || first > cpSeq, 'the rows up to the checkpoint are gone');

      const after = cli('audit-verify', '--config', s.init.signerConfigFile);
      assert.equal(after.status, 0, `audit-verify after: ${after.stdout} ${after.stderr}`);
      const report = JSON.parse(after.stdout) as { ok: boolean; anchoredAt?: number };
      assert.equal(report.ok, true);
      assert.equal(report.anchoredAt, purged.auditAnchoredAt);
    } finally {
      db.close();
    }
  });
});
