// Loading a PKCS#11 module once per process. C_Initialize and C_Finalize are process-wide, so
// tokens opened on the same module share one initialisation, counted; the last close finalises.
// Modules read their settings from the environment when loaded or inside C_Initialize (SoftHSM:
// SOFTHSM2_CONF; tpm2-pkcs11: TPM2_PKCS11_TCTI, TPM2_PKCS11_STORE), so the given variables are
// set before both, and a second set of them cannot be used while the first is live.
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
  /** the variables set before C_Initialize, SOFTHSM2_CONF included */
  env: Record<string, string>;
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

const isSoftHsm = (path: string) => /softhsm/i.test(path);
const isTpm2 = (path: string) => /tpm2_pkcs11/i.test(path);

/** What a CKR_GENERAL_ERROR from C_Initialize usually means, for the modules we know. */
function initializeHint(path: string, env: Record<string, string>): string {
  if (isSoftHsm(path)) {
    const conf = env.SOFTHSM2_CONF ?? process.env.SOFTHSM2_CONF;
    const dir = tokendirOf(conf);
    return (
      `For SoftHSM this means its token directory ${dir ? `"${dir}" ` : ''}(directories.tokendir in ` +
      `${conf ?? 'the default softhsm2.conf'}) is missing or unreadable: create it or point SOFTHSM2_CONF / ` +
      'pkcs11.softhsmConf at the right config.'
    );
  }
  if (isTpm2(path)) {
    const tcti = env.TPM2_PKCS11_TCTI ?? process.env.TPM2_PKCS11_TCTI;
    return (
      `For tpm2-pkcs11 this means it cannot reach the TPM (TCTI ${tcti ? `"${tcti}"` : 'unset: it probes /dev/tpmrm0'}) ` +
      'or open its store (TPM2_PKCS11_STORE): check pkcs11.env, that the TPM or tpm2-abrmd is up, and that the ' +
      'store directory exists and is writable.'
    );
  }
  return "Check the module's own configuration (pkcs11.env) and that its device is reachable.";
}

/** What a failing call's code often means for a module we know, to append to its message ('' if nothing). */
export function failureHint(path: string, code: string | undefined): string {
  if (isTpm2(path) && (code === 'CKR_GENERAL_ERROR' || code === 'CKR_DEVICE_MEMORY')) {
    return (
      ' (with tpm2-pkcs11 this is often a TPM out of object memory: without a resource manager a TPM holds ' +
      '3 loaded objects, and each process keeps its keys loaded; run tpm2-abrmd or use /dev/tpmrm0, see docs/hsm.md)'
    );
  }
  return '';
}

/** Sets the module's variables in this process's environment. */
function applyEnv(env: Record<string, string>): void {
  for (const [k, v] of Object.entries(env)) process.env[k] = v;
}

function initialize(entry: Entry, path: string): void {
  applyEnv(entry.env);
  try {
    entry.module.initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  } catch (e) {
    const code = ckr(e);
    if (code === 'CKR_GENERAL_ERROR' || code === 'CKR_DEVICE_ERROR') {
      throw new HsmConfigError(
        `C_Initialize of ${path} failed with ${code}. ${initializeHint(path, entry.env)}`,
        {
          cause: e,
        },
      );
    }
    throw new HsmConfigError(`C_Initialize of ${path} failed: ${code ?? oneLine(e)}`, { cause: e });
  }
}

/** An error's message on one line (start-up errors are printed as one line). */
export function oneLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' ').trim();
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Checks pkcs11.env: names a shell could set, string values. */
export function checkModuleEnv(env: unknown): Record<string, string> {
  if (env === undefined) return {};
  if (typeof env !== 'object' || env === null || Array.isArray(env))
    throw new HsmConfigError(
      'pkcs11.env must be an object of environment variables, e.g. {"TPM2_PKCS11_TCTI": "..."}',
    );
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (!ENV_NAME.test(k)) throw new HsmConfigError(`pkcs11.env: "${k}" is not an environment variable name`);
    if (typeof v !== 'string') throw new HsmConfigError(`pkcs11.env: the value of ${k} must be a string`);
    out[k] = v;
  }
  return out;
}

/** A token opened with no settings, or settings the live initialisation already has, can share it. */
const covers = (live: Record<string, string>, wanted: Record<string, string>) =>
  Object.entries(wanted).every(([k, v]) => live[k] === v);

export interface ModuleSettings {
  /** SoftHSM: the SOFTHSM2_CONF to initialise with (kept for configs written before pkcs11.env) */
  softhsmConf?: string;
  /** variables the module reads in C_Initialize, set in this process's environment before it */
  env?: Record<string, string>;
}

/**
 * Loads and initialises `path` (once per process) with its environment set first.
 * Each call must be paired with release().
 */
export function acquireModule(path: string, settings: ModuleSettings = {}): LoadedModule {
  if (!existsSync(path)) {
    throw new HsmConfigError(
      `PKCS#11 module ${path} does not exist: install it (SoftHSM: apt-get install softhsm2; ` +
        'TPM 2.0: apt-get install libtpm2-pkcs11-1) or fix pkcs11.module',
    );
  }
  const { softhsmConf } = settings;
  if (softhsmConf !== undefined && !existsSync(softhsmConf)) {
    throw new HsmConfigError(`SoftHSM config ${softhsmConf} does not exist: fix pkcs11.softhsmConf`);
  }
  const env = { ...checkModuleEnv(settings.env), ...(softhsmConf ? { SOFTHSM2_CONF: softhsmConf } : {}) };
  let entry = loaded.get(path);
  if (entry && entry.refs > 0 && !covers(entry.env, env)) {
    const shown = (e: Record<string, string>) =>
      Object.keys(e).length
        ? Object.entries(e)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ')
        : '(nothing set)';
    throw new HsmConfigError(
      `${path} is already initialised in this process with ${shown(entry.env)}; ` +
        `close the tokens opened with it before using ${shown(env)}`,
    );
  }
  if (!entry) {
    let module: graphene.Module;
    // Some modules read their settings when loaded, in C_GetFunctionList (OpenSC's pkcs11-spy: PKCS11SPY).
    applyEnv(env);
    try {
      module = graphene.Module.load(path);
    } catch (e) {
      throw new HsmConfigError(`cannot load PKCS#11 module ${path}: ${oneLine(e)}`, { cause: e });
    }
    entry = { module, env, refs: 0 };
    loaded.set(path, entry);
  }
  if (entry.refs === 0) {
    entry.env = env;
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
