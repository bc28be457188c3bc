// The real `edgeca` command (bin/edgeca.mjs) as a child process: every command, discovered from
// the CLI's own help, answers a mistake in its command line with one line naming it and the usage,
// exit status 2, never a stack trace; and `edgeca eab` changes the edge database only through the
// edge's stores, each change in the change log.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createClient } from '@libsql/client';
import { MIGRATIONS } from '../edge/storage/migrations.ts';

const REPO = resolve(import.meta.dirname, '..');
const CLI = join(REPO, 'bin', 'edgeca.mjs');
const dir = mkdtempSync(join(tmpdir(), 'edgeca-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `edgeca ...args` in a directory of its own (no dev endpoints.json), with no EDGECA_* set. */
function edgeca(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<Run> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !k.startsWith('EDGECA_') && k !== 'NODE_TEST_CONTEXT') env[k] = v;
  return new Promise((done) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: opts.cwd ?? dir, env: { ...env, ...opts.env }, timeout: 120_000 },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? -1) : 0;
        done({ code: typeof code === 'number' ? code : -1, stdout, stderr });
      },
    );
  });
}

/**
 * The commands of an area, read from its --help: names in its usage lines (`edgeca edge serve`)
 * and the lowercase words opening each two-space-indented line or `|` segment (`token create`,
 * `renewals run`). An area with none is a command itself (`edgeca status`).
 */
function commandsIn(area: string, help: string): string[] {
  const found = new Set<string>();
  for (const m of help.matchAll(new RegExp(`edgeca ${area} ([a-z][a-z-]*)`, 'g'))) found.add(m[1]!);
  for (const line of help.split('\n')) {
    if (!/^ {2}[a-z]/.test(line)) continue;
    for (const seg of line.trim().split(' | ')) {
      const m = /^([a-z][a-z-]*)(?: ([a-z][a-z-]*))?(?=\s|$)/.exec(seg);
      if (m) found.add(m[2] && area === 'admin' ? `${m[1]} ${m[2]}` : m[1]!);
    }
  }
  return [...found];
}

/** Runs `fn` over `items`, at most `n` at a time (the machine is small and shared). */
async function pool<T>(items: T[], n: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

function assertUsageError(r: Run, what: string, line: RegExp): void {
  const [first, second] = r.stderr.split('\n');
  assert.equal(r.code, 2, `${what}: exit status 2 (stderr: ${r.stderr.slice(0, 400)})`);
  assert.match(first ?? '', line, `${what}: the first line names the mistake`);
  assert.match(second ?? '', /^usage: edgeca /, `${what}: the usage follows`);
  assert.doesNotMatch(r.stderr, /\n\s+at |ERR_PARSE_ARGS|TypeError|node:internal/, `${what}: no stack trace`);
  assert.equal(r.stdout, '', `${what}: nothing on stdout`);
}

describe('every edgeca command', { timeout: 600_000 }, () => {
  let commands: string[][] = [];
  before(async () => {
    const top = await edgeca(['--help']);
    assert.equal(top.code, 0);
    const areas = [...top.stdout.matchAll(/^ {2}edgeca ([a-z-]+)/gm)].map((m) => m[1]!);
    for (const area of areas) {
      const h = await edgeca([area, '--help']);
      assert.equal(h.code, 0, `edgeca ${area} --help: ${h.stderr}`);
      const cmds = commandsIn(area, h.stdout);
      commands.push(...(cmds.length ? cmds.map((c) => [area, ...c.split(' ')]) : [[area]]));
    }
    commands = commands.filter((c, i) => commands.findIndex((d) => d.join(' ') === c.join(' ')) === i);
  });

  it('are all found in the help (the discovery itself works)', () => {
    const names = commands.map((c) => c.join(' '));
    for (const want of [
      'signer init',
      'signer audit-verify',
      'edge serve',
      'dev doh-bridge',
      'eab create',
      'eab revoke',
      'admin token create',
      'admin eab update',
      'admin renewals run',
      'admin renew-now',
      'status',
      'validator serve',
      'validator public-key',
    ])
      assert.ok(names.includes(want), `${want} among ${names.join(', ')}`);
    assert.ok(names.length >= 45, `${names.length} commands`);
  });

  it('answer an unknown option with one line naming it, the usage and exit status 2', async () => {
    const failures: string[] = [];
    await pool(commands, 2, async (cmd) => {
      const r = await edgeca([...cmd, '--no-such-option']);
      try {
        assertUsageError(r, cmd.join(' '), /^edgeca [a-z -]+: unknown option --no-such-option$/);
      } catch (e) {
        failures.push((e as Error).message);
      }
    });
    assert.deepEqual(failures, []);
  });

  const mistakes: [string, string[], RegExp][] = [
    ['an option without its value', ['eab', 'create', '--name'], /: option --name needs a value$/],
    ['a value for a flag', ['eab', 'list', '--json=yes'], /: option --json takes no value$/],
    ['a bad --max-accounts', ['eab', 'create', '--max-accounts', 'lots'], /--max-accounts must be a number/],
    ['a stray argument', ['eab', 'list', 'extra'], /: unexpected argument "extra"$/],
    [
      'a bad --count',
      ['admin', 'ratelimit', 'set', 'newOrdersPerAccount', '--count', 'ten'],
      /--count must be/,
    ],
    ['a bad --window', ['admin', 'ratelimit', 'set', 'x', '--count', '1', '--window', 'soon'], /--window/],
    ['a bad --scope', ['admin', 'token', 'create', '--scope', 'root'], /--scope must be read or write$/],
    [
      'an option without its value (admin)',
      ['admin', 'policy', 'list', '--url'],
      /option --url needs a value/,
    ],
    ['a bad --key-type', ['signer', 'init', '--dev', '--key-type', 'DSA'], /--key-type must be one of/],
    ['a missing --config', ['signer', 'crl'], /--config is required$/],
    [
      'a bad --port',
      ['validator', 'serve', '--signer-config', 'x.json', '--port', '99999'],
      /--port must be/,
    ],
    ['an unknown command', ['eab', 'rotate'], /: unknown command "rotate"$/],
    ['an edge without its relay key', ['edge', 'serve'], /EDGECA_RELAY_KEY/],
  ];
  for (const [what, args, line] of mistakes) {
    it(`answer ${what} with one line and the usage, exit status 2`, async () => {
      assertUsageError(await edgeca(args), args.join(' '), line);
    });
  }
});

describe('edgeca eab on a libSQL file', { timeout: 120_000 }, () => {
  const dbUrl = `file:${join(dir, 'edge.db')}`;
  const rows = async (sql: string) => {
    const c = createClient({ url: dbUrl });
    try {
      return (await c.execute(sql)).rows;
    } finally {
      c.close();
    }
  };

  it('creates a key through the store: the key, its settings and a change-log entry by "cli"', async () => {
    const r = await edgeca([
      'eab',
      'create',
      '--db',
      dbUrl,
      '--name',
      'fleet',
      '--max-accounts',
      '25',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const { kid, hmacKey } = JSON.parse(r.stdout) as { kid: string; hmacKey: string };
    const [key] = await rows(`SELECT name, max_accounts, hmac_key FROM eab_keys WHERE kid = '${kid}'`);
    assert.equal(key?.name, 'fleet');
    assert.equal(key?.max_accounts, 25);
    assert.equal(key?.hmac_key, hmacKey);
    assert.equal((await rows(`SELECT kid FROM eab_key_settings WHERE kid = '${kid}'`)).length, 1);
    const log = await rows(
      `SELECT token_id, action, target, after FROM admin_changes WHERE target = 'eab:${kid}'`,
    );
    assert.equal(log.length, 1);
    assert.equal(log[0]?.token_id, 'cli');
    assert.equal(log[0]?.action, 'eab.create');
    assert.doesNotMatch(
      String(log[0]?.after),
      new RegExp(hmacKey),
      'the change log never holds the HMAC key',
    );
    assert.equal(JSON.parse(String(log[0]?.after)).maxAccounts, 25);
  });

  it('creates the database file mode 0600', () => {
    assert.equal(statSync(join(dir, 'edge.db')).mode & 0o777, 0o600);
  });

  it('revokes a key through the store, with its change-log entry', async () => {
    const made = JSON.parse((await edgeca(['eab', 'create', '--db', dbUrl, '--json'])).stdout) as {
      kid: string;
    };
    const r = await edgeca(['eab', 'revoke', made.kid, '--db', dbUrl]);
    assert.equal(r.code, 0, r.stderr);
    const log = await rows(
      `SELECT token_id, action FROM admin_changes WHERE target = 'eab:${made.kid}' ORDER BY id`,
    );
    assert.deepEqual(
      log.map((x) => `${x.token_id} ${x.action}`),
      ['cli eab.create', 'cli eab.revoke'],
    );
    const again = await edgeca(['eab', 'revoke', made.kid, '--db', dbUrl]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /no active key/);
  });

  it('lists keys with the accounts they bound and may bind', async () => {
    const r = await edgeca(['eab', 'list', '--db', dbUrl, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const keys = JSON.parse(r.stdout) as {
      name: string;
      maxAccounts: number | null;
      boundAccounts: number;
    }[];
    const fleet = keys.find((k) => k.name === 'fleet');
    assert.deepEqual([fleet?.boundAccounts, fleet?.maxAccounts], [0, 25]);
  });
});

describe('edgeca eab on the dev edge local D1 (npm start on workerd)', { timeout: 180_000 }, () => {
  const work = join(dir, 'workerd-dev');
  const persist = join(work, 'wrangler-state');
  const wrangler = (file: string) =>
    new Promise<string>((done, fail) =>
      execFile(
        process.execPath,
        [
          join(REPO, 'node_modules', 'wrangler', 'bin', 'wrangler.js'),
          ...['d1', 'execute', 'DB', '--local', '-c', 'wrangler.toml', '--persist-to', persist, '--json'],
          ...['--file', file],
        ],
        { cwd: REPO, env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: 'false' }, timeout: 60_000 },
        (err, stdout, stderr) => (err ? fail(new Error(stderr || err.message)) : done(stdout)),
      ),
    );
  before(async () => {
    // The schema the edge writes on its first request under wrangler dev, and the endpoints.json
    // npm start writes when it runs the edge on workerd.
    mkdirSync(join(work, '.edgeca', 'dev'), { recursive: true });
    const schema = join(work, 'schema.sql');
    writeFileSync(schema, `${MIGRATIONS.flatMap((m) => m.statements).join(';\n')};\n`);
    await wrangler(schema);
    writeFileSync(
      join(work, '.edgeca', 'dev', 'endpoints.json'),
      JSON.stringify({ edgeRuntime: 'workerd', d1PersistDir: persist }),
    );
  });

  it('creates a key through the store, with its change-log entry', async () => {
    const r = await edgeca(['eab', 'create', '--name', 'on-d1', '--json'], { cwd: work });
    assert.equal(r.code, 0, r.stderr);
    const { kid } = JSON.parse(r.stdout) as { kid: string };
    const q = join(work, 'q.sql');
    writeFileSync(
      q,
      `SELECT name, max_accounts FROM eab_keys WHERE kid = '${kid}'; SELECT token_id, action FROM admin_changes WHERE target = 'eab:${kid}';`,
    );
    const [keys, log] = JSON.parse(await wrangler(q)) as { results: Record<string, unknown>[] }[];
    assert.deepEqual(keys?.results, [{ name: 'on-d1', max_accounts: 1 }]);
    assert.deepEqual(log?.results, [{ token_id: 'cli', action: 'eab.create' }]);
    const listed = await edgeca(['eab', 'list', '--json'], { cwd: work });
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal((JSON.parse(listed.stdout) as { kid: string }[])[0]?.kid, kid);
    const revoked = await edgeca(['eab', 'revoke', kid], { cwd: work });
    assert.equal(revoked.code, 0, revoked.stderr);
  });
});
