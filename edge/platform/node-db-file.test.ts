// The edge database (EAB HMAC keys, the nonce MAC key, admin token hashes) and its -wal and -shm
// files are created mode 0600 wherever they live, whatever the umask; an existing file that other
// users can read is reported at start.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { exportJWK, generateKeyPair } from 'jose';
import { defaultEdgeConfig } from '../config.ts';
import { startNodeEdge } from '../main/node.ts';
import { databaseFilePath } from './db-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgeca-dbfile-'));
// A world-readable directory, as /var/lib/edgeca or a working directory may be.
chmodSync(dir, 0o755);
after(() => rmSync(dir, { recursive: true, force: true }));

async function config(dbFile: string) {
  const relay = await generateKeyPair('ES256', { extractable: true });
  return defaultEdgeConfig({
    baseUrl: 'http://127.0.0.1:1',
    dbUrl: `file:${dbFile}`,
    signerUrl: 'http://127.0.0.1:9',
    relayKeyJwk: { ...(await exportJWK(relay.privateKey)), kid: 'edge-test' },
  });
}

const mode = (f: string) => statSync(f).mode & 0o777;

describe('the edge database file', () => {
  it('is created 0600, and so are its -wal and -shm files, under umask 022', async () => {
    const file = join(dir, 'edge.db');
    const old = process.umask(0o022);
    try {
      const edge = await startNodeEdge(await config(file), { log: () => {} });
      try {
        // A write, so the WAL holds something.
        const res = await fetch(`${edge.url}/acme/new-nonce`, { method: 'HEAD' });
        assert.ok(res.headers.get('replay-nonce'));
        for (const f of [file, `${file}-wal`, `${file}-shm`]) {
          assert.ok(existsSync(f), `${f} exists while the edge runs`);
          assert.equal(mode(f).toString(8), '600', f);
        }
      } finally {
        await edge.close();
      }
    } finally {
      process.umask(old);
    }
  });

  it('that exists readable by others is reported at start, and left as the operator set it', async () => {
    const file = join(dir, 'loose.db');
    writeFileSync(file, '');
    chmodSync(file, 0o644);
    const logs: Record<string, unknown>[] = [];
    const edge = await startNodeEdge(await config(file), { log: (e) => logs.push(e) });
    await edge.close();
    const warning = logs.find((e) => e.event === 'database-file-mode');
    assert.match(String(warning?.warning), /other users may read it: chmod 600/);
    assert.equal(mode(file).toString(8), '644');
  });

  it('path is read from every form of libSQL file URL, and remote URLs have none', () => {
    assert.equal(databaseFilePath('file:.edgeca/dev/edge.db'), '.edgeca/dev/edge.db');
    assert.equal(databaseFilePath('file:/var/lib/edgeca/edge.db'), '/var/lib/edgeca/edge.db');
    assert.equal(databaseFilePath('file:///var/lib/edgeca/edge.db?mode=rwc'), '/var/lib/edgeca/edge.db');
    assert.equal(databaseFilePath('file:my%20edge.db'), 'my edge.db');
    assert.equal(databaseFilePath('file::memory:'), undefined);
    assert.equal(databaseFilePath('libsql://edge.example.turso.io'), undefined);
    assert.equal(databaseFilePath('https://db.example.internal'), undefined);
  });
});
