// Leaf certificate building for the issuing CA. Everything that depends only on the issuer
// (its Name, AKI, the signature AlgorithmIdentifier, the CRL DP and AIA extensions, the fixed
// basicConstraints/keyUsage/EKU encodings) is encoded once in createLeafBuilder; buildTbs then
// only encodes the serial, validity, subject, SAN and SKI and concatenates DER.
import {
  AccessDescription,
  AuthorityInfoAccessSyntax,
  AuthorityKeyIdentifier,
  BasicConstraints,
  CRLDistributionPoints,
  DistributionPoint,
  DistributionPointName,
  ExtendedKeyUsage,
  GeneralName,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_cRLDistributionPoints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_pe_authorityInfoAccess,
  KeyIdentifier,
  KeyUsage,
  KeyUsageFlags,
} from '@peculiar/asn1-x509';
import { concat, octetString, seq, TAG, tlv } from '../../shared/der.ts';
import { parseIp } from '../../shared/identifiers.ts';
import { keyTypeRow, spkiFitsKeyType } from '../../shared/key-types.ts';
import type { Identifier } from '../../shared/problems.ts';
import type { CaKeyType } from '../ca-signer.ts';
import type { Eku, LeafKeyType } from '../config.ts';
import {
  type Bytes,
  caKeyTypeOfSpki,
  checkSerial,
  der,
  encodeTbsCertificate,
  extension,
  type IssuerFacts,
  issuerFacts,
  OID,
  sha1,
  signatureAlgorithm,
  signedEnvelope,
  spkiParts,
} from './common.ts';

export { randomSerial } from './common.ts';

export interface LeafIssuer {
  /** the issuing CA certificate (DER) */
  certDer: Uint8Array;
  keyType: CaKeyType;
  /** CRL distribution point URL put in every leaf */
  crlUrl?: string;
  /** AIA caIssuers URL put in every leaf */
  caIssuersUrl?: string;
}

export interface LeafParams {
  /** positive, >= 64 random bits, 8..20 octets, first octet 0x01..0x7f (see randomSerial) */
  serial: Uint8Array;
  /** SubjectPublicKeyInfo DER of the leaf key (from the CSR) */
  spki: Uint8Array;
  /** canonical identifiers, in the order they should appear; the first DNS one may become the CN */
  identifiers: Identifier[];
  notBefore: Date;
  notAfter: Date;
  ekus: Eku[];
  leafKeyType: LeafKeyType;
}

export interface LeafBuilder {
  readonly issuer: IssuerFacts;
  readonly keyType: CaKeyType;
  /** DER signatureAlgorithm the CA signs leaves with */
  readonly signatureAlgorithm: Bytes;
  /** TBSCertificate DER for the CA signer to sign. Throws RangeError/TypeError on bad parameters. */
  buildTbs(p: LeafParams): Bytes;
  /** The DER Certificate from a TBS and the signature CaSigner.sign returned for it. */
  assemble(tbs: Uint8Array, signature: Uint8Array): Bytes;
}

// Per-certificate extension headers: SEQUENCE { extnID, [critical TRUE] } are fixed bytes.
const SAN_OID = Uint8Array.of(TAG.OID, 3, 0x55, 0x1d, 0x11); // 2.5.29.17
const SKI_OID = Uint8Array.of(TAG.OID, 3, 0x55, 0x1d, 0x0e); // 2.5.29.14
const CN_OID = Uint8Array.of(TAG.OID, 3, 0x55, 0x04, 0x03); // 2.5.4.3
const CRITICAL = Uint8Array.of(TAG.BOOLEAN, 1, 0xff);
const EMPTY_NAME = Uint8Array.of(TAG.SEQUENCE, 0);
/** X.520 ub-common-name: a CN holds at most 64 characters. */
const CN_MAX = 64;

const DNS_CHARS = /^[a-z0-9*.-]{1,253}$/;
const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

export function createLeafBuilder(issuer: LeafIssuer): LeafBuilder {
  const facts = issuerFacts(issuer.certDer);
  const issuerKeyType = caKeyTypeOfSpki(facts.spki);
  if (issuerKeyType !== issuer.keyType) {
    throw new TypeError(
      `issuer certificate holds a ${issuerKeyType ?? 'unsupported'} key, not ${issuer.keyType}`,
    );
  }
  const sigAlg = signatureAlgorithm(issuer.keyType);
  const fixedHead = extension(id_ce_basicConstraints, true, der(new BasicConstraints({ cA: false })));
  const keyUsage = (flags: number) => extension(id_ce_keyUsage, true, der(new KeyUsage(flags)));
  // RFC 5280 §4.2.1.3 / CA/B BR 7.1.2.7.11: keyEncipherment only for RSA keys (RSA key transport).
  const kuEc = keyUsage(KeyUsageFlags.digitalSignature);
  const kuRsa = keyUsage(KeyUsageFlags.digitalSignature | KeyUsageFlags.keyEncipherment);
  const tail: Uint8Array[] = [
    extension(
      id_ce_authorityKeyIdentifier,
      false,
      der(new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(facts.keyId) })),
    ),
  ];
  if (issuer.crlUrl) {
    const dp = new DistributionPoint({
      distributionPoint: new DistributionPointName({
        fullName: [new GeneralName({ uniformResourceIdentifier: issuer.crlUrl })],
      }),
    });
    tail.push(extension(id_ce_cRLDistributionPoints, false, der(new CRLDistributionPoints([dp]))));
  }
  if (issuer.caIssuersUrl) {
    const ad = new AccessDescription({
      accessMethod: OID.caIssuers,
      accessLocation: new GeneralName({ uniformResourceIdentifier: issuer.caIssuersUrl }),
    });
    tail.push(extension(id_pe_authorityInfoAccess, false, der(new AuthorityInfoAccessSyntax([ad]))));
  }
  const tailDer = concat(tail);
  const ekuCache = new Map<string, Uint8Array>();
  const ekuExtension = (ekus: Eku[]): Uint8Array => {
    const list = [...new Set(ekus)];
    const key = list.join(',');
    let ext = ekuCache.get(key);
    if (!ext) {
      const oids = list.map((e) => {
        if (e === 'serverAuth') return OID.serverAuth;
        if (e === 'clientAuth') return OID.clientAuth;
        throw new TypeError(`unknown extended key usage "${String(e)}"`);
      });
      ext =
        list.length === 0
          ? new Uint8Array(0)
          : extension(id_ce_extKeyUsage, false, der(new ExtendedKeyUsage(oids)));
      ekuCache.set(key, ext);
    }
    return ext;
  };

  function buildTbs(p: LeafParams): Bytes {
    checkSerial(p.serial);
    if (p.identifiers.length === 0) throw new RangeError('a leaf certificate needs at least one identifier');
    if (p.notAfter.getTime() > facts.notAfter.getTime()) {
      throw new RangeError(
        `notAfter ${p.notAfter.toISOString()} is past the issuer's ${facts.notAfter.toISOString()}`,
      );
    }
    const spki = spkiParts(p.spki); // throws on a malformed key
    if (!spkiFitsKeyType(p.leafKeyType, spki)) {
      throw new TypeError(`leaf key type ${p.leafKeyType} does not match the SubjectPublicKeyInfo`);
    }
    // RFC 5280 §4.2.1.3: an RSA key may encipher keys (TLS 1.2 RSA key exchange); an EC key only signs.
    const isRsa = keyTypeRow(p.leafKeyType).family === 'RSA';
    const names: Uint8Array[] = [];
    for (const id of p.identifiers) {
      if (id.type === 'dns') {
        // Canonical names are LDH A-labels; anything else would not survive IA5String.
        if (!DNS_CHARS.test(id.value)) throw new TypeError(`"${id.value}" is not a canonical DNS name`);
        names.push(tlv(0x82, ascii(id.value))); // [2] IMPLICIT IA5String dNSName
      } else if (id.type === 'ip') {
        const ip = parseIp(id.value);
        if (!ip) throw new TypeError(`"${id.value}" is not an IP address`);
        names.push(tlv(0x87, ip)); // [7] IMPLICIT OCTET STRING iPAddress
      } else {
        throw new TypeError(`unsupported identifier type "${String((id as Identifier).type)}"`);
      }
    }
    const first = p.identifiers[0] as Identifier;
    // RFC 5280 §4.2.1.6: with an empty subject the SAN must be critical. The CN, when present,
    // repeats the first DNS name (CA/B BR 7.1.4.3); an IP-first or over-long name leaves it empty.
    const cn = first.type === 'dns' && first.value.length <= CN_MAX ? first.value : undefined;
    const subjectName = cn ? seq(tlv(TAG.SET, seq(CN_OID, tlv(TAG.UTF8_STRING, ascii(cn))))) : EMPTY_NAME;
    const san = cn
      ? seq(SAN_OID, octetString(seq(...names)))
      : seq(SAN_OID, CRITICAL, octetString(seq(...names)));
    const ski = seq(SKI_OID, octetString(octetString(sha1(spki.publicKey))));
    return encodeTbsCertificate({
      serial: p.serial,
      signatureAlgorithm: sigAlg,
      issuerName: facts.subjectName,
      notBefore: p.notBefore,
      notAfter: p.notAfter,
      subjectName,
      spki: p.spki,
      extensions: [fixedHead, isRsa ? kuRsa : kuEc, ekuExtension(p.ekus), san, ski, tailDer].filter(
        (e) => e.length > 0,
      ),
    });
  }

  return {
    issuer: facts,
    keyType: issuer.keyType,
    signatureAlgorithm: sigAlg,
    buildTbs,
    assemble: (tbs, signature) => signedEnvelope(tbs, sigAlg, signature),
  };
}
