// What a token must offer to sign with, or generate, a CA key of each type. Checked against the
// token's C_GetMechanismList at start-up (and before generating), so a module that lacks one is a
// configuration error naming the mechanism, not a failure at the first certificate.
import pkcs11js from 'pkcs11js';
import { type CaKeyType, keyTypeRow } from '../../shared/key-types.ts';
import { HsmConfigError } from './module.ts';

/** A mechanism by its CKM_ name, as the key type's row names it (shared/key-types.ts). */
function ckm(name: string): number {
  const m = (pkcs11js as unknown as Record<string, unknown>)[name];
  if (typeof m !== 'number') throw new TypeError(`pkcs11js has no mechanism ${name}`);
  return m;
}

/**
 * The signing mechanism of a CA key type, its row's pkcs11.sign: for EC the digest is taken here
 * and signed with plain CKM_ECDSA; for RSA, CKM_SHA256_RSA_PKCS hashes in the token.
 */
export function signMechanism(type: CaKeyType): number {
  return ckm(keyTypeRow(type).pkcs11.sign);
}

export function keyGenMechanism(type: CaKeyType): number {
  return ckm(keyTypeRow(type).pkcs11.keyGen);
}

const NAMES = new Map<number, string>();
for (const [k, v] of Object.entries(pkcs11js)) {
  if (k.startsWith('CKM_') && typeof v === 'number' && !NAMES.has(v)) NAMES.set(v, k);
}
// pkcs11js names CKM_EC_KEY_PAIR_GEN by its older alias first.
NAMES.set(pkcs11js.CKM_EC_KEY_PAIR_GEN, 'CKM_EC_KEY_PAIR_GEN');

export const mechanismName = (m: number): string => NAMES.get(m) ?? `0x${m.toString(16)}`;

/** The mechanisms a slot's token offers, with their key sizes and flags. */
export class Mechanisms {
  private constructor(
    private readonly byType: Map<number, pkcs11js.MechanismInfo>,
    private readonly where: string,
  ) {}

  static read(lib: pkcs11js.PKCS11, slot: Buffer, where: string): Mechanisms {
    const byType = new Map<number, pkcs11js.MechanismInfo>();
    for (const m of lib.C_GetMechanismList(slot)) byType.set(m, lib.C_GetMechanismInfo(slot, m));
    return new Mechanisms(byType, where);
  }

  has(mech: number, flag: number): boolean {
    const info = this.byType.get(mech);
    return info !== undefined && (info.flags & flag) === flag;
  }

  /** The mechanisms with `flag` (CKF_SIGN, CKF_GENERATE_KEY_PAIR), by name. */
  names(flag: number): string[] {
    return [...this.byType]
      .filter(([, i]) => (i.flags & flag) === flag)
      .map(([m]) => mechanismName(m))
      .sort();
  }

  /** Throws unless the token can sign with a key of `type` (the mechanism the signer uses). */
  requireSign(type: CaKeyType, keyLabel: string): void {
    const mech = signMechanism(type);
    if (this.has(mech, pkcs11js.CKF_SIGN)) return;
    const offered = this.names(pkcs11js.CKF_SIGN);
    throw new HsmConfigError(
      `${this.where} does not offer ${mechanismName(mech)}, which the signer needs to sign with the ${type} key ` +
        `"${keyLabel}"; it signs with: ${offered.length ? offered.join(', ') : 'nothing'}. ` +
        'Use a module that has it, or a CA key type it supports (ca.keyType).',
    );
  }

  /** Throws unless the token can generate, and then sign with, a key of `type`. */
  requireKeyGen(type: CaKeyType, keyLabel: string): void {
    const mech = keyGenMechanism(type);
    const info = this.byType.get(mech);
    if (!info || (info.flags & pkcs11js.CKF_GENERATE_KEY_PAIR) === 0) {
      throw new HsmConfigError(
        `${this.where} does not offer ${mechanismName(mech)}: it cannot generate the ${type} key "${keyLabel}"`,
      );
    }
    // PKCS#11 gives RSA sizes in bits; EC sizes in bits for most tokens, in bytes for a few, so an
    // EC range is only held against the curve when it is plainly in bits.
    const { bits, family } = keyTypeRow(type);
    const inBits = family === 'RSA' || info.maxKeySize >= 128;
    if (inBits && info.maxKeySize > 0 && (bits < info.minKeySize || bits > info.maxKeySize)) {
      throw new HsmConfigError(
        `${this.where} generates ${family} keys of ${info.minKeySize} to ` +
          `${info.maxKeySize} bits, not ${bits} (${type}): choose another key type (--key-type / ca.keyType)`,
      );
    }
    this.requireSign(type, keyLabel);
  }
}
