// Helpers for tests that drive real binaries (openssl, certbot, lego, pebble): fail with a message
// that says which Debian package is missing, and check certificate chains with `openssl verify`
// rather than with our own code, so a chain we build wrongly cannot pass by agreeing with itself.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { which } from '../../scripts/bootstrap.mjs';

/** Full path of `name` on PATH, or undefined. */
export function findTool(name: string): string | undefined {
  return which(name);
}

/** Path of binary `name`; throws naming the Debian package to install when it is missing. */
export function requireTool(name: string, debPackage: string): string {
  const found = findTool(name);
  if (!found) {
    throw new Error(
      `${name} is not installed: install the Debian package "${debPackage}" ` +
        `(apt-get install -y ${debPackage}), or run \`npm test\`, which installs it when run as root`,
    );
  }
  return found;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a binary without a shell, bounded by timeoutMs; never throws on a non-zero exit. */
export function runTool(
  file: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; input?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      {
        env: opts.env ?? process.env,
        cwd: opts.cwd,
        timeout: opts.timeoutMs ?? 60_000,
        maxBuffer: 16 * 1024 * 1024,
        encoding: 'utf8',
      },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') {
          // not an exit status: the binary did not start, or it was killed by the timeout
          reject(new Error(`${file} ${args.join(' ')}: ${err.message}\n${stderr}`));
          return;
        }
        resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The certificates of a PEM bundle, each as its own PEM block, in order. */
export function splitPemChain(chainPem: string): string[] {
  return chainPem.match(PEM_BLOCK) ?? [];
}

/**
 * Verifies a PEM chain (leaf first, then intermediates) up to the root in rootFile with
 * `openssl verify -CAfile root -untrusted intermediates leaf`; throws with openssl's output.
 */
export async function verifyChain(
  chainPem: string,
  rootFile: string,
  opts: { purpose?: 'sslserver' | 'sslclient'; attime?: Date } = {},
): Promise<void> {
  const openssl = requireTool('openssl', 'openssl');
  const certs = splitPemChain(chainPem);
  const [leaf, ...intermediates] = certs;
  if (!leaf) throw new Error('verifyChain: no certificate in the chain');
  const dir = mkdtempSync(join(tmpdir(), 'edgeca-verify-'));
  try {
    const leafFile = join(dir, 'leaf.pem');
    writeFileSync(leafFile, `${leaf}\n`);
    const args = ['verify', '-CAfile', rootFile];
    if (intermediates.length > 0) {
      const interFile = join(dir, 'intermediates.pem');
      writeFileSync(interFile, `${intermediates.join('\n')}\n`);
      args.push('-untrusted', interFile);
    }
    if (opts.purpose) args.push('-purpose', opts.purpose);
    if (opts.attime) args.push('-attime', String(Math.floor(opts.attime.getTime() / 1000)));
    args.push(leafFile);
    const r = await runTool(openssl, args, { timeoutMs: 30_000 });
    if (r.code !== 0 || !/: OK\s*$/.test(r.stdout)) {
      throw new Error(`openssl verify failed (exit ${r.code}):\n${r.stdout}${r.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
