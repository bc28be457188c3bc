// The `edgeca` command as an operator runs it against a test system: a child process of this
// Node, bounded in time, and after login() an admin write token in a 0600 file the CLI reads
// (EDGECA_ADMIN_TOKEN_FILE), never on a command line, with the admin URL and the CA to trust.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { System } from './system.ts';

const CLI = join(import.meta.dirname, '../../bin/edgeca.mjs');
const run = promisify(execFile);

export class OperatorCli {
  /** what the CLI's environment adds to this process's */
  readonly env: Record<string, string> = {};
  constructor(
    readonly sys: Pick<System, 'dbUrl' | 'dir' | 'edgeUrl' | 'caFile'>,
    readonly timeoutMs = 120_000,
  ) {}

  /** `edgeca ...args`: its stdout; it must not have been given a token on the command line. */
  async run(...args: string[]): Promise<string> {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], {
      timeout: this.timeoutMs,
      env: { ...process.env, ...this.env },
    });
    assert.doesNotMatch(stderr, /--token puts the admin token on the command line/);
    return stdout;
  }

  /** `edgeca admin ...args` */
  admin(...args: string[]): Promise<string> {
    return this.run('admin', ...args);
  }

  /** A write token made straight in the edge database (an operator's first), then used by every admin call. */
  async login(): Promise<void> {
    const { token } = JSON.parse(
      await this.admin('token', 'create', '--scope', 'write', '--db', this.sys.dbUrl, '--json'),
    ) as { token: string };
    const file = join(this.sys.dir, 'admin-token');
    writeFileSync(file, token, { mode: 0o600 });
    this.env.EDGECA_ADMIN_TOKEN_FILE = file;
    this.env.EDGECA_ADMIN_URL = `${this.sys.edgeUrl}/admin`;
    this.env.EDGECA_ADMIN_CA_FILE = this.sys.caFile;
  }
}
