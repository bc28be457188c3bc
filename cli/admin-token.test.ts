// The admin CLI takes its token from a file (--token-file, EDGECA_ADMIN_TOKEN_FILE) so it never
// appears on a command line; --token still works but warns on stderr. Run as the real CLI
// (bin/edgeca.mjs) against a real edge on loopback.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exportJWK, generateKeyPair } from 'jose';
import { defaultEdgeConfig } from '../edge/config.ts';
import { type RunningEdge, startNodeEdge } from '../edge/main/node.ts';

const CLI = join(resolve(import.meta.dirname, '..'), 'bin', 'edgeca.mjs');
const dir = mkdtempSync(join(tmpdir(), 'edgeca-token-'));
let edge: RunningEdge;
let token: string;
let tokenFile: string;

function admin(args: string[], env: Record<string, string> = {}) {
  return edgeca(['admin', 'policy', 'list', '--url', `${edge.url}/admin`, ...args], env);
}

function edgeca(args: string[], env: Record<string, string> = {}) {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !k.startsWith('EDGECA_') && k !== 'NODE_TEST_CONTEXT') base[k] = v;
  return new Promise<{ code: number; stdout: string; stderr: string }>((done) =>
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: dir, env: { ...base, ...env }, timeout: 60_000 },
      (err, stdout, stderr) =>
        done({ code: err ? Number((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    ),
  );
}

before(async () => {
  const relay = await generateKeyPair('ES256', { extractable: true });
  edge = await startNodeEdge(
    defaultEdgeConfig({
      baseUrl: 'http://127.0.0.1:1',
      dbUrl: `file:${join(dir, 'edge.db')}`,
      signerUrl: 'http://127.0.0.1:9',
      relayKeyJwk: { ...(await exportJWK(relay.privateKey)), kid: 'edge-test' },
    }),
    { log: () => {} },
  );
  const { admin: store } = await edge.services.stores();
  const t = await store.newToken('cli-test', 'read');
  await store.commit([t.stmt], {
    tokenId: 'cli',
    action: 'token.create',
    target: 't',
    before: null,
    after: null,
  });
  token = t.token;
  tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
});
after(async () => {
  await edge?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the admin CLI token', { timeout: 120_000 }, () => {
  it('is read from --token-file, with nothing on stderr', async () => {
    const r = await admin(['--token-file', tokenFile]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
  });

  it('is read from the file EDGECA_ADMIN_TOKEN_FILE names', async () => {
    const r = await admin([], { EDGECA_ADMIN_TOKEN_FILE: tokenFile });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
  });

  it('given with --token works, with a warning on stderr that it is visible on the command line', async () => {
    const r = await admin(['--token', token]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /^edgeca admin: warning: --token puts the admin token on the command line.*--token-file/,
    );
    assert.doesNotMatch(r.stderr, new RegExp(token), 'the warning does not repeat the token');
  });

  it('in a file other users can read works, with a warning naming the fix', async () => {
    const loose = join(dir, 'loose-token');
    writeFileSync(loose, token);
    chmodSync(loose, 0o644);
    const r = await admin(['--token-file', loose]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`can be read by other users; chmod 600 ${loose}`));
  });

  const mistakes: [string, string[], RegExp][] = [
    ['a missing file', ['--token-file', join(dir, 'nope')], /--token-file: cannot read .*nope \(ENOENT\)/],
    ['an empty file', ['--token-file', '/dev/null'], /--token-file: \/dev\/null is empty/],
    [
      'both --token and --token-file',
      ['--token', 'x', '--token-file', 'y'],
      /give --token-file or --token, not both/,
    ],
  ];
  for (const [what, args, line] of mistakes) {
    it(`refuses ${what} with one line and the usage, exit status 2`, async () => {
      const r = await admin(args);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr.split('\n')[0] ?? '', line);
      assert.match(r.stderr, /\nusage: edgeca admin/);
    });
  }
});

describe('the admin CLI with --max-accounts', { timeout: 120_000 }, () => {
  let writeFile: string;
  before(async () => {
    const { admin: store } = await edge.services.stores();
    const t = await store.newToken('cli-write', 'write');
    await store.commit([t.stmt], {
      tokenId: 'cli',
      action: 'token.create',
      target: 't',
      before: null,
      after: null,
    });
    writeFile = join(dir, 'write-token');
    writeFileSync(writeFile, t.token, { mode: 0o600 });
  });
  const run = (...args: string[]) =>
    edgeca(['admin', 'eab', ...args, '--url', `${edge.url}/admin`, '--token-file', writeFile, '--json']);

  it('creates a key binding several accounts, raises it to unlimited, and refuses a bad value', async () => {
    const made = await run('create', '--name', 'fleet', '--max-accounts', '7');
    assert.equal(made.code, 0, made.stderr);
    const key = JSON.parse(made.stdout) as { kid: string; maxAccounts: number | null };
    assert.equal(key.maxAccounts, 7);
    const upd = await run('update', key.kid, '--max-accounts', 'unlimited');
    assert.equal(upd.code, 0, upd.stderr);
    assert.equal((JSON.parse(upd.stdout) as { maxAccounts: number | null }).maxAccounts, null);
    const bad = await run('create', '--max-accounts', '0');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^edgeca admin: --max-accounts must be a number from 1/);
  });
});
