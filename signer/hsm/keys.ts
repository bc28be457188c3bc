// CA key objects in a PKCS#11 token: the generation templates (invariant 1 in docs/architecture.md: generated
// inside the token, sensitive, never extractable), reading a key's public half as a
// SubjectPublicKeyInfo, and describing a key's attributes for `edgeca signer key-info`.
import { randomBytes } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import type * as graphene from 'graphene-pk11';
import pkcs11js from 'pkcs11js';
import { content, OID, oidDer, readTlv, seq, TAG, unsignedInteger } from '../../shared/der.ts';
import { toHex } from '../../shared/encoding.ts';
import { type CaKeyType, ecRowOfCurveOid, keyTypeRow } from '../../shared/key-types.ts';
import { caKeyTypeOfSpki, spkiParts } from '../x509/common.ts';
import { keyGenMechanism } from './mechanisms.ts';

export function keyGenTemplates(
  label: string,
  type: CaKeyType,
): { mechanism: number; publicTemplate: graphene.ITemplate; privateTemplate: graphene.ITemplate } {
  const id = randomBytes(16);
  const common = { token: true, label, id };
  const privateTemplate: graphene.ITemplate = {
    ...common,
    class: pkcs11js.CKO_PRIVATE_KEY,
    private: true,
    sensitive: true,
    extractable: false,
    sign: true,
    decrypt: false,
    unwrap: false,
    derive: false,
  };
  // The public half says nothing about its usages: the signer never uses it in the token, and
  // tpm2-pkcs11 maps CKA_VERIFY and CKA_ENCRYPT onto the TPM key's decrypt and sign bits, so
  // `verify: true, encrypt: false` there would make a TPM refuse the template (or the key sign-less).
  const publicTemplate: graphene.ITemplate = {
    ...common,
    class: pkcs11js.CKO_PUBLIC_KEY,
    private: false,
  };
  const row = keyTypeRow(type);
  const mechanism = keyGenMechanism(type);
  if (row.family === 'EC') {
    // CKA_EC_PARAMS: DER ECParameters, the namedCurve OID (RFC 5480 §2.1.1).
    const paramsEC = Buffer.from(oidDer(row.curveOid));
    return {
      mechanism,
      publicTemplate: { ...publicTemplate, keyType: pkcs11js.CKK_EC, paramsEC },
      privateTemplate: { ...privateTemplate, keyType: pkcs11js.CKK_EC },
    };
  }
  return {
    mechanism,
    publicTemplate: {
      ...publicTemplate,
      keyType: pkcs11js.CKK_RSA,
      modulusBits: row.bits,
      publicExponent: Buffer.from([1, 0, 1]),
    },
    privateTemplate: { ...privateTemplate, keyType: pkcs11js.CKK_RSA },
  };
}

/** A CK_ULONG attribute in host byte order (4 or 8 bytes, by platform). */
export function readUlong(b: Buffer | undefined): number | undefined {
  if (!b) return undefined;
  return b.length >= 8 ? Number(b.readBigUInt64LE(0)) : b.readUInt32LE(0);
}

/** Raw attribute values of one object, by CKA_* type (graphene's decoder names CKA_EC_PARAMS twice). */
export function rawAttributes(
  lib: pkcs11js.PKCS11,
  session: graphene.Session,
  handle: Buffer,
  types: number[],
): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  for (const a of lib.C_GetAttributeValue(
    session.handle,
    handle,
    types.map((type) => ({ type })),
  )) {
    if (Buffer.isBuffer(a.value)) out.set(a.type, a.value);
  }
  return out;
}

/** SubjectPublicKeyInfo DER from a public key object's attributes (or an RSA private key's). */
export function spkiFromAttributes(
  lib: pkcs11js.PKCS11,
  session: graphene.Session,
  handle: Buffer,
): Uint8Array {
  const keyType = rawAttributes(lib, session, handle, [pkcs11js.CKA_KEY_TYPE]).get(pkcs11js.CKA_KEY_TYPE);
  const kt = readUlong(keyType) ?? -1;
  if (kt === pkcs11js.CKK_EC) {
    const a = rawAttributes(lib, session, handle, [pkcs11js.CKA_EC_PARAMS, pkcs11js.CKA_EC_POINT]);
    const params = a.get(pkcs11js.CKA_EC_PARAMS);
    let point: Uint8Array | undefined = a.get(pkcs11js.CKA_EC_POINT);
    if (!params || !point) throw new Error('EC public key object lacks CKA_EC_PARAMS or CKA_EC_POINT');
    // PKCS#11 v2.40 §2.3.3: CKA_EC_POINT is a DER OCTET STRING holding the point (some tokens give it bare).
    if (point[0] === TAG.OCTET_STRING) {
      const t = readTlv(point);
      if (t.end === point.length) point = content(point, t);
    }
    return new Uint8Array(
      AsnConvert.serialize(
        new SubjectPublicKeyInfo({
          algorithm: new AlgorithmIdentifier({
            algorithm: OID.ecPublicKey,
            parameters: new Uint8Array(params).buffer,
          }),
          subjectPublicKey: new Uint8Array(point).buffer,
        }),
      ),
    );
  }
  if (kt === pkcs11js.CKK_RSA) {
    const a = rawAttributes(lib, session, handle, [pkcs11js.CKA_MODULUS, pkcs11js.CKA_PUBLIC_EXPONENT]);
    const n = a.get(pkcs11js.CKA_MODULUS);
    const e = a.get(pkcs11js.CKA_PUBLIC_EXPONENT);
    if (!n || !e) throw new Error('RSA key object lacks CKA_MODULUS or CKA_PUBLIC_EXPONENT');
    return new Uint8Array(
      AsnConvert.serialize(
        new SubjectPublicKeyInfo({
          algorithm: new AlgorithmIdentifier({ algorithm: OID.rsaEncryption, parameters: null }),
          subjectPublicKey: seq(unsignedInteger(n), unsignedInteger(e)).buffer,
        }),
      ),
    );
  }
  throw new Error(`it is ${keyTypeName(kt)}, neither EC nor RSA`);
}

const ATTRS = {
  class: pkcs11js.CKA_CLASS,
  keyType: pkcs11js.CKA_KEY_TYPE,
  label: pkcs11js.CKA_LABEL,
  id: pkcs11js.CKA_ID,
  token: pkcs11js.CKA_TOKEN,
  private: pkcs11js.CKA_PRIVATE,
  sensitive: pkcs11js.CKA_SENSITIVE,
  extractable: pkcs11js.CKA_EXTRACTABLE,
  alwaysSensitive: pkcs11js.CKA_ALWAYS_SENSITIVE,
  neverExtractable: pkcs11js.CKA_NEVER_EXTRACTABLE,
  sign: pkcs11js.CKA_SIGN,
} as const;

const CLASS_NAMES: Record<number, string> = {
  [pkcs11js.CKO_PRIVATE_KEY]: 'privateKey',
  [pkcs11js.CKO_PUBLIC_KEY]: 'publicKey',
  [pkcs11js.CKO_SECRET_KEY]: 'secretKey',
};
const KEY_TYPE_NAMES: Record<number, string> = { [pkcs11js.CKK_EC]: 'EC', [pkcs11js.CKK_RSA]: 'RSA' };

// PKCS#11 v3.0 key types pkcs11js 2.x does not name.
const CKK_EC_EDWARDS = 0x40;
const CKK_EC_MONTGOMERY = 0x41;
const KEY_TYPE_WORDS: Record<number, string> = {
  [pkcs11js.CKK_EC]: 'an EC key',
  [pkcs11js.CKK_RSA]: 'an RSA key',
  [pkcs11js.CKK_DSA]: 'a DSA key',
  [pkcs11js.CKK_DH]: 'a Diffie-Hellman key',
  [pkcs11js.CKK_AES]: 'an AES key',
  [pkcs11js.CKK_DES3]: 'a 3DES key',
  [pkcs11js.CKK_GENERIC_SECRET]: 'a generic secret',
  [CKK_EC_EDWARDS]: 'an EdDSA key',
  [CKK_EC_MONTGOMERY]: 'an X25519/X448 key',
};
const keyTypeName = (kt: number) => KEY_TYPE_WORDS[kt] ?? `a key of type 0x${kt.toString(16)}`;

const CLASS_WORDS: Record<number, string> = {
  [pkcs11js.CKO_DATA]: 'a data object',
  [pkcs11js.CKO_CERTIFICATE]: 'a certificate',
  [pkcs11js.CKO_PUBLIC_KEY]: 'a public key',
  [pkcs11js.CKO_PRIVATE_KEY]: 'a private key',
  [pkcs11js.CKO_SECRET_KEY]: 'a secret key',
};

/** What the given objects are, in words: "a secret key (an AES key) and a certificate". */
export function describeObjects(lib: pkcs11js.PKCS11, session: graphene.Session, handles: Buffer[]): string {
  const words = handles.map((h) => {
    const cls = readUlong(rawAttributes(lib, session, h, [pkcs11js.CKA_CLASS]).get(pkcs11js.CKA_CLASS));
    const what =
      cls === undefined ? 'an object' : (CLASS_WORDS[cls] ?? `an object of class 0x${cls.toString(16)}`);
    if (cls !== pkcs11js.CKO_SECRET_KEY && cls !== pkcs11js.CKO_PUBLIC_KEY) return what;
    const kt = readUlong(rawAttributes(lib, session, h, [pkcs11js.CKA_KEY_TYPE]).get(pkcs11js.CKA_KEY_TYPE));
    return kt === undefined ? what : `${what} (${keyTypeName(kt)})`;
  });
  return words.length <= 1 ? (words[0] ?? '') : `${words.slice(0, -1).join(', ')} and ${words.at(-1)}`;
}

/** The private key's attributes that prove how it is protected, plus what the key is. */
export function describePrivateKey(
  lib: pkcs11js.PKCS11,
  session: graphene.Session,
  handle: Buffer,
  spki: Uint8Array,
): Record<string, unknown> {
  const raw = rawAttributes(lib, session, handle, Object.values(ATTRS));
  const bool = (b: Buffer | undefined) => (b ? b[0] === 1 : undefined);
  const cls = readUlong(raw.get(ATTRS.class));
  const kt = readUlong(raw.get(ATTRS.keyType));
  const info: Record<string, unknown> = {
    class: cls === undefined ? undefined : (CLASS_NAMES[cls] ?? cls),
    keyType: kt === undefined ? undefined : (KEY_TYPE_NAMES[kt] ?? kt),
    label: raw.get(ATTRS.label)?.toString('utf8'),
    id: raw.get(ATTRS.id) ? toHex(raw.get(ATTRS.id) as Buffer) : undefined,
    token: bool(raw.get(ATTRS.token)),
    private: bool(raw.get(ATTRS.private)),
    sensitive: bool(raw.get(ATTRS.sensitive)),
    extractable: bool(raw.get(ATTRS.extractable)),
    alwaysSensitive: bool(raw.get(ATTRS.alwaysSensitive)),
    neverExtractable: bool(raw.get(ATTRS.neverExtractable)),
    sign: bool(raw.get(ATTRS.sign)),
  };
  const parts = spkiParts(spki);
  if (parts.curve) info.curve = ecRowOfCurveOid(parts.curve)?.curve ?? parts.curve;
  if (parts.modulusBits) info.modulusBits = parts.modulusBits;
  info.caKeyType = caKeyTypeOfSpki(spki);
  return info;
}

/** The size of one Ecdsa-Sig-Value component for an EC CA key type (its curve's bytes); undefined for RSA. */
export function ecFieldBytes(type: CaKeyType): number | undefined {
  const row = keyTypeRow(type);
  return row.family === 'EC' ? Math.ceil(row.bits / 8) : undefined;
}
