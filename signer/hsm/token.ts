// The signer's access to its PKCS#11 token (graphene-pk11 over pkcs11js): one login, a small
// pool of sessions (a session runs one signing operation at a time), signing with the async
// pkcs11js call so the event loop keeps serving, and recovery: when the session or token goes
// away the failing call throws HsmUnavailableError and a later call reconnects and logs in
// again, once, never retrying a PIN the token refused (a real HSM locks after a few tries).
import { createHash } from 'node:crypto';
import * as graphene from 'graphene-pk11';
import pkcs11js from 'pkcs11js';
import { ecdsaRawToDer } from '../../shared/der.ts';
import { type CaKeyType, type CaSigner, HsmUnavailableError } from '../ca-signer.ts';
import { caKeyTypeOfSpki } from '../x509/common.ts';
import { describePrivateKey, EC_FIELD_BYTES, keyGenTemplates, spkiFromAttributes } from './keys.ts';
import {
  acquireModule,
  ckr,
  HsmConfigError,
  isUnavailable,
  type LoadedModule,
  PIN_ERRORS,
} from './module.ts';
import { SessionPool } from './pool.ts';

export { HsmConfigError };

export interface OpenTokenOptions {
  /** path of the PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so */
  module: string;
  tokenLabel: string;
  pin: string;
  /** sessions in the signing pool (default 4) */
  sessions?: number;
  /** SoftHSM only: the SOFTHSM2_CONF to initialise the module with */
  softhsmConf?: string;
  /** least time between two reconnection attempts after the token went away (default 1000 ms) */
  reconnectIntervalMs?: number;
}

export type HsmTokenState = 'ready' | 'unavailable' | 'pin-rejected' | 'closed';

export interface HsmTokenStatus {
  state: HsmTokenState;
  /** C_Login calls made so far (one per successful connection; never repeated on a refused PIN) */
  loginAttempts: number;
  sessions: number;
  lastError?: string;
}

export interface HsmToken {
  readonly tokenLabel: string;
  /** A CaSigner on the private key labelled `keyLabel` (its public key object gives the SPKI). */
  caSigner(keyLabel: string): Promise<CaSigner>;
  /** Generates a CA key pair inside the token; refuses when anything is labelled `label` already. */
  generateKeyPair(label: string, type: CaKeyType): Promise<void>;
  /** The private key's protection attributes and what key it is. */
  keyInfo(label: string): Promise<Record<string, unknown>>;
  publicKeySpki(label: string): Promise<Uint8Array>;
  status(): HsmTokenStatus;
  close(): Promise<void>;
}

const RW_SESSION = graphene.SessionFlag.SERIAL_SESSION | graphene.SessionFlag.RW_SESSION;

export async function openToken(opts: OpenTokenOptions): Promise<HsmToken> {
  const mod = acquireModule(opts.module, opts.softhsmConf);
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
  private readonly size: number;
  private readonly interval: number;
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
    this.size = Math.max(1, opts.sessions ?? 4);
    this.interval = opts.reconnectIntervalMs ?? 1000;
  }

  status(): HsmTokenStatus {
    const s: HsmTokenStatus = {
      state: this.state,
      loginAttempts: this.loginAttempts,
      sessions: this.pool?.sessions.length ?? 0,
    };
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
      throw fail(`cannot list the slots of ${this.mod.path}: ${(e as Error).message}`, e);
    }
    if (!slot) {
      const labels = seen.filter((l) => l !== '');
      throw fail(
        `no token labelled "${this.tokenLabel}" in ${this.mod.path}; tokens seen: ` +
          (labels.length ? labels.map((l) => `"${l}"`).join(', ') : 'none') +
          '. Fix pkcs11.tokenLabel or initialise the token (softhsm2-util --init-token / edgeca signer init).',
      );
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
      for (let i = 0; i < this.size; i++) sessions.push(slot.open(RW_SESSION));
    } catch (e) {
      closeAll();
      throw fail(`cannot open sessions on token "${this.tokenLabel}": ${(e as Error).message}`, e);
    }
    // One login covers every session of this application on the token (PKCS#11 §5.6).
    this.loginAttempts++;
    try {
      (sessions[0] as graphene.Session).login(this.pin, graphene.UserType.USER);
    } catch (e) {
      const code = ckr(e);
      if (code !== 'CKR_USER_ALREADY_LOGGED_IN') {
        closeAll();
        if (code && PIN_ERRORS.has(code)) {
          const msg = `token "${this.tokenLabel}" refused the PIN (${code}); not retrying: check the PIN (pkcs11.pinFile / pinEnv) and restart`;
          if (initial) throw new HsmConfigError(msg, { cause: e });
          this.state = 'pin-rejected';
          this.lastError = msg;
          throw new HsmUnavailableError(msg, { cause: e });
        }
        throw fail(`login to token "${this.tokenLabel}" failed: ${(e as Error).message}`, e);
      }
    }
    return new SessionPool(sessions);
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
        throw new HsmUnavailableError(`HSM token "${this.tokenLabel}" is unavailable: ${ckr(e)}`, {
          cause: e,
        });
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
    if (!h) {
      throw new HsmConfigError(
        `token "${this.tokenLabel}" has no private key labelled "${label}" (run edgeca signer init, or fix pkcs11.keyLabel)`,
      );
    }
    return h;
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

  async caSigner(keyLabel: string): Promise<CaSigner> {
    const spki = await this.withSession((s, pool) => {
      this.privateKey(s, pool, keyLabel);
      return this.spkiOf(s, pool, keyLabel);
    });
    const keyType = caKeyTypeOfSpki(spki);
    if (!keyType) {
      throw new HsmConfigError(`key "${keyLabel}" is not an EC P-256/P-384 or RSA 3072/4096 key`);
    }
    const ecSize = EC_FIELD_BYTES[keyType];
    const lib = this.mod.lib;
    // RSA: PKCS#1 v1.5 with SHA-256 hashed in the token. EC: hashed here (SHA-256 for P-256,
    // SHA-384 for P-384) and signed with plain CKM_ECDSA, the mechanism every HSM has.
    const mechanism: pkcs11js.Mechanism = {
      mechanism: ecSize ? pkcs11js.CKM_ECDSA : pkcs11js.CKM_SHA256_RSA_PKCS,
    };
    const hash = keyType === 'EC-P384' ? 'sha384' : 'sha256';
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
