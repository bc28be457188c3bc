// Shared by `npm start` and `npm test`: make sure the npm dependencies and the Debian packages the
// project needs are present before anything imports them. Plain Node ESM with no dependencies, so
// it runs on a fresh clone before node_modules exists.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, statSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (two levels above this file). */
export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** An error whose message is meant for the person at the terminal; the scripts print it and exit 1. */
export class SetupError extends Error {
  constructor(message) {
    super(message);
    this.name = 'SetupError';
  }
}

/**
 * The directory of the PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup, postgres), which
 * Debian keeps off PATH in /usr/lib/postgresql/<major>/bin: the newest major installed, or undefined.
 */
export function postgresBinDir(root = '/usr/lib/postgresql') {
  let majors = [];
  try {
    majors = readdirSync(root).filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, 'bin', 'initdb')));
  } catch {
    return undefined;
  }
  majors.sort((a, b) => Number(b) - Number(a));
  return majors[0] === undefined ? undefined : join(root, majors[0], 'bin');
}

/**
 * What each Debian package must provide for us to call it installed: binaries on PATH and/or files
 * (or, where neither has a fixed name, a `found` check).
 * Checking what we use (rather than dpkg state) also accepts tools installed some other way.
 */
/** Debian's multiarch library directory on this machine. */
const LIB = `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`;

export const DEBIAN_PACKAGES = {
  softhsm2: { bins: ['softhsm2-util'], files: ['/usr/lib/softhsm/libsofthsm2.so'] },
  opensc: { bins: ['pkcs11-tool'], files: [] },
  // The second PKCS#11 module the HSM tests run against: a TPM 2.0 (tpm2-pkcs11) simulated by
  // swtpm, reached directly or through the tpm2-abrmd resource manager on a session D-Bus.
  swtpm: { bins: ['swtpm'], files: [] },
  'swtpm-tools': { bins: ['swtpm_setup'], files: [] },
  'tpm2-tools': { bins: ['tpm2_getcap', 'tpm2_getrandom', 'tpm2_dictionarylockout'], files: [] },
  'libtpm2-pkcs11-1': { bins: [], files: [`${LIB}/pkcs11/libtpm2_pkcs11.so`] },
  'libtpm2-pkcs11-tools': { bins: ['tpm2_ptool'], files: [] },
  'libtss2-tcti-swtpm0': { bins: [], files: [`${LIB}/libtss2-tcti-swtpm.so.0`] },
  'tpm2-abrmd': { bins: [], files: ['/usr/sbin/tpm2-abrmd'] },
  'libtss2-tcti-tabrmd0': { bins: [], files: [`${LIB}/libtss2-tcti-tabrmd.so.0`] },
  dbus: { bins: ['dbus-daemon'], files: [] },
  pebble: { bins: ['pebble', 'pebble-challtestsrv'], files: [] },
  certbot: { bins: ['certbot'], files: [] },
  lego: { bins: ['lego'], files: [] },
  dnsutils: { bins: ['dig'], files: [] },
  openssl: { bins: ['openssl'], files: [] },
  chromium: { bins: ['chromium'], files: [] },
  // the signer's shared store in the tests: a throwaway server (and a hot standby) per test run
  postgresql: { bins: [], files: [], found: () => postgresBinDir() !== undefined },
  // systemd-analyze verify and systemd-sysusers check packaging/systemd (no systemd needs to run)
  systemd: { bins: ['systemd-analyze', 'systemd-sysusers'], files: [] },
  // web servers that get their own certificates from edgeca (test/interop/caddy, mod-md)
  caddy: { bins: ['caddy'], files: [] },
  apache2: { bins: [], files: ['/usr/sbin/apache2'] },
  'libapache2-mod-md': { bins: [], files: ['/usr/lib/apache2/modules/mod_md.so'] },
  // node-gyp builds pkcs11js (the PKCS#11 addon) during `npm ci`
  'build-essential': { bins: ['make', 'g++'], files: [] },
  python3: { bins: ['python3'], files: [] },
};

/** What `npm ci` needs to compile native addons; installed only when an npm install is due. */
export const BUILD_PACKAGES = ['build-essential', 'python3'];

/** The TPM 2.0 test setup (docs/hsm.md). */
export const TPM_PACKAGES = [
  'swtpm',
  'swtpm-tools',
  'tpm2-tools',
  'libtpm2-pkcs11-1',
  'libtpm2-pkcs11-tools',
  'libtss2-tcti-swtpm0',
  'tpm2-abrmd',
  'libtss2-tcti-tabrmd0',
  'dbus',
];

/** Packages `npm start` needs (the signer's HSM) and those `npm test` needs (plus the interop tools). */
export const START_PACKAGES = ['softhsm2', 'opensc'];
export const TEST_PACKAGES = [
  'softhsm2',
  'opensc',
  ...TPM_PACKAGES,
  'pebble',
  'certbot',
  'lego',
  'dnsutils',
  'openssl',
  'chromium',
  'postgresql',
  'systemd',
  'caddy',
  'apache2',
  'libapache2-mod-md',
];

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
  ensureDebianPackages(BUILD_PACKAGES);
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

/** Names of the given packages whose binaries or files are missing. */
export function missingPackages(names) {
  return names.filter((name) => {
    const want = DEBIAN_PACKAGES[name];
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
export function ensureDebianPackages(names) {
  const missing = missingPackages(names);
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
  const still = missingPackages(missing);
  if (still.length > 0) throw new SetupError(`installed ${still.join(', ')} but its files are still missing`);
  return missing;
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
