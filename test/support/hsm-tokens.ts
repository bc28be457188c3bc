// Test helpers for real PKCS#11 tokens: temporary SoftHSM tokens, the shape every test token
// source has (SoftHSM here, a TPM in tpm.ts) so one suite runs against each, and a
// second handle on the same PKCS#11 library ("side door") that tests use to pull the ground from
// under an HsmToken (close its sessions, finalise the library, change the PIN) and to check what
// the token refuses to reveal.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as graphene from 'graphene-pk11';
import pkcs11js from 'pkcs11js';
import { CA_KEY_TYPES, type CaKeyType } from '../../shared/key-types.ts';
import { createSoftHsmToken } from '../../signer/hsm/softhsm.ts';

/** Initialised tokens (same PINs) in one PKCS#11 module, for tests. */
export interface TestTokens {
  /** the module, as test names show it */
  name: string;
  dir: string;
  module: string;
  /** what openToken needs besides module, label and PIN to reach these tokens */
  settings: { softhsmConf?: string; env?: Record<string, string> };
  pin: string;
  soPin: string;
  /** CA key types this module generates */
  keyTypes: CaKeyType[];
  /** what reading a private key's secret value answers (SoftHSM: sensitive; TPM: no such attribute) */
  secretRefusal: string;
  /** failed authorisations the device itself counted, where it keeps count (a TPM's lockout counter) */
  authFailures?: () => Promise<number>;
  cleanup(): Promise<void> | void;
}

export interface TempTokens extends TestTokens {
  conf: string;
  cleanup(): void;
}

/** Creates the labelled tokens (same PINs) in one fresh temporary SoftHSM directory. */
export async function makeTempTokens(labels: string[], prefix = 'edgeca-hsm-'): Promise<TempTokens> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const pin = `pin-${crypto.randomUUID().slice(0, 8)}`;
  const soPin = `so-${crypto.randomUUID().slice(0, 8)}`;
  let made = { conf: '', module: '' };
  for (const label of labels) made = await createSoftHsmToken({ dir, label, pin, soPin });
  return {
    name: 'SoftHSM',
    dir,
    ...made,
    settings: { softhsmConf: made.conf },
    pin,
    soPin,
    // every CA key type (shared/key-types.ts): one added there is generated and signed with here
    keyTypes: [...CA_KEY_TYPES],
    secretRefusal: 'CKR_ATTRIBUTE_SENSITIVE',
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface SideDoor {
  /** C_CloseAllSessions on the token's slot: every session of this process is gone, and the login with them. */
  closeAllSessions(): void;
  /** C_Finalize: what an HSM client library restart looks like to the application. */
  finalize(): void;
  /** C_SetPIN on a fresh session (this process must be logged in). */
  setPin(oldPin: string, newPin: string): void;
  /** Tries to read the private key's secret (CKA_VALUE for EC, CKA_PRIVATE_EXPONENT for RSA); returns the CKR_* error. */
  readPrivateValue(label: string): string;
  /** Stores a certificate object labelled `label` (DER) in the token (this process must be logged in). */
  storeCertificate(label: string, der: Uint8Array): void;
}

/** A second graphene handle on the already-initialised module; never finalises unless asked. */
export function sideDoor(modulePath: string, tokenLabel: string): SideDoor {
  const mod = graphene.Module.load(modulePath);
  mod.initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK }); // CKR_CRYPTOKI_ALREADY_INITIALIZED is ignored
  const slot = () => {
    const slots = mod.getSlots(true);
    for (let i = 0; i < slots.length; i++) {
      const s = slots.items(i);
      if (s.getToken().label === tokenLabel) return s;
    }
    throw new Error(`no token ${tokenLabel}`);
  };
  const withSession = <T>(fn: (s: graphene.Session) => T): T => {
    const s = slot().open(graphene.SessionFlag.SERIAL_SESSION | graphene.SessionFlag.RW_SESSION);
    try {
      return fn(s);
    } finally {
      s.close();
    }
  };
  return {
    closeAllSessions: () => mod.lib.C_CloseAllSessions(slot().handle),
    finalize: () => mod.lib.C_Finalize(),
    setPin: (oldPin, newPin) => withSession((s) => s.setPin(oldPin, newPin)),
    storeCertificate: (label, der) =>
      withSession((s) => {
        s.create({
          class: pkcs11js.CKO_CERTIFICATE,
          certType: pkcs11js.CKC_X_509,
          token: true,
          label,
          subject: Buffer.from('3000', 'hex'),
          value: Buffer.from(der),
        });
      }),
    readPrivateValue: (label) =>
      withSession((s) => {
        const found = s.find({ class: pkcs11js.CKO_PRIVATE_KEY, label });
        if (found.length !== 1) throw new Error(`expected one private key ${label}, found ${found.length}`);
        const key = found.items(0);
        const isRsa = key.getAttribute({ keyType: null }).keyType === pkcs11js.CKK_RSA;
        const type = isRsa ? pkcs11js.CKA_PRIVATE_EXPONENT : pkcs11js.CKA_VALUE;
        try {
          mod.lib.C_GetAttributeValue(s.handle, key.handle, [{ type }]);
          return 'readable';
        } catch (e) {
          return /CKR_[A-Z_]+/.exec((e as Error).message)?.[0] ?? (e as Error).message;
        }
      }),
  };
}
