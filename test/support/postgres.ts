// Throwaway PostgreSQL servers for tests: a primary on a free 127.0.0.1 port in a fresh temporary
// directory, and on request a hot standby made from it by `pg_basebackup -R` (streaming
// replication), which a test can promote after killing the primary with SIGKILL. Never Debian's
// default cluster, never port 5432. PostgreSQL refuses to run as root, so as root every server
// command runs as the `postgres` user (runuser) on a directory it owns.
//
// Nothing outlives the test process: clusters are stopped on exit, and a small detached watchdog
// stops them and removes the directory if the process dies without running its exit hooks
// (SIGKILL, a runner timeout).
//
// Tests skip when PostgreSQL is not installed, saying so loudly on stderr; under CI=true they fail
// instead (CI is root on Debian and `npm test` installs the `postgresql` package).
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../harness/ports.ts';
import { postgresBinDir } from '../../scripts/lib/ensure.ts';
import { runTool } from './tools.ts';

const isRoot = process.getuid?.() === 0;

let owner: { uid: number; gid: number } | undefined;
/** Files the tests write into a data directory belong to the server's user, like the rest. */
function own(path: string): void {
  if (!isRoot) return;
  owner ??= {
    uid: Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim()),
    gid: Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim()),
  };
  chownSync(path, owner.uid, owner.gid);
}

function writeOwned(path: string, text: string): void {
  writeFileSync(path, text);
  own(path);
}

/** Why PostgreSQL tests cannot run here, or undefined when they can. */
export function postgresUnavailable(): string | undefined {
  if (!postgresBinDir()) {
    return 'PostgreSQL server binaries are not installed (apt-get install -y postgresql; `npm test` does it as root)';
  }
  if (isRoot && spawnSync('id', ['-u', 'postgres']).status !== 0) {
    return 'running as root but there is no `postgres` user to run the server as';
  }
  return undefined;
}

/**
 * The `skip` option for a PostgreSQL test: false when it can run. When it cannot, the reason is
 * printed loudly, and under CI (CI=true) this throws, so the suite fails rather than passes quietly.
 */
export function skipWithoutPostgres(
  why: string | undefined = postgresUnavailable(),
  env: NodeJS.ProcessEnv = process.env,
): string | false {
  if (!why) return false;
  if (env.CI === 'true') throw new Error(`PostgreSQL tests cannot run in CI: ${why}`);
  process.stderr.write(`\n#\n# SKIPPING PostgreSQL tests: ${why}\n#\n`);
  return `PostgreSQL unavailable: ${why}`;
}

function bin(name: string): string {
  const dir = postgresBinDir();
  if (!dir) throw new Error(postgresUnavailable());
  return join(dir, name);
}

/** A server command as the user that owns the data directories. */
async function asOwner(cmd: string, args: string[], timeoutMs = 120_000): Promise<string> {
  const [file, argv] = isRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  const r = await runTool(file, argv, { timeoutMs, cwd: '/' });
  if (r.code !== 0)
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.code}):\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

export interface PgServer {
  readonly name: string;
  readonly port: number;
  readonly dataDir: string;
  /** A URL for `user` on database `db` (no password: tests give it through the environment). */
  url(db: string, user?: string): string;
  /** Runs SQL as the superuser over the Unix socket; rows as `|`-separated lines. */
  psql(sql: string, db?: string): Promise<string>;
  /** SIGKILL to the postmaster (its backends follow by themselves); resolves once it is gone. */
  kill9(): Promise<void>;
  /** `pg_ctl promote`: a standby becomes a primary. */
  promote(): Promise<void>;
  stop(): Promise<void>;
  /**
   * `pg_ctl start`. socketOnly: no TCP listener, only the Unix socket psql() uses: a server killed
   * earlier can be read as it was left, without a client on 127.0.0.1 reaching it (e.g. the old
   * primary after its standby was promoted, which would otherwise be a second primary).
   */
  start(o?: { socketOnly?: boolean }): Promise<void>;
  running(): boolean;
}

export interface PgHarness {
  readonly primary: PgServer;
  /**
   * A hot standby by `pg_basebackup -R`, started and streaming: of the first primary, or of `of`
   * (e.g. a promoted standby), on a free port or on `port` (e.g. the port of a primary that died,
   * so that clients' multi-host URLs still name every server).
   */
  addStandby(o?: { of?: PgServer; port?: number }): Promise<PgServer>;
  /** A role that logs in with a password (scram-sha-256 over TCP) and owns a new database. */
  createDatabase(db: string, owner?: { user: string; password: string }): Promise<void>;
  /** Stops every server and removes the directory. */
  destroy(): Promise<void>;
}

const live = new Set<{ dataDir: string; root: string }>();

function stopNowSync(dataDir: string): void {
  if (!existsSync(join(dataDir, 'postmaster.pid'))) return;
  const ctl = [bin('pg_ctl'), '-D', dataDir, '-m', 'immediate', '-w', 'stop'];
  const [file, argv] = isRoot
    ? ['runuser', ['-u', 'postgres', '--', ...ctl]]
    : [ctl[0] as string, ctl.slice(1)];
  spawnSync(file, argv, { stdio: 'ignore', timeout: 30_000 });
}

let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const c of live) {
      stopNowSync(c.dataDir);
      rmSync(c.root, { recursive: true, force: true });
    }
  });
}

/** A detached shell that outlives us only to stop our servers if we die without exit hooks. */
function watchdog(root: string): void {
  const ctl = `${bin('pg_ctl')} -m immediate -w stop -D`;
  const run = isRoot ? `runuser -u postgres -- ${ctl}` : ctl;
  const script = `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done
for d in "${root}"/*/; do [ -f "$d/postmaster.pid" ] && ${run} "$d" >/dev/null 2>&1; done
rm -rf "${root}"`;
  spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' }).unref();
}

function makeServer(name: string, root: string, port: number): PgServer {
  const dataDir = join(root, name);
  const entry = { dataDir, root };
  const pidOf = (): number | undefined => {
    try {
      return Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    } catch {
      return undefined;
    }
  };
  const alive = (pid: number | undefined): boolean => {
    if (!pid) return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  return {
    name,
    port,
    dataDir,
    url: (db, user = 'postgres') => `postgres://${user}@127.0.0.1:${port}/${db}`,
    async psql(sql, db = 'postgres') {
      const r = await runTool(
        bin('psql'),
        ['-h', root, '-p', String(port), '-U', 'postgres', '-d', db, '-v', 'ON_ERROR_STOP=1', '-qAtc', sql],
        { timeoutMs: 60_000 },
      );
      if (r.code !== 0) throw new Error(`psql on ${name}: ${r.stderr}`);
      return r.stdout.trim();
    },
    async kill9() {
      const pid = pidOf();
      if (!pid) throw new Error(`${name} is not running`);
      process.kill(pid, 'SIGKILL');
      for (let i = 0; i < 200 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
      if (alive(pid)) throw new Error(`${name}: postmaster ${pid} survived SIGKILL`);
    },
    async promote() {
      await asOwner(bin('pg_ctl'), ['-D', dataDir, '-w', '-t', '60', 'promote']);
    },
    async stop() {
      await asOwner(bin('pg_ctl'), ['-D', dataDir, '-m', 'fast', '-w', '-t', '60', 'stop']);
    },
    async start(o = {}) {
      live.add(entry);
      await asOwner(bin('pg_ctl'), [
        '-D',
        dataDir,
        '-l',
        join(root, `${name}.log`),
        ...(o.socketOnly ? ['-o', "-c listen_addresses=''"] : []),
        '-w',
        '-t',
        '60',
        'start',
      ]);
    },
    running: () => alive(pidOf()),
  };
}

/** Settings for a small, fast, throwaway server; durability against an OS crash is not needed. */
function serverConf(root: string, port: number): string {
  return `
listen_addresses = '127.0.0.1'
port = ${port}
unix_socket_directories = '${root}'
wal_level = replica
max_wal_senders = 4
hot_standby = on
fsync = off
full_page_writes = off
shared_buffers = 16MB
max_connections = 60
`;
}

/** Starts a primary in a fresh temporary directory on a free port. */
export async function startPostgres(): Promise<PgHarness> {
  const why = postgresUnavailable();
  if (why) throw new Error(why);
  hookExit();
  const root = mkdtempSync(join(tmpdir(), 'edgeca-pg-'));
  own(root);
  watchdog(root);
  const servers: PgServer[] = [];
  const destroy = async () => {
    for (const s of servers) stopNowSync(s.dataDir);
    for (const c of [...live]) if (c.root === root) live.delete(c);
    rmSync(root, { recursive: true, force: true });
  };
  try {
    const primary = makeServer('primary', root, await freePort());
    servers.push(primary);
    await asOwner(bin('initdb'), [
      '-D',
      primary.dataDir,
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
      '--no-sync',
    ]);
    writeOwned(join(primary.dataDir, 'postgresql.auto.conf'), serverConf(root, primary.port));
    // The superuser over the socket and for replication; every other role with a password.
    writeOwned(
      join(primary.dataDir, 'pg_hba.conf'),
      [
        'local all all trust',
        'host replication postgres 127.0.0.1/32 trust',
        'host all postgres 127.0.0.1/32 trust',
        'host all all 127.0.0.1/32 scram-sha-256',
        '',
      ].join('\n'),
    );
    await primary.start();
    return {
      primary,
      async addStandby(o = {}) {
        const source = o.of ?? primary;
        const standby = makeServer(`standby${servers.length}`, root, o.port ?? (await freePort()));
        servers.push(standby);
        await asOwner(bin('pg_basebackup'), [
          '-h',
          '127.0.0.1',
          '-p',
          String(source.port),
          '-U',
          'postgres',
          '-D',
          standby.dataDir,
          '-R',
          '-X',
          'stream',
          // an immediate checkpoint: the default spread one made this take over a minute
          '--checkpoint=fast',
          '--no-sync',
        ]);
        // pg_basebackup -R appended primary_conninfo to postgresql.auto.conf (after any copied from
        // a source that was itself a standby once: the last one counts); only the port differs.
        const auto = join(standby.dataDir, 'postgresql.auto.conf');
        writeOwned(auto, readFileSync(auto, 'utf8').replace(/^port = \d+$/m, `port = ${standby.port}`));
        await standby.start();
        return standby;
      },
      async createDatabase(db, owner) {
        if (owner) {
          await primary.psql(
            `CREATE ROLE "${owner.user}" LOGIN PASSWORD '${owner.password.replaceAll("'", "''")}'`,
          );
        }
        // FILE_COPY: a third of the time of the default WAL_LOG for a small template.
        await primary.psql(
          `CREATE DATABASE "${db}"${owner ? ` OWNER "${owner.user}"` : ''} STRATEGY FILE_COPY`,
        );
      },
      destroy,
    };
  } catch (e) {
    await destroy();
    throw e;
  }
}
