// The key types edgeca knows, one row each: the leaf key types it issues for (the edge's profiles
// and finalize check, the signer's ceiling and certificate builder, the admin API's schema) and,
// marked `ca`, the key types a CA key may have (`edgeca signer init` / `rotate --key-type`,
// ca.keyType, the HSM's key generation and signing, the certificate and CRL builder). A key type
// added here, with its test, is known to all of them.
// RSA moduli between two sizes count as the smaller one (a 3000-bit key is RSA-2048); outside the
// smallest and largest row a key is unsupported. Ed25519 and curves other than these are refused
// (RFC 8555 §7.4 leaves the choice of key types to the CA).
import { OID, type SpkiParts } from './der.ts';

interface Common {
  /** may a CA key (an issuer, a root) be of this type */
  ca: boolean;
  /** the digest a CA key of this type signs with (RFC 5758 §3.2 pairs P-384 with SHA-384) */
  hash: 'SHA-256' | 'SHA-384';
  /** the X.509 signatureAlgorithm OID of what a CA key of this type signs */
  signatureOid: string;
  /**
   * the PKCS#11 mechanisms (by their CKM_ name) a token must offer to generate a CA key of this
   * type and to sign with it; EC signs a digest taken outside the token with plain CKM_ECDSA, which
   * every EC-capable token has (the hashing variants are optional)
   */
  pkcs11: {
    keyGen: 'CKM_EC_KEY_PAIR_GEN' | 'CKM_RSA_PKCS_KEY_PAIR_GEN';
    sign: 'CKM_ECDSA' | 'CKM_SHA256_RSA_PKCS';
  };
}

interface EcRow extends Common {
  name: `EC-${string}`;
  family: 'EC';
  /** the named curve, as Web Crypto and JWK spell it */
  curve: 'P-256' | 'P-384';
  /** its OID (RFC 5480 §2.1.1.1), the namedCurve of a SubjectPublicKeyInfo and of PKCS#11 CKA_EC_PARAMS */
  curveOid: string;
  /** the curve's size in bits (a signature component is as many bytes as it takes) */
  bits: number;
}

interface RsaRow extends Common {
  name: `RSA-${number}`;
  family: 'RSA';
  /** the smallest modulus, in bits, that counts as this type; a CA key has exactly this many */
  bits: number;
}

const EC_P11 = { keyGen: 'CKM_EC_KEY_PAIR_GEN', sign: 'CKM_ECDSA' } as const;
const RSA_P11 = { keyGen: 'CKM_RSA_PKCS_KEY_PAIR_GEN', sign: 'CKM_SHA256_RSA_PKCS' } as const;
// RFC 4055 §5: sha256WithRSAEncryption; RFC 5758 §3.2: ecdsa-with-SHA256 / -SHA384.
const RSA_SHA256 = { hash: 'SHA-256', signatureOid: OID.sha256WithRsa, pkcs11: RSA_P11 } as const;

export const LEAF_KEY_ROWS = [
  {
    name: 'EC-P256',
    family: 'EC',
    curve: 'P-256',
    curveOid: OID.p256,
    bits: 256,
    ca: true,
    hash: 'SHA-256',
    signatureOid: OID.ecdsaWithSha256,
    pkcs11: EC_P11,
  },
  {
    name: 'EC-P384',
    family: 'EC',
    curve: 'P-384',
    curveOid: OID.p384,
    bits: 384,
    ca: true,
    hash: 'SHA-384',
    signatureOid: OID.ecdsaWithSha384,
    pkcs11: EC_P11,
  },
  // Too weak for a CA key meant to outlive its leaves by years.
  { name: 'RSA-2048', family: 'RSA', bits: 2048, ca: false, ...RSA_SHA256 },
  { name: 'RSA-3072', family: 'RSA', bits: 3072, ca: true, ...RSA_SHA256 },
  { name: 'RSA-4096', family: 'RSA', bits: 4096, ca: true, ...RSA_SHA256 },
] as const satisfies readonly (EcRow | RsaRow)[];

export type KeyTypeRow = EcRow | RsaRow;
type Row = (typeof LEAF_KEY_ROWS)[number];

export type LeafKeyType = Row['name'];
/** The key types a CA key may have: the rows marked `ca`. */
export type CaKeyType = Extract<Row, { ca: true }>['name'];

const ROWS: readonly KeyTypeRow[] = LEAF_KEY_ROWS;

export const LEAF_KEY_TYPES: readonly LeafKeyType[] = LEAF_KEY_ROWS.map((r) => r.name);
export const CA_KEY_TYPES: readonly CaKeyType[] = LEAF_KEY_ROWS.filter(
  (r): r is Extract<Row, { ca: true }> => r.ca,
).map((r) => r.name);

export function isLeafKeyType(v: unknown): v is LeafKeyType {
  return typeof v === 'string' && (LEAF_KEY_TYPES as readonly string[]).includes(v);
}

export function isCaKeyType(v: unknown): v is CaKeyType {
  return typeof v === 'string' && (CA_KEY_TYPES as readonly string[]).includes(v);
}

/** The row of a key type. */
export function keyTypeRow(name: LeafKeyType): KeyTypeRow {
  const row = ROWS.find((r) => r.name === name);
  if (!row) throw new TypeError(`${name} is not a key type`);
  return row;
}

/** The leaf key type of an EC key on `curve`, or undefined for a curve not in the table. */
export function ecLeafKeyType(curve: string): LeafKeyType | undefined {
  return LEAF_KEY_ROWS.find((r) => r.family === 'EC' && r.curve === curve)?.name;
}

const RSA_ROWS = LEAF_KEY_ROWS.filter((r) => r.family === 'RSA').sort((a, b) => a.bits - b.bits);
const RSA_MAX_BITS = RSA_ROWS[RSA_ROWS.length - 1]?.bits ?? 0;

/** The leaf key type of an RSA key of `bits`, or undefined outside the smallest..largest row. */
export function rsaLeafKeyType(bits: number): LeafKeyType | undefined {
  if (bits > RSA_MAX_BITS) return undefined;
  return RSA_ROWS.filter((r) => r.bits <= bits).pop()?.name;
}

/** The EC row whose curve has this OID, or undefined. */
export function ecRowOfCurveOid(curveOid: string | undefined): EcRow | undefined {
  return ROWS.find((r): r is EcRow => r.family === 'EC' && r.curveOid === curveOid);
}

/**
 * Whether a public key is of the family and curve of `type`: an EC key on its curve, or an RSA
 * key (of any size: the CSR check already bucketed its modulus into `type`).
 */
export function spkiFitsKeyType(type: LeafKeyType, p: Pick<SpkiParts, 'algorithm' | 'curve'>): boolean {
  const row = keyTypeRow(type);
  if (row.family === 'RSA') return p.algorithm === OID.rsaEncryption;
  return p.algorithm === OID.ecPublicKey && p.curve === row.curveOid;
}

/** The CA key type a public key has (exactly a `ca` row's curve or modulus size), or undefined. */
export function caKeyTypeOfSpkiParts(
  p: Pick<SpkiParts, 'algorithm' | 'curve' | 'modulusBits'>,
): CaKeyType | undefined {
  const row = ROWS.find(
    (r) =>
      r.ca &&
      (r.family === 'EC'
        ? p.algorithm === OID.ecPublicKey && p.curve === r.curveOid
        : p.algorithm === OID.rsaEncryption && p.modulusBits === r.bits),
  );
  return row?.name as CaKeyType | undefined;
}
