// A minimal DER writer and reader (X.690 §8, §10), Web APIs only. The signer's certificate builder
// encodes the parts that never change per issuer once with @peculiar/asn1-x509 and concatenates
// the per-certificate TBSCertificate from DER pieces here, an order of magnitude cheaper than
// building and serialising an ASN.1 object tree; the CSR parser uses the reader to keep raw bytes.

/** Bytes this module creates: backed by a plain ArrayBuffer, so they pass as BufferSource everywhere. */
export type Bytes = Uint8Array<ArrayBuffer>;

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  UTF8_STRING: 0x0c,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

export function concat(parts: readonly Uint8Array[]): Bytes {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function lengthBytes(n: number): Bytes {
  if (n < 0x80) return Uint8Array.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/** One TLV with a single-byte tag whose content is the concatenation of `parts`. */
export function tlv(tag: number, ...parts: Uint8Array[]): Bytes {
  const content = parts.length === 1 ? (parts[0] as Uint8Array) : concat(parts);
  const len = lengthBytes(content.length);
  const out = new Uint8Array(1 + len.length + content.length);
  out[0] = tag;
  out.set(len, 1);
  out.set(content, 1 + len.length);
  return out;
}

export const seq = (...parts: Uint8Array[]): Bytes => tlv(TAG.SEQUENCE, ...parts);

/** INTEGER from unsigned big-endian magnitude bytes: leading zeros trimmed, 0x00 added when the top bit is set. */
export function unsignedInteger(magnitude: Uint8Array): Bytes {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  let body = magnitude.subarray(i);
  if (body.length === 0) body = Uint8Array.of(0);
  if ((body[0] as number) & 0x80) body = concat([Uint8Array.of(0), body]);
  return tlv(TAG.INTEGER, body);
}

export function bigintToBytes(n: bigint): Bytes {
  if (n < 0n) throw new RangeError('only non-negative integers are encoded here');
  const hex = n.toString(16);
  const padded = hex.length % 2 ? `0${hex}` : hex;
  const out = new Uint8Array(padded.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(padded.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export const bitString = (bytes: Uint8Array): Bytes => tlv(TAG.BIT_STRING, Uint8Array.of(0), bytes);
export const octetString = (bytes: Uint8Array): Bytes => tlv(TAG.OCTET_STRING, bytes);
export const explicit = (n: number, ...parts: Uint8Array[]): Bytes => tlv(0xa0 | n, ...parts);

const two = (n: number): string => String(n).padStart(2, '0');

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; seconds, always Zulu. */
export function time(d: Date): Bytes {
  const y = d.getUTCFullYear();
  if (y < 1950 || y > 9999) throw new RangeError(`date ${d.toISOString()} cannot be encoded in X.509`);
  const rest = two(d.getUTCMonth() + 1) + two(d.getUTCDate()) + two(d.getUTCHours()) + two(d.getUTCMinutes());
  const text = `${rest}${two(d.getUTCSeconds())}Z`;
  const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
  if (y < 2050) return tlv(TAG.UTC_TIME, ascii(two(y % 100) + text));
  return tlv(TAG.GENERALIZED_TIME, ascii(String(y) + text));
}

export interface Tlv {
  tag: number;
  /** offset of the tag byte */
  start: number;
  /** offset of the first content byte */
  contentStart: number;
  /** offset just past the content */
  end: number;
}

/** Reads the TLV at `offset` (single-byte tags, definite lengths: DER). Throws on truncation. */
export function readTlv(buf: Uint8Array, offset = 0, limit = buf.length): Tlv {
  if (offset + 2 > limit) throw new RangeError('DER: truncated header');
  const tag = buf[offset] as number;
  if ((tag & 0x1f) === 0x1f) throw new RangeError('DER: multi-byte tags are not used here');
  let len = buf[offset + 1] as number;
  let contentStart = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || contentStart + n > limit) throw new RangeError('DER: bad length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (buf[contentStart + i] as number);
    contentStart += n;
  }
  const end = contentStart + len;
  if (end > limit) throw new RangeError('DER: content runs past its container');
  return { tag, start: offset, contentStart, end };
}

/** The child TLVs of a constructed TLV. */
export function children(buf: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let off = parent.contentStart; off < parent.end; ) {
    const t = readTlv(buf, off, parent.end);
    out.push(t);
    off = t.end;
  }
  return out;
}

export const whole = (buf: Uint8Array, t: Tlv): Uint8Array => buf.subarray(t.start, t.end);
export const content = (buf: Uint8Array, t: Tlv): Uint8Array => buf.subarray(t.contentStart, t.end);

/**
 * RFC 3279 §2.2.3: X.509 carries ECDSA signatures as DER Ecdsa-Sig-Value; PKCS#11 and WebCrypto
 * return them as raw r||s of twice the field size.
 */
export function ecdsaRawToDer(raw: Uint8Array): Bytes {
  if (raw.length === 0 || raw.length % 2 !== 0) throw new RangeError('raw ECDSA signature must be r||s');
  const half = raw.length / 2;
  return seq(unsignedInteger(raw.subarray(0, half)), unsignedInteger(raw.subarray(half)));
}

/** The inverse, for verifying with WebCrypto: DER Ecdsa-Sig-Value to r||s of `size` bytes each. */
export function ecdsaDerToRaw(der: Uint8Array, size: number): Bytes {
  const outer = readTlv(der);
  if (outer.tag !== TAG.SEQUENCE || outer.end !== der.length) throw new RangeError('not an Ecdsa-Sig-Value');
  const parts = children(der, outer);
  if (parts.length !== 2) throw new RangeError('not an Ecdsa-Sig-Value');
  const out = new Uint8Array(2 * size);
  parts.forEach((p, i) => {
    if (p.tag !== TAG.INTEGER) throw new RangeError('not an Ecdsa-Sig-Value');
    let v = content(der, p);
    while (v.length > 1 && v[0] === 0) v = v.subarray(1);
    if (v.length > size) throw new RangeError('ECDSA signature component too long');
    out.set(v, (i + 1) * size - v.length);
  });
  return out;
}

export const OID = {
  ecPublicKey: '1.2.840.10045.2.1',
  rsaEncryption: '1.2.840.113549.1.1.1',
  ed25519: '1.3.101.112',
  ed448: '1.3.101.113',
  p256: '1.2.840.10045.3.1.7',
  p384: '1.3.132.0.34',
  p521: '1.3.132.0.35',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  ecdsaWithSha512: '1.2.840.10045.4.3.4',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  sha384WithRsa: '1.2.840.113549.1.1.12',
  sha512WithRsa: '1.2.840.113549.1.1.13',
  extensionRequest: '1.2.840.113549.1.9.14',
  commonName: '2.5.4.3',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  caIssuers: '1.3.6.1.5.5.7.48.2',
} as const;

export interface SpkiParts {
  algorithm: string;
  /** the curve OID for EC keys */
  curve?: string;
  /** RSA modulus size in bits */
  modulusBits?: number;
  /** the subjectPublicKey BIT STRING's bits (without the unused-bits octet) */
  publicKey: Uint8Array;
}

/** Dotted text of an OBJECT IDENTIFIER's content octets (X.690 §8.19). */
export function oidText(bytes: Uint8Array): string {
  const arcs: number[] = [];
  let v = 0;
  for (const b of bytes) {
    v = v * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      if (arcs.length === 0) arcs.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else arcs.push(v);
      v = 0;
    }
  }
  return arcs.join('.');
}

/** An OBJECT IDENTIFIER's DER, tag and length included, from its dotted text (X.690 §8.19). */
export function oidDer(dotted: string): Bytes {
  const [first = 0, second = 0, ...rest] = dotted.split('.').map(Number);
  const octets: number[] = [];
  for (const arc of [first * 40 + second, ...rest]) {
    const base128 = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) base128.unshift((v & 0x7f) | 0x80);
    octets.push(...base128);
  }
  return tlv(TAG.OID, Uint8Array.from(octets));
}

/** Splits a SubjectPublicKeyInfo DER (RFC 5280 §4.1.2.7) without a full ASN.1 parse. Throws on malformed input. */
export function spkiParts(spki: Uint8Array): SpkiParts {
  const outer = readTlv(spki);
  if (outer.tag !== TAG.SEQUENCE || outer.end !== spki.length)
    throw new TypeError('not a SubjectPublicKeyInfo');
  const [alg, key] = children(spki, outer);
  if (!alg || !key || alg.tag !== TAG.SEQUENCE || key.tag !== TAG.BIT_STRING) {
    throw new TypeError('not a SubjectPublicKeyInfo');
  }
  const [algOid, params] = children(spki, alg);
  if (!algOid || algOid.tag !== TAG.OID) throw new TypeError('SubjectPublicKeyInfo has no algorithm OID');
  const bits = content(spki, key);
  if (bits[0] !== 0) throw new TypeError('subjectPublicKey has unused bits');
  const out: SpkiParts = { algorithm: oidText(content(spki, algOid)), publicKey: bits.subarray(1) };
  if (out.algorithm === OID.ecPublicKey && params?.tag === TAG.OID)
    out.curve = oidText(content(spki, params));
  if (out.algorithm === OID.rsaEncryption) {
    const rsaKey = readTlv(out.publicKey);
    if (rsaKey.tag !== TAG.SEQUENCE) throw new TypeError('RSA public key is not a SEQUENCE');
    const modulus = children(out.publicKey, rsaKey)[0];
    if (!modulus || modulus.tag !== TAG.INTEGER) throw new TypeError('RSA public key has no modulus');
    let m = content(out.publicKey, modulus);
    while (m.length > 1 && m[0] === 0) m = m.subarray(1);
    out.modulusBits = m.length === 0 ? 0 : (m.length - 1) * 8 + (32 - Math.clz32(m[0] as number));
  }
  return out;
}
