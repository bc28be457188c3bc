// What the leaf, CA and CRL builders share: signature algorithms per CA key type, extension
// encoding, key identifiers, SubjectPublicKeyInfo inspection, and the issuer facts read once
// from the issuing CA certificate (its subject Name DER, key identifier, validity).
import { createHash } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, Certificate, Extension, id_ce_subjectKeyIdentifier } from '@peculiar/asn1-x509';
import {
  type Bytes,
  bitString,
  children,
  content,
  explicit,
  OID,
  readTlv,
  seq,
  spkiParts,
  TAG,
  time,
  unsignedInteger,
  whole,
} from '../../shared/der.ts';
import { type CaKeyType, caKeyTypeOfSpkiParts, keyTypeRow } from '../../shared/key-types.ts';

export { type Bytes, OID, spkiParts };

export const der = (value: unknown): Bytes => new Uint8Array(AsnConvert.serialize(value));

/**
 * X.509 signatureAlgorithm for a CA key, its row's signatureOid (shared/key-types.ts): ECDSA with
 * SHA-256 (P-256) / SHA-384 (P-384), RSA PKCS#1 v1.5 with SHA-256.
 */
export function signatureAlgorithm(keyType: CaKeyType): Bytes {
  const row = keyTypeRow(keyType);
  // RFC 4055 §5: the parameters of sha256WithRSAEncryption are NULL; RFC 5758 §3.2: ECDSA's are absent.
  if (row.family === 'RSA')
    return der(new AlgorithmIdentifier({ algorithm: row.signatureOid, parameters: null }));
  return der(new AlgorithmIdentifier({ algorithm: row.signatureOid }));
}

/** The digest a CA key of this type signs with, as node:crypto names it (its row's hash). */
export function caSignatureHash(keyType: CaKeyType): 'sha256' | 'sha384' {
  return keyTypeRow(keyType).hash === 'SHA-384' ? 'sha384' : 'sha256';
}

/** One Extension DER (RFC 5280 §4.1): `critical` is omitted when false (DER DEFAULT). */
export function extension(extnID: string, critical: boolean, valueDer: Uint8Array): Bytes {
  return der(new Extension({ extnID, critical, extnValue: new OctetString(valueDer) }));
}

/** The CA key type a SubjectPublicKeyInfo holds, or undefined when it is none the CA supports. */
export function caKeyTypeOfSpki(spki: Uint8Array): CaKeyType | undefined {
  return caKeyTypeOfSpkiParts(spkiParts(spki));
}

/** RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING value. */
export function keyIdentifier(spki: Uint8Array): Bytes {
  return sha1(spkiParts(spki).publicKey);
}

export const sha1 = (data: Uint8Array): Bytes => new Uint8Array(createHash('sha1').update(data).digest());

/** Two SubjectPublicKeyInfos name the same key (compared by algorithm, curve and key bits, not encoding). */
export function sameKey(a: Uint8Array, b: Uint8Array): boolean {
  const pa = spkiParts(a);
  const pb = spkiParts(b);
  return (
    pa.algorithm === pb.algorithm &&
    pa.curve === pb.curve &&
    Buffer.from(pa.publicKey).equals(Buffer.from(pb.publicKey))
  );
}

export interface IssuerFacts {
  certDer: Uint8Array;
  /** the issuer certificate's subject Name, byte for byte (RFC 5280 §7.1 name chaining) */
  subjectName: Bytes;
  spki: Bytes;
  /** its subjectKeyIdentifier, or the method-1 identifier of its key when it has none */
  keyId: Bytes;
  notBefore: Date;
  notAfter: Date;
}

export function issuerFacts(certDer: Uint8Array): IssuerFacts {
  const cert = AsnConvert.parse(certDer, Certificate);
  const outer = readTlv(certDer);
  const tbs = children(certDer, outer)[0];
  if (!tbs) throw new TypeError('not a certificate');
  const fields = children(certDer, tbs);
  // TBSCertificate: [0] version, serial, signature, issuer, validity, subject, spki, ...
  const base = fields[0]?.tag === 0xa0 ? 1 : 0;
  const subject = fields[base + 4];
  const spki = fields[base + 5];
  if (!subject || !spki) throw new TypeError('certificate TBS is truncated');
  const spkiDer = whole(certDer, spki).slice();
  const skiExt = cert.tbsCertificate.extensions?.find((e) => e.extnID === id_ce_subjectKeyIdentifier);
  const keyId = skiExt
    ? content(
        new Uint8Array(skiExt.extnValue.buffer),
        readTlv(new Uint8Array(skiExt.extnValue.buffer)),
      ).slice()
    : keyIdentifier(spkiDer);
  return {
    certDer,
    subjectName: whole(certDer, subject).slice(),
    spki: spkiDer,
    keyId,
    notBefore: cert.tbsCertificate.validity.notBefore.getTime(),
    notAfter: cert.tbsCertificate.validity.notAfter.getTime(),
  };
}

/** RFC 5280 §4.1.2.2: positive, at most 20 octets, minimally encoded; we also want >= 64 bits. */
export function checkSerial(serial: Uint8Array): void {
  if (serial.length < 8 || serial.length > 20) throw new RangeError('serial must be 8 to 20 octets');
  const first = serial[0] as number;
  if (first >= 0x80) throw new RangeError('serial must be positive (first octet < 0x80)');
  if (first === 0) throw new RangeError('serial must be minimally encoded (no leading zero octet)');
}

/** A fresh certificate serial: 16 octets, 127 bits from the CSPRNG, positive and minimally encoded. */
export function randomSerial(): Bytes {
  const s = crypto.getRandomValues(new Uint8Array(16));
  s[0] = (s[0] as number) & 0x7f || 0x01;
  return s;
}

export interface TbsFields {
  serial: Uint8Array;
  signatureAlgorithm: Uint8Array;
  issuerName: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  subjectName: Uint8Array;
  spki: Uint8Array;
  /** DER Extension elements, in order */
  extensions: Uint8Array[];
}

/** TBSCertificate (RFC 5280 §4.1), always v3. */
export function encodeTbsCertificate(f: TbsFields): Bytes {
  if (!(f.notAfter.getTime() > f.notBefore.getTime()))
    throw new RangeError('notAfter must be after notBefore');
  return seq(
    explicit(0, Uint8Array.of(TAG.INTEGER, 1, 2)),
    unsignedInteger(f.serial),
    f.signatureAlgorithm,
    f.issuerName,
    seq(time(f.notBefore), time(f.notAfter)),
    f.subjectName,
    f.spki,
    explicit(3, seq(...f.extensions)),
  );
}

/** Certificate or CertificateList: SEQUENCE { tbs, signatureAlgorithm, signatureValue BIT STRING }. */
export function signedEnvelope(
  tbs: Uint8Array,
  signatureAlgorithmDer: Uint8Array,
  signature: Uint8Array,
): Bytes {
  return seq(tbs, signatureAlgorithmDer, bitString(signature));
}
