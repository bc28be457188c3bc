// The leaf key types edgeca issues for, one row each: the edge's profiles and finalize check, the
// signer's ceiling and certificate builder, and the admin API's schema all take theirs from here.
// RSA moduli between two sizes count as the smaller one (a 3000-bit key is RSA-2048); outside the
// smallest and largest row a key is unsupported. Ed25519 and curves other than these are refused
// (RFC 8555 §7.4 leaves the choice of key types to the CA).

interface EcRow {
  name: `EC-${string}`;
  family: 'EC';
  /** the named curve, as Web Crypto and JWK spell it */
  curve: 'P-256' | 'P-384';
}

interface RsaRow {
  name: `RSA-${number}`;
  family: 'RSA';
  /** the smallest modulus, in bits, that counts as this type */
  bits: number;
}

export const LEAF_KEY_ROWS = [
  { name: 'EC-P256', family: 'EC', curve: 'P-256' },
  { name: 'EC-P384', family: 'EC', curve: 'P-384' },
  { name: 'RSA-2048', family: 'RSA', bits: 2048 },
  { name: 'RSA-3072', family: 'RSA', bits: 3072 },
  { name: 'RSA-4096', family: 'RSA', bits: 4096 },
] as const satisfies readonly (EcRow | RsaRow)[];

export type LeafKeyType = (typeof LEAF_KEY_ROWS)[number]['name'];

export const LEAF_KEY_TYPES: readonly LeafKeyType[] = LEAF_KEY_ROWS.map((r) => r.name);

export function isLeafKeyType(v: unknown): v is LeafKeyType {
  return typeof v === 'string' && (LEAF_KEY_TYPES as readonly string[]).includes(v);
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
