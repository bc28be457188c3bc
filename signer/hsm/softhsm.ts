// A SoftHSM token for development and tests, in a directory of its own: a softhsm2.conf whose
// tokendir lies beside it, and one token initialised with softhsm2-util. softhsm2-util reads
// PINs only from its arguments or a terminal, so they go in argv (visible in the process list
// for the instant it runs: acceptable for a development token) and never into a log or error.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

const MODULE_CANDIDATES = [
  '/usr/lib/softhsm/libsofthsm2.so',
  '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/local/lib/softhsm/libsofthsm2.so',
  '/opt/homebrew/lib/softhsm/libsofthsm2.so',
];

/** The SoftHSM PKCS#11 module on this machine (Debian's path when none is found). */
export function defaultSoftHsmModule(): string {
  return MODULE_CANDIDATES.find((p) => existsSync(p)) ?? (MODULE_CANDIDATES[0] as string);
}

export interface SoftHsmToken {
  /** absolute path of the softhsm2.conf to set SOFTHSM2_CONF to */
  conf: string;
  /** the PKCS#11 module to load */
  module: string;
}

export async function createSoftHsmToken(opts: {
  dir: string;
  label: string;
  pin: string;
  soPin: string;
  module?: string;
}): Promise<SoftHsmToken> {
  const dir = resolve(opts.dir);
  const conf = join(dir, 'softhsm2.conf');
  const tokens = join(dir, 'tokens');
  const module = opts.module ?? defaultSoftHsmModule();
  for (const [what, pin] of [
    ['user PIN', opts.pin],
    ['SO PIN', opts.soPin],
  ] as const) {
    if (pin.length < 4 || pin.length > 255)
      throw new Error(`the SoftHSM ${what} must have 4 to 255 characters`);
  }
  await mkdir(tokens, { recursive: true, mode: 0o700 });
  await writeFile(
    conf,
    `# SoftHSM configuration written by edgeca for a development token\n` +
      `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`,
    { mode: 0o600 },
  );
  try {
    await run(
      'softhsm2-util',
      [
        '--init-token',
        '--free',
        '--label',
        opts.label,
        '--pin',
        opts.pin,
        '--so-pin',
        opts.soPin,
        '--module',
        module,
      ],
      { env: { ...process.env, SOFTHSM2_CONF: conf }, timeout: 60_000 },
    );
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string; stdout?: string };
    if (err.code === 'ENOENT') {
      throw new Error('softhsm2-util is not installed (apt-get install softhsm2)');
    }
    // execFile's message repeats the command line, PINs included: report only what the tool said.
    const said = `${err.stderr ?? ''}${err.stdout ?? ''}`
      .trim()
      .split(opts.pin)
      .join('***')
      .split(opts.soPin)
      .join('***');
    throw new Error(`softhsm2-util --init-token failed for token "${opts.label}": ${said || 'no output'}`);
  }
  return { conf, module };
}
