// The Debian packages `npm start` and `npm test` need, checked (and installed as root) before
// anything uses them. The tools that do it live in scripts/bootstrap.mjs, which runs before the npm
// dependencies exist; this file names the packages and what proves each installed.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  BUILD_PACKAGES,
  type DebianPackage,
  ensureDebianPackages as ensureFrom,
  missingPackages as missingFrom,
} from '../bootstrap.mjs';

export { ensureNpmDeps, orExit, ROOT, SetupError, which } from '../bootstrap.mjs';

/**
 * The directory of the PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup, postgres), which
 * Debian keeps off PATH in /usr/lib/postgresql/<major>/bin: the newest major installed, or undefined.
 */
export function postgresBinDir(root = '/usr/lib/postgresql'): string | undefined {
  let majors: string[] = [];
  try {
    majors = readdirSync(root).filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, 'bin', 'initdb')));
  } catch {
    return undefined;
  }
  majors.sort((a, b) => Number(b) - Number(a));
  return majors[0] === undefined ? undefined : join(root, majors[0], 'bin');
}

/** Debian's multiarch library directory on this machine. */
const LIB = `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`;

/**
 * What each Debian package must provide for us to call it installed: binaries on PATH and/or files
 * (or, where neither has a fixed name, a `found` check).
 * Checking what we use (rather than dpkg state) also accepts tools installed some other way.
 */
export const DEBIAN_PACKAGES: Record<string, DebianPackage> = {
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
  // node-gyp builds pkcs11js (the PKCS#11 addon) during `npm ci`: build-essential, python3
  ...BUILD_PACKAGES,
};

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

/** Names of the given packages whose binaries or files are missing. */
export function missingPackages(names: string[]): string[] {
  return missingFrom(names, DEBIAN_PACKAGES);
}

/**
 * Installs missing Debian packages with apt-get when running as root; otherwise throws a
 * SetupError naming the packages and the command to run.
 */
export function ensureDebianPackages(names: string[]): string[] {
  return ensureFrom(names, DEBIAN_PACKAGES);
}
