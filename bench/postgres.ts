// A throwaway PostgreSQL server for the bench's signer-on-PostgreSQL figures: a fresh cluster on a
// free 127.0.0.1 port in a temporary directory, with PostgreSQL's durable defaults (fsync on,
// synchronous_commit on: every commit flushed, as the signer's libSQL file is with
// synchronous=FULL), unlike the test harness's cluster, which turns fsync off for speed.
// PostgreSQL refuses to run as root: as root, every server command runs as the `postgres` user.
import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../harness/ports.ts';
import { postgresBinDir } from '../scripts/lib/ensure.ts';

export interface BenchPostgres {
  /** postgres://postgres@127.0.0.1:PORT/edgeca (trust on loopback: a throwaway server) */
  url: string;
  /** the postmaster; its backends are its children */
  pid: number;
  stop(): void;
}

const isRoot = process.getuid?.() === 0;

/** Why the bench cannot start PostgreSQL here, or undefined when it can. */
export function postgresMissing(): string | undefined {
  if (!postgresBinDir()) return 'PostgreSQL is not installed (apt-get install -y postgresql)';
  return undefined;
}

export async function startBenchPostgres(): Promise<BenchPostgres> {
  const bin = postgresBinDir();
  if (!bin) throw new Error(postgresMissing());
  const asOwner = (cmd: string, args: string[]) =>
    execFileSync(
      isRoot ? 'runuser' : join(bin, cmd),
      isRoot ? ['-u', 'postgres', '--', join(bin, cmd), ...args] : args,
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 120_000,
        cwd: '/',
      },
    );
  const root = mkdtempSync(join(tmpdir(), 'edgeca-bench-pg-'));
  const owner = isRoot
    ? {
        uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()),
        gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()),
      }
    : undefined;
  if (owner) chownSync(root, owner.uid, owner.gid);
  const data = join(root, 'data');
  const port = await freePort();
  const stop = () => {
    try {
      asOwner('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']);
    } catch {
      // not running
    }
    rmSync(root, { recursive: true, force: true });
  };
  try {
    asOwner('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8']);
    const conf = join(data, 'postgresql.auto.conf');
    writeFileSync(
      conf,
      `listen_addresses = '127.0.0.1'\nport = ${port}\nunix_socket_directories = '${root}'\nmax_connections = 60\n`,
    );
    if (owner) chownSync(conf, owner.uid, owner.gid);
    asOwner('pg_ctl', ['-D', data, '-l', join(root, 'server.log'), '-w', '-t', '60', 'start']);
    asOwner('psql', ['-h', root, '-p', String(port), '-U', 'postgres', '-qAtc', 'CREATE DATABASE edgeca']);
    const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return { url: `postgres://postgres@127.0.0.1:${port}/edgeca`, pid, stop };
  } catch (e) {
    stop();
    throw e;
  }
}
