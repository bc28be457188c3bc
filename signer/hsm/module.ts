// Loading a PKCS#11 module once per process. C_Initialize and C_Finalize are process-wide, so
// tokens opened on the same module share one initialisation, counted; the last close finalises.
// SoftHSM reads SOFTHSM2_CONF inside C_Initialize, so the variable is set just before it, and a
// second configuration cannot be used while the first is live.
import { existsSync, readFileSync } from 'node:fs';
import * as graphene from 'graphene-pk11';
// Default import on purpose: `import * as` leaves CKF_OS_LOCKING_OK undefined (see TESTING.md),
// and SoftHSM without OS locking crashes under concurrent signing.
import pkcs11js from 'pkcs11js';

/** The HSM is set up wrongly (module path, token label, PIN, token directory): an operator must fix it. */
export class HsmConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HsmConfigError';
  }
}

/** The CKR_* name of a PKCS#11 error, or undefined for any other error. */
export function ckr(e: unknown): string | undefined {
  const m = /CKR_[A-Z_]+/.exec(e instanceof Error ? e.message : String(e));
  return m?.[0];
}

/** Return values meaning the session, login, token or library is gone: reconnecting may cure them. */
const UNAVAILABLE = new Set([
  'CKR_SESSION_HANDLE_INVALID',
  'CKR_SESSION_CLOSED',
  'CKR_SESSION_COUNT',
  'CKR_DEVICE_REMOVED',
  'CKR_DEVICE_ERROR',
  'CKR_DEVICE_MEMORY',
  'CKR_TOKEN_NOT_PRESENT',
  'CKR_TOKEN_NOT_RECOGNIZED',
  'CKR_CRYPTOKI_NOT_INITIALIZED',
  'CKR_USER_NOT_LOGGED_IN',
  'CKR_OBJECT_HANDLE_INVALID',
  'CKR_KEY_HANDLE_INVALID',
  'CKR_SLOT_ID_INVALID',
  'CKR_GENERAL_ERROR',
  'CKR_FUNCTION_FAILED',
]);

export function isUnavailable(e: unknown): boolean {
  const code = ckr(e);
  return code !== undefined && UNAVAILABLE.has(code);
}

/** Login failures an automatic retry must never repeat: a real HSM locks the token after a few. */
export const PIN_ERRORS = new Set([
  'CKR_PIN_INCORRECT',
  'CKR_PIN_LOCKED',
  'CKR_PIN_EXPIRED',
  'CKR_PIN_INVALID',
  'CKR_PIN_LEN_RANGE',
]);

export interface LoadedModule {
  readonly path: string;
  readonly module: graphene.Module;
  readonly lib: pkcs11js.PKCS11;
  /** (re)initialises after C_Finalize elsewhere (an HSM restart seen as CKR_CRYPTOKI_NOT_INITIALIZED) */
  initialize(): void;
  release(): void;
}

interface Entry {
  module: graphene.Module;
  conf: string | undefined;
  refs: number;
}

const loaded = new Map<string, Entry>();

function tokendirOf(conf: string | undefined): string | undefined {
  if (!conf) return undefined;
  try {
    return /^\s*directories\.tokendir\s*=\s*(.+?)\s*$/m.exec(readFileSync(conf, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

function initialize(entry: Entry, path: string): void {
  if (entry.conf) process.env.SOFTHSM2_CONF = entry.conf;
  try {
    entry.module.initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  } catch (e) {
    if (ckr(e) === 'CKR_GENERAL_ERROR') {
      const conf = entry.conf ?? process.env.SOFTHSM2_CONF;
      const dir = tokendirOf(conf);
      throw new HsmConfigError(
        `C_Initialize of ${path} failed with CKR_GENERAL_ERROR. For SoftHSM this means its token directory ` +
          `${dir ? `"${dir}" ` : ''}(directories.tokendir in ${conf ?? 'the default softhsm2.conf'}) is missing or ` +
          'unreadable: create it or point SOFTHSM2_CONF / pkcs11.softhsmConf at the right config.',
        { cause: e },
      );
    }
    throw new HsmConfigError(`C_Initialize of ${path} failed: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Loads and initialises `path` (once per process), with SOFTHSM2_CONF = `softhsmConf` when given.
 * Each call must be paired with release().
 */
export function acquireModule(path: string, softhsmConf?: string): LoadedModule {
  if (!existsSync(path)) {
    throw new HsmConfigError(
      `PKCS#11 module ${path} does not exist: install it (SoftHSM: apt-get install softhsm2) or fix pkcs11.module`,
    );
  }
  if (softhsmConf !== undefined && !existsSync(softhsmConf)) {
    throw new HsmConfigError(`SoftHSM config ${softhsmConf} does not exist: fix pkcs11.softhsmConf`);
  }
  let entry = loaded.get(path);
  if (entry && entry.refs > 0 && softhsmConf !== undefined && entry.conf !== softhsmConf) {
    throw new HsmConfigError(
      `${path} is already initialised in this process with SOFTHSM2_CONF=${entry.conf ?? '(unset)'}; ` +
        `close the tokens opened with it before using ${softhsmConf}`,
    );
  }
  if (!entry) {
    let module: graphene.Module;
    try {
      module = graphene.Module.load(path);
    } catch (e) {
      throw new HsmConfigError(`cannot load PKCS#11 module ${path}: ${(e as Error).message}`, { cause: e });
    }
    entry = { module, conf: softhsmConf, refs: 0 };
    loaded.set(path, entry);
  }
  if (entry.refs === 0) {
    entry.conf = softhsmConf;
    initialize(entry, path);
  }
  entry.refs++;
  const e = entry;
  let released = false;
  return {
    path,
    module: e.module,
    lib: e.module.lib,
    initialize: () => initialize(e, path),
    release() {
      if (released) return;
      released = true;
      e.refs--;
      if (e.refs === 0) {
        try {
          e.module.finalize();
        } catch {
          // Already finalised (the library may have been reset underneath us): nothing to undo.
        }
      }
    },
  };
}
