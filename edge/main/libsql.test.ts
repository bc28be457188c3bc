// The libSQL client the Node and Deno entry points open: on an embedded file, every statement runs
// with the file's pragmas (synchronous=NORMAL, the busy timeout), also when requests run at once.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { exportJWK, generateKeyPair } from 'jose';
import { defaultEdgeConfig } from '../config.ts';
import { openDatabase } from '../storage/db.ts';
import { openLibsqlClient } from './libsql.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgeca-openlibsql-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('the edge libSQL client on an embedded file', () => {
  it('runs statements issued at once with the pragmas of the file (synchronous=NORMAL, busy timeout)', async () => {
    const relay = await generateKeyPair('ES256', { extractable: true });
    const client = openLibsqlClient(
      defaultEdgeConfig({
        baseUrl: 'http://127.0.0.1:1',
        dbUrl: `file:${join(dir, 'edge.db')}`,
        signerUrl: 'http://127.0.0.1:9',
        relayKeyJwk: { ...(await exportJWK(relay.privateKey)), kid: 'edge-test' },
      }),
    );
    // as the services open it (storage/db.ts: pragmas, migrations)
    await openDatabase(client);
    try {
      // Requests in flight together: each of these starts before any of them has finished.
      const pragma = async (p: string) =>
        (await Promise.all([1, 2, 3, 4].map(() => client.execute(`PRAGMA ${p}`)))).map((r) => r.rows[0]?.[0]);
      assert.deepEqual(await pragma('synchronous'), [1, 1, 1, 1]);
      assert.deepEqual(await pragma('busy_timeout'), [5000, 5000, 5000, 5000]);
      assert.deepEqual(await pragma('journal_mode'), ['wal', 'wal', 'wal', 'wal']);
    } finally {
      client.close();
    }
  });
});
