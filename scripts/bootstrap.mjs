// What `npm start`, `npm test`, `npm run build` and `npm run bench` run first: makes sure the npm
// dependencies are installed (`npm ci` when node_modules is missing or package-lock.json changed),
// then runs the TypeScript script (scripts/<name>.ts) through tsx, a devDependency, in this same
// process: its arguments, stdio, exit code and signals are this process's own (the supervisor of
// `npm start` gets the terminal's SIGINT and a SIGTERM sent to this pid).
//
//   node scripts/bootstrap.mjs start|test|build|bench|gen [args...]
//
// The one script in plain Node ESM with no dependencies, so it runs on a fresh clone before
// node_modules exists. It also holds the few tools that installing needs (finding a binary on PATH,
// installing Debian packages with apt-get: `npm ci` compiles the PKCS#11 addon), which
// scripts/lib/ensure.ts builds on for the packages the scripts need.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, realpathSync, statSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The repository root (one level above this file). */
export const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

/** An error whose message is meant for the person at the terminal; the scripts print it and exit 1. */
export class SetupError extends Error {
  constructor(message) {
    super(message);
    this.name = 'SetupError';
  }
}

/** Full path of an executable found on PATH, or undefined. */
export function which(name, pathEnv = process.env.PATH ?? '') {
  for (const dir of pathEnv.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

function log(message) {
  process.stderr.write(`[edgeca] ${message}\n`);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.error) throw new SetupError(`${cmd} ${args.join(' ')} could not start: ${r.error.message}`);
  return r.status ?? 1;
}

/**
 * What `npm ci` needs to compile native addons (node-gyp builds pkcs11js), installed only when an
 * npm install is due. Each Debian package is called installed when its binaries are on PATH and
 * its files exist (or its `found` check passes), which also accepts tools installed some other way.
 */
export const BUILD_PACKAGES = {
  'build-essential': { bins: ['make', 'g++'], files: [] },
  python3: { bins: ['python3'], files: [] },
};

/** Names of the given packages (described in `table`) whose binaries or files are missing. */
export function missingPackages(names, table = BUILD_PACKAGES) {
  return names.filter((name) => {
    const want = table[name];
    if (!want) throw new Error(`unknown package ${name}`);
    if (want.found && !want.found()) return true;
    return want.bins.some((b) => !which(b)) || want.files.some((f) => !existsSync(f));
  });
}

let aptUpdated = false;

function isRoot() {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/**
 * Installs missing Debian packages with apt-get when running as root (one `apt-get update`, one
 * `apt-get install`); otherwise throws a SetupError naming the packages and the command to run.
 */
export function ensureDebianPackages(names, table = BUILD_PACKAGES) {
  const missing = missingPackages(names, table);
  if (missing.length === 0) return [];
  const command = `apt-get update && apt-get install -y ${missing.join(' ')}`;
  if (!isRoot() || !which('apt-get')) {
    throw new SetupError(
      `missing Debian package(s): ${missing.join(', ')}\n` +
        `Install them as root, then run this again:\n  sudo sh -c '${command}'`,
    );
  }
  log(`installing Debian package(s): ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptUpdated) {
    if (run('apt-get', ['update'], { env }) !== 0) throw new SetupError('apt-get update failed');
    aptUpdated = true;
  }
  if (run('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { env }) !== 0) {
    throw new SetupError(`apt-get install ${missing.join(' ')} failed`);
  }
  const still = missingPackages(missing, table);
  if (still.length > 0) throw new SetupError(`installed ${still.join(', ')} but its files are still missing`);
  return missing;
}

/**
 * Runs `npm ci` when node_modules is missing or package-lock.json changed since the last install
 * (npm writes node_modules/.package-lock.json on every install).
 */
export function ensureNpmDeps(root = ROOT) {
  const lock = join(root, 'package-lock.json');
  const installed = join(root, 'node_modules', '.package-lock.json');
  let reason;
  if (!existsSync(join(root, 'node_modules'))) reason = 'node_modules is missing';
  else if (!existsSync(installed)) reason = 'node_modules was not installed by npm';
  else if (existsSync(lock) && statSync(lock).mtimeMs > statSync(installed).mtimeMs) {
    reason = 'package-lock.json is newer than node_modules';
  }
  if (!reason) return false;
  ensureDebianPackages(Object.keys(BUILD_PACKAGES));
  log(`${reason}: running npm ci`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const status = run(npm, ['ci', '--no-audit', '--no-fund'], { cwd: root });
  // No fallback to `npm install`: it would install a tree nobody reviewed. A lock that `npm ci`
  // refuses is a defect of the checkout, to be fixed there and committed.
  if (status !== 0) {
    throw new SetupError(
      `npm ci failed (exit ${status}). If it says the lock file is out of sync with package.json, ` +
        'run `npm install --package-lock-only`, review and commit package-lock.json, and run this again.',
    );
  }
  return true;
}

/** Runs a setup step; a SetupError becomes a clear message and exit code 1. */
export async function orExit(step) {
  try {
    return await step();
  } catch (err) {
    if (err instanceof SetupError) {
      process.stderr.write(`[edgeca] ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

/** The scripts this file runs: scripts/<name>.ts. */
export const SCRIPTS = ['start', 'test', 'build', 'bench', 'gen'];

async function main() {
  const [name, ...args] = process.argv.slice(2);
  if (!SCRIPTS.includes(name ?? '')) {
    process.stderr.write(`usage: node scripts/bootstrap.mjs ${SCRIPTS.join('|')} [args...]\n`);
    process.exit(2);
  }
  await orExit(() => ensureNpmDeps());
  // tsx's loader, as `node --import tsx` installs it: from here on .ts modules load.
  await import('tsx');
  const script = join(ROOT, 'scripts', `${name}.ts`);
  // The script reads its arguments as if it had been started itself: node scripts/<name>.ts ...
  process.argv = [process.argv[0] ?? process.execPath, script, ...args];
  await import(pathToFileURL(script).href);
}

function isEntry() {
  try {
    return realpathSync(resolve(process.argv[1] ?? '')) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}
// Run, not imported (scripts/lib/ensure.ts imports the tools above). Not awaited: the script
// imports this module in turn, and would wait forever for a module still waiting for it.
if (isEntry()) void main();
