// CA certificates (a self-signed root, an intermediate signed by it) and the PKCS#10 request an
// offline root signs instead. Rare and not performance-critical: built with @peculiar/asn1-x509
// objects, signed through a CaSigner so the key stays in the HSM.
import 'reflect-metadata'; // @peculiar/x509's Name parser registers tsyringe services on import
import { Attributes, CertificationRequestInfo } from '@peculiar/asn1-csr';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  Name as AsnName,
  AuthorityKeyIdentifier,
  BasicConstraints,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_keyUsage,
  id_ce_subjectKeyIdentifier,
  KeyIdentifier,
  KeyUsage,
  KeyUsageFlags,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
} from '@peculiar/asn1-x509';
import { Name } from '@peculiar/x509';
import { CA_KEY_TYPES } from '../../shared/key-types.ts';
import type { CaSigner } from '../ca-signer.ts';
import {
  type Bytes,
  caKeyTypeOfSpki,
  der,
  encodeTbsCertificate,
  extension,
  issuerFacts,
  keyIdentifier,
  randomSerial,
  sameKey,
  signatureAlgorithm,
  signedEnvelope,
} from './common.ts';

/** DER Name from RFC 4514-style text, e.g. `CN=edgeca Root CA, O=Example`. */
export function encodeName(dn: string): Bytes {
  const der = new Uint8Array(new Name(dn).toArrayBuffer());
  if (AsnConvert.parse(der, AsnName).length === 0)
    throw new TypeError(`"${dn}" is an empty distinguished name`);
  return der;
}

export interface CaCertificateParams {
  /** RFC 4514-style subject, e.g. `CN=edgeca Root CA` */
  subject: string;
  /** SubjectPublicKeyInfo DER of the CA key being certified */
  subjectSpki: Uint8Array;
  /** signs the certificate: the root key itself (self-signed), or the issuer's key */
  signer: CaSigner;
  /** the issuer's certificate; absent for a self-signed root */
  issuerCertDer?: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  /** basicConstraints pathLenConstraint; absent means unlimited (a root) */
  pathLen?: number;
  serial?: Uint8Array;
  /** a NameConstraints extension DER (x509/name-constraints.ts), for an intermediate */
  nameConstraints?: Bytes;
}

/**
 * A CA certificate: basicConstraints CA:TRUE (critical, with pathLen when given), keyUsage
 * keyCertSign + cRLSign (critical), SKI (RFC 5280 §4.2.1.2 method 1), name constraints when
 * given and, when issued by another CA, AKI = the issuer's key identifier (RFC 5280 §4.2.1.1).
 */
export async function buildCaCertificate(p: CaCertificateParams): Promise<Bytes> {
  const subjectName = encodeName(p.subject);
  let issuerName = subjectName;
  let issuerKeyId: Uint8Array | undefined;
  if (p.issuerCertDer) {
    const issuer = issuerFacts(p.issuerCertDer);
    if (!sameKey(issuer.spki, p.signer.spki))
      throw new TypeError('the signer does not hold the issuer certificate key');
    issuerName = issuer.subjectName;
    issuerKeyId = issuer.keyId;
  } else if (!sameKey(p.subjectSpki, p.signer.spki)) {
    throw new TypeError('a self-signed certificate must be signed by its own key');
  }
  if (!caKeyTypeOfSpki(p.subjectSpki))
    throw new TypeError(`the CA key is of none of the CA key types ${CA_KEY_TYPES.join(', ')}`);
  const extensions = [
    extension(
      id_ce_basicConstraints,
      true,
      der(
        new BasicConstraints(
          p.pathLen === undefined ? { cA: true } : { cA: true, pathLenConstraint: p.pathLen },
        ),
      ),
    ),
    extension(id_ce_keyUsage, true, der(new KeyUsage(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign))),
    extension(id_ce_subjectKeyIdentifier, false, der(new SubjectKeyIdentifier(keyIdentifier(p.subjectSpki)))),
  ];
  if (p.nameConstraints) extensions.push(p.nameConstraints);
  if (issuerKeyId) {
    extensions.push(
      extension(
        id_ce_authorityKeyIdentifier,
        false,
        der(new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(issuerKeyId) })),
      ),
    );
  }
  const sigAlg = signatureAlgorithm(p.signer.keyType);
  const tbs = encodeTbsCertificate({
    serial: p.serial ?? randomSerial(),
    signatureAlgorithm: sigAlg,
    issuerName,
    notBefore: p.notBefore,
    notAfter: p.notAfter,
    subjectName,
    spki: p.subjectSpki,
    extensions,
  });
  return signedEnvelope(tbs, sigAlg, await p.signer.sign(tbs));
}

/**
 * A PKCS#10 request (RFC 2986) for an intermediate whose root is kept offline: the subject and
 * the token key, signed by that key (proof of possession), no attributes.
 */
export async function buildCaCsr(p: { subject: string; signer: CaSigner }): Promise<Bytes> {
  const info = new CertificationRequestInfo({
    version: 0,
    subject: AsnConvert.parse(encodeName(p.subject), AsnName),
    subjectPKInfo: AsnConvert.parse(p.signer.spki, SubjectPublicKeyInfo),
    attributes: new Attributes(),
  });
  const infoDer = der(info);
  // CertificationRequest has the same SEQUENCE { tbs, algorithm, BIT STRING } shape as a certificate.
  return signedEnvelope(infoDer, signatureAlgorithm(p.signer.keyType), await p.signer.sign(infoDer));
}
