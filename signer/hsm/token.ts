// The signer's access to its PKCS#11 token (graphene-pk11 over pkcs11js): one login, a small
// pool of sessions (a session runs one signing operation at a time) with a bounded queue,
// signing with the async pkcs11js call so the event loop keeps serving, and recovery: when the
// session or token goes away the failing call throws HsmUnavailableError and a later call
// reconnects and logs in again, once, never retrying a PIN the token refused (a real HSM, and a
// TPM after three, locks after a few tries). What the signer needs from the token (the key by
// label and type, the mechanisms to sign with it) is checked when it opens, so a mistake is a
// start-up error naming its cause.
import { createHash } from 'node:crypto';
import { isAbsolute, resolve } from 'node:path';
import * as graphene from 'graphene-pk11';
import pkcs11js from 'pkcs11js';
import { ecdsaRawToDer } from '../../shared/der.ts';
import { CA_KEY_TYPES } from '../../shared/key-types.ts';
import { type CaKeyType, type CaSigner, HsmUnavailableError } from '../ca-signer.ts';
import type { SignerConfig } from '../config.ts';
import { caKeyTypeOfSpki, caSignatureHash } from '../x509/common.ts';
import {
  describeObjects,
  describePrivateKey,
  ecFieldBytes,
  keyGenTemplates,
  rawAttributes,
  spkiFromAttributes,
} from './keys.ts';
import { Mechanisms, signMechanism } from './mechanisms.ts';
import {
  acquireModule,
  ckr,
  failureHint,
  HsmConfigError,
  isUnavailable,
  type LoadedModule,
  oneLine,
  PIN_ERRORS,
} from './module.ts';
import { HsmBusyError, SessionPool } from './pool.ts';

export { HsmBusyError, HsmConfigError };

export interface OpenTokenOptions {
  /** path of the PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so */
  module: string;
  tokenLabel: string;
  pin: string;
  /** where the PIN came from, named in the error when the token refuses it (never the PIN itself) */
  pinSource?: string;
  /** sessions in the signing pool (default 4; fewer when the token allows fewer) */
  sessions?: number;
  /** longest wait for a free session before a call fails with HsmBusyError (default 5000 ms; 0: no wait) */
  queueTimeoutMs?: number;
  /** SoftHSM only: the SOFTHSM2_CONF to initialise the module with */
  softhsmConf?: string;
  /** environment variables the module reads in C_Initialize (tpm2-pkcs11: TPM2_PKCS11_TCTI, ...) */
  env?: Record<string, string>;
  /** least time between two reconnection attempts after the token went away (default 1000 ms) */
  reconnectIntervalMs?: number;
}

export type HsmTokenState = 'ready' | 'unavailable' | 'pin-rejected' | 'closed';

export interface HsmTokenStatus {
  state: HsmTokenState;
  /** C_Login calls made so far (one per successful connection; never repeated on a refused PIN) */
  loginAttempts: number;
  sessions: number;
  /** callers waiting for a session */
  queued: number;
  /** the token's own session limit when it states one (ulMaxRwSessionCount) */
  sessionLimit?: number;
  lastError?: string;
}

export interface HsmToken {
  readonly tokenLabel: string;
  /**
   * A CaSigner on the private key labelled `keyLabel` (its public key object gives the SPKI).
   * With `expected`, a key of another type is an HsmConfigError; so is a token that lacks the
   * signing mechanism.
   */
  caSigner(keyLabel: string, expected?: CaKeyType): Promise<CaSigner>;
  /** Generates a CA key pair inside the token; refuses when anything is labelled `label` already. */
  generateKeyPair(label: string, type: CaKeyType): Promise<void>;
  /** The private key's protection attributes and what key it is. */
  keyInfo(label: string): Promise<Record<string, unknown>>;
  publicKeySpki(label: string): Promise<Uint8Array>;
  status(): HsmTokenStatus;
  close(): Promise<void>;
}

/**
 * The token options a signer config's `pkcs11` block names (paths relative to `baseDir`), with
 * the PIN read by the caller from pkcs11.pinFile / pinEnv.
 */
export function tokenOptionsFromConfig(
  p: SignerConfig['pkcs11'],
  baseDir: string,
  pin: string,
): OpenTokenOptions {
  return {
    module: p.module,
    tokenLabel: p.tokenLabel,
    pin,
    pinSource: pinSourceOf(p),
    ...(p.sessions !== undefined ? { sessions: p.sessions } : {}),
    ...(p.queueTimeoutMs !== undefined ? { queueTimeoutMs: p.queueTimeoutMs } : {}),
    ...(p.softhsmConf
      ? { softhsmConf: isAbsolute(p.softhsmConf) ? p.softhsmConf : resolve(baseDir, p.softhsmConf) }
      : {}),
    ...(p.env !== undefined ? { env: p.env } : {}),
  };
}

/** The setting the PIN was read from, for an operator to check (readPin allows exactly one). */
function pinSourceOf(p: SignerConfig['pkcs11']): string {
  if (p.pinCredential !== undefined)
    return `the systemd credential "${p.pinCredential}" (pkcs11.pinCredential)`;
  if (p.pinFile) return `the file ${p.pinFile} (pkcs11.pinFile)`;
  if (p.pinEnv) return `the variable ${p.pinEnv} (pkcs11.pinEnv)`;
  return 'pkcs11.pinCredential, pinFile or pinEnv';
}

const RW_SESSION = graphene.SessionFlag.SERIAL_SESSION | graphene.SessionFlag.RW_SESSION;

// PKCS#11 v2.40 §5.6 session states (pkcs11js does not export them).
const CKS_RO_USER_FUNCTIONS = 1;
const CKS_RW_USER_FUNCTIONS = 3;
const CKS_RW_SO_FUNCTIONS = 4;

/** A stated session limit, or undefined for CK_EFFECTIVELY_INFINITE (0) and CK_UNAVAILABLE_INFORMATION (~0). */
function sessionLimit(max: number): number | undefined {
  return max > 0 && max < 0xffff_ffff ? max : undefined;
}

export async function openToken(opts: OpenTokenOptions): Promise<HsmToken> {
  const mod = acquireModule(opts.module, {
    ...(opts.softhsmConf !== undefined ? { softhsmConf: opts.softhsmConf } : {}),
    ...(opts.env ? { env: opts.env } : {}),
  });
  const token = new Pkcs11Token(mod, opts);
  try {
    token.attach(await token.connect(true));
  } catch (e) {
    mod.release();
    throw e;
  }
  return token;
}

class Pkcs11Token implements HsmToken {
  readonly tokenLabel: string;
  private readonly pin: string;
  private readonly pinSource: string;
  private readonly size: number;
  private readonly queueTimeoutMs: number;
  private readonly interval: number;
  private limit: number | undefined;
  private mechanisms: Mechanisms | undefined;
  private pool: SessionPool | undefined;
  private state: HsmTokenState = 'unavailable';
  private loginAttempts = 0;
  private lastError: string | undefined;
  private lastAttempt = 0;
  private reconnecting: Promise<void> | undefined;
  private lostPool: SessionPool | undefined;

  constructor(
    private readonly mod: LoadedModule,
    opts: OpenTokenOptions,
  ) {
    this.tokenLabel = opts.tokenLabel;
    this.pin = opts.pin;
    this.pinSource = opts.pinSource ?? 'the PIN setting of the signer config';
    this.size = Math.max(1, opts.sessions ?? 4);
    this.queueTimeoutMs = Math.max(0, opts.queueTimeoutMs ?? 5000);
    this.interval = opts.reconnectIntervalMs ?? 1000;
  }

  status(): HsmTokenStatus {
    const s: HsmTokenStatus = {
      state: this.state,
      loginAttempts: this.loginAttempts,
      sessions: this.pool?.sessions.length ?? 0,
      queued: this.pool?.queued ?? 0,
    };
    if (this.limit !== undefined) s.sessionLimit = this.limit;
    if (this.lastError) s.lastError = this.lastError;
    return s;
  }

  attach(pool: SessionPool): void {
    this.pool = pool;
    this.state = 'ready';
    this.lastError = undefined;
  }

  /** Finds the slot by token label, opens the pool and logs in once. `initial` errors are config errors. */
  async connect(initial: boolean): Promise<SessionPool> {
    const fail = (message: string, cause?: unknown) =>
      initial ? new HsmConfigError(message, { cause }) : new HsmUnavailableError(message, { cause });
    let slot: graphene.Slot | undefined;
    const seen: string[] = [];
    try {
      const slots = this.mod.module.getSlots(true);
      for (let i = 0; i < slots.length; i++) {
        const s = slots.items(i);
        const label = s.getToken().label;
        seen.push(label);
        if (label === this.tokenLabel && !slot) slot = s;
      }
    } catch (e) {
      throw fail(`cannot list the slots of ${this.mod.path}: ${oneLine(e)}`, e);
    }
    if (!slot) {
      const labels = seen.filter((l) => l !== '');
      throw fail(
        `no token labelled "${this.tokenLabel}" in ${this.mod.path}; tokens seen: ` +
          (labels.length ? labels.map((l) => `"${l}"`).join(', ') : 'none') +
          '. Fix pkcs11.tokenLabel or initialise the token (softhsm2-util --init-token / edgeca signer init).',
      );
    }
    const where = `token "${this.tokenLabel}" (${this.mod.path})`;
    // Never more sessions than the token says it allows: past its limit C_OpenSession fails, and
    // on a shared token it would starve the other applications.
    let size = this.size;
    try {
      this.limit = sessionLimit(slot.getToken().maxRwSessionCount);
      if (this.limit !== undefined) size = Math.min(size, this.limit);
      this.mechanisms = Mechanisms.read(this.mod.lib, slot.handle, where);
    } catch (e) {
      throw fail(`cannot read the token information of ${where}: ${oneLine(e)}`, e);
    }
    const sessions: graphene.Session[] = [];
    const closeAll = () => {
      for (const s of sessions) {
        try {
          s.close();
        } catch {
          // best effort: the session may already be gone with the token
        }
      }
    };
    try {
      for (let i = 0; i < size; i++) sessions.push(slot.open(RW_SESSION));
    } catch (e) {
      // A token that runs out of sessions below its stated limit (others hold some): use what we got.
      if (!(ckr(e) === 'CKR_SESSION_COUNT' && sessions.length > 0)) {
        closeAll();
        throw fail(`cannot open sessions on ${where}: ${ckr(e) ?? oneLine(e)}`, e);
      }
    }
    const first = sessions[0] as graphene.Session;
    // Login is per token and application, not per session (PKCS#11 v2.40 §5.6): when this process
    // is logged in already (another HsmToken on the same token) there is nothing to do, and a
    // second C_Login would only answer CKR_USER_ALREADY_LOGGED_IN.
    let state: number;
    try {
      state = this.mod.lib.C_GetSessionInfo(first.handle).state;
    } catch (e) {
      closeAll();
      throw fail(`cannot read the session state on ${where}: ${ckr(e) ?? oneLine(e)}`, e);
    }
    if (state === CKS_RW_SO_FUNCTIONS) {
      closeAll();
      throw fail(`${where} is logged in as the security officer in this process; log the SO out first`);
    }
    if (state !== CKS_RO_USER_FUNCTIONS && state !== CKS_RW_USER_FUNCTIONS) {
      this.loginAttempts++;
      try {
        first.login(this.pin, graphene.UserType.USER);
      } catch (e) {
        const code = ckr(e);
        if (code !== 'CKR_USER_ALREADY_LOGGED_IN') {
          closeAll();
          if (code && PIN_ERRORS.has(code)) {
            // tpm2-pkcs11 answers CKR_PIN_INCORRECT during the TPM's dictionary-attack lockout too.
            const msg =
              `token "${this.tokenLabel}" refused the PIN (${code}); not retrying, since tokens lock after a few ` +
              `wrong PINs (a TPM after 3, also answering CKR_PIN_INCORRECT while locked out): check the PIN in ${this.pinSource} and restart`;
            if (initial) throw new HsmConfigError(msg, { cause: e });
            this.state = 'pin-rejected';
            this.lastError = msg;
            throw new HsmUnavailableError(msg, { cause: e });
          }
          throw fail(`login to ${where} failed: ${code ?? oneLine(e)}`, e);
        }
      }
    }
    return new SessionPool(sessions, this.queueTimeoutMs, `token "${this.tokenLabel}"`);
  }

  /** The connection failed: stop lending its sessions; they are closed before the next login. */
  private lose(pool: SessionPool, e: unknown): void {
    if (this.pool !== pool) return;
    this.pool = undefined;
    this.lostPool = pool;
    if (this.state === 'ready') this.state = 'unavailable';
    this.lastError = ckr(e) ?? (e as Error).message;
    pool.lose(
      new HsmUnavailableError(`HSM token "${this.tokenLabel}" became unavailable (${this.lastError})`),
    );
  }

  private reconnect(): Promise<void> {
    if (this.reconnecting) return this.reconnecting;
    const wait = this.lastAttempt + this.interval - Date.now();
    if (wait > 0) {
      return Promise.reject(
        new HsmUnavailableError(
          `HSM token "${this.tokenLabel}" is unavailable (${this.lastError ?? 'not connected'}); next reconnect in ${wait} ms`,
        ),
      );
    }
    this.lastAttempt = Date.now();
    this.reconnecting = (async () => {
      try {
        if (this.lostPool) {
          const old = this.lostPool;
          this.lostPool = undefined;
          await old.close();
        }
        try {
          this.mod.initialize(); // a no-op unless the library was finalised (HSM client restart)
        } catch (e) {
          throw new HsmUnavailableError(`HSM token "${this.tokenLabel}": ${(e as Error).message}`, {
            cause: e,
          });
        }
        this.attach(await this.connect(false));
      } catch (e) {
        if (this.state !== 'pin-rejected') this.lastError = (e as Error).message;
        throw e instanceof HsmUnavailableError
          ? e
          : new HsmUnavailableError((e as Error).message, { cause: e });
      } finally {
        this.reconnecting = undefined;
      }
    })();
    return this.reconnecting;
  }

  /** Runs `fn` on a pooled, logged-in session; reconnects first when the token was lost. */
  private async withSession<T>(fn: (s: graphene.Session, pool: SessionPool) => Promise<T> | T): Promise<T> {
    if (this.state === 'closed') throw new HsmUnavailableError(`HSM token "${this.tokenLabel}" is closed`);
    if (this.state === 'pin-rejected')
      throw new HsmUnavailableError(this.lastError ?? 'the token refused the PIN');
    if (!this.pool) await this.reconnect();
    const pool = this.pool;
    if (!pool) throw new HsmUnavailableError(`HSM token "${this.tokenLabel}" is not connected`);
    const s = await pool.acquire();
    try {
      return await fn(s, pool);
    } catch (e) {
      if (isUnavailable(e)) {
        this.lose(pool, e);
        const code = ckr(e);
        throw new HsmUnavailableError(
          `HSM token "${this.tokenLabel}" is unavailable: ${code}${failureHint(this.mod.path, code)}`,
          { cause: e },
        );
      }
      throw e;
    } finally {
      pool.release(s);
    }
  }

  private findObject(s: graphene.Session, pool: SessionPool, cls: number, label: string): Buffer | undefined {
    const key = `${cls}:${label}`;
    const hit = pool.handles.get(key);
    if (hit) return hit;
    const found = s.find({ class: cls, label });
    if (found.length > 1) {
      throw new HsmConfigError(
        `token "${this.tokenLabel}" holds ${found.length} objects labelled "${label}"`,
      );
    }
    const handle = found.length === 1 ? found.items(0).handle : undefined;
    if (handle) pool.handles.set(key, handle);
    return handle;
  }

  private privateKey(s: graphene.Session, pool: SessionPool, label: string): Buffer {
    const h = this.findObject(s, pool, pkcs11js.CKO_PRIVATE_KEY, label);
    if (h) return h;
    // Say what the label does name (a secret key, a lone public key, a certificate), if anything.
    const found = s.find({ label });
    const handles: Buffer[] = [];
    for (let i = 0; i < found.length; i++) handles.push(found.items(i).handle);
    const what = handles.length ? describeObjects(this.mod.lib, s, handles) : '';
    throw new HsmConfigError(
      `token "${this.tokenLabel}" has no private key labelled "${label}"` +
        (what ? `: that label names ${what}, not a private key (fix pkcs11.keyLabel)` : '') +
        (what ? '' : ' (run edgeca signer init, or fix pkcs11.keyLabel)'),
    );
  }

  private spkiOf(s: graphene.Session, pool: SessionPool, label: string): Uint8Array {
    // The public key object carries the EC point; an RSA private key also carries modulus and exponent.
    const pub = this.findObject(s, pool, pkcs11js.CKO_PUBLIC_KEY, label);
    return spkiFromAttributes(this.mod.lib, s, pub ?? this.privateKey(s, pool, label));
  }

  publicKeySpki(label: string): Promise<Uint8Array> {
    return this.withSession((s, pool) => this.spkiOf(s, pool, label));
  }

  keyInfo(label: string): Promise<Record<string, unknown>> {
    return this.withSession((s, pool) =>
      describePrivateKey(this.mod.lib, s, this.privateKey(s, pool, label), this.spkiOf(s, pool, label)),
    );
  }

  generateKeyPair(label: string, type: CaKeyType): Promise<void> {
    return this.withSession(async (s) => {
      this.mechanisms?.requireKeyGen(type, label);
      if (s.find({ label }).length > 0) {
        throw new HsmConfigError(
          `token "${this.tokenLabel}" already holds an object labelled "${label}"; refusing to generate over it`,
        );
      }
      const t = keyGenTemplates(label, type);
      await new Promise<void>((resolve, reject) => {
        s.generateKeyPair(t.mechanism, t.publicTemplate, t.privateTemplate, (err) =>
          err ? reject(err) : resolve(),
        );
      });
    });
  }

  async caSigner(keyLabel: string, expected?: CaKeyType): Promise<CaSigner> {
    const where = `token "${this.tokenLabel}"`;
    const { spki, canSign } = await this.withSession((s, pool) => {
      const handle = this.privateKey(s, pool, keyLabel);
      const sign = rawAttributes(this.mod.lib, s, handle, [pkcs11js.CKA_SIGN]).get(pkcs11js.CKA_SIGN);
      let spki: Uint8Array;
      try {
        spki = this.spkiOf(s, pool, keyLabel);
      } catch (e) {
        if (isUnavailable(e)) throw e;
        throw new HsmConfigError(`the key labelled "${keyLabel}" in ${where} cannot be used: ${oneLine(e)}`, {
          cause: e,
        });
      }
      return { spki, canSign: sign === undefined || sign[0] === 1 };
    });
    const keyType = caKeyTypeOfSpki(spki);
    if (!keyType) {
      throw new HsmConfigError(
        `the key labelled "${keyLabel}" in ${where} is of none of the CA key types ${CA_KEY_TYPES.join(', ')}` +
          (expected ? ` (ca.keyType is ${expected})` : ''),
      );
    }
    if (expected && keyType !== expected) {
      throw new HsmConfigError(
        `the key labelled "${keyLabel}" in ${where} is ${keyType}, but ca.keyType is ${expected}: ` +
          'fix ca.keyType or pkcs11.keyLabel',
      );
    }
    if (!canSign) {
      throw new HsmConfigError(`the key labelled "${keyLabel}" in ${where} may not sign (CKA_SIGN is false)`);
    }
    this.mechanisms?.requireSign(keyType, keyLabel);
    const ecSize = ecFieldBytes(keyType);
    const lib = this.mod.lib;
    const mechanism: pkcs11js.Mechanism = { mechanism: signMechanism(keyType) };
    const hash = caSignatureHash(keyType);
    return {
      keyType,
      spki,
      sign: (tbs) =>
        this.withSession(async (s, pool) => {
          const data = ecSize
            ? createHash(hash).update(tbs).digest()
            : Buffer.from(tbs.buffer, tbs.byteOffset, tbs.byteLength);
          lib.C_SignInit(s.handle, mechanism, this.privateKey(s, pool, keyLabel));
          const sig = await lib.C_SignAsync(s.handle, data, Buffer.alloc(1024));
          if (!ecSize) return new Uint8Array(sig);
          if (sig.length !== 2 * ecSize)
            throw new Error(`token returned a ${sig.length}-byte ECDSA signature`);
          return ecdsaRawToDer(sig);
        }),
    };
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    await this.reconnecting?.catch(() => {});
    const pools = [this.pool, this.lostPool].filter((p): p is SessionPool => p !== undefined);
    this.pool = undefined;
    this.lostPool = undefined;
    for (const pool of pools) {
      pool.lose(new HsmUnavailableError(`HSM token "${this.tokenLabel}" is closed`));
      await pool.close();
    }
    this.mod.release();
  }
}
