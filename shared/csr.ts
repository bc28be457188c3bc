// PKCS#10 certificate requests (RFC 2986) as ACME finalize receives them (RFC 8555 §7.4): the
// key, the identifiers asked for (SAN dNSName / iPAddress, canonical), the common name, whether
// a CA certificate is requested, and whether the self-signature verifies. Both the edge (to
// answer finalize) and the signer (which trusts nothing the edge says) call it. Web APIs and
// @peculiar/asn1-* only, so it runs on Node, Deno and Workers.

import { CertificationRequest } from '@peculiar/asn1-csr';
import { AsnConvert } from '@peculiar/asn1-schema';
import { BasicConstraints, Extensions } from '@peculiar/asn1-x509';
import {
  children,
  content,
  ecdsaDerToRaw,
  OID,
  oidText,
  readTlv,
  spkiParts,
  TAG,
  type Tlv,
  whole,
} from './der.ts';
import { canonicalIdentifiers, formatIp, normalizeIdentifier } from './identifiers.ts';
import { ecLeafKeyType, type LeafKeyType, rsaLeafKeyType } from './key-types.ts';
import { AcmeProblem, type Identifier } from './problems.ts';

export type { LeafKeyType };

export interface ParsedCsr {
  /** SubjectPublicKeyInfo DER, byte for byte as in the CSR */
  spki: Uint8Array;
  keyType: LeafKeyType | 'unsupported';
  /** human-readable key, e.g. "EC P-256", "RSA 1024-bit", "Ed25519" */
  keyDescription: string;
  /** SAN dNSName and iPAddress entries, canonical, sorted and de-duplicated */
  identifiers: Identifier[];
  /** the first subject CN, when there is one */
  commonName?: string;
  /** basicConstraints with cA TRUE is requested */
  requestsCa: boolean;
  /** the self-signature verifies with the CSR's own key */
  signatureValid: boolean;
  /** the signature algorithm's OID, for diagnostics */
  signatureAlgorithm: string;
  /** SAN entries of any type other than dNSName / iPAddress, described (e.g. "email:a@b.test") */
  otherSans: string[];
}

export interface SigAlg {
  family: 'EC' | 'RSA' | 'Ed25519';
  hash?: 'SHA-256' | 'SHA-384' | 'SHA-512';
}

/**
 * A runtime's own check of the CSR's self-signature (the signer passes node:crypto's, synchronous,
 * where WebCrypto imports the key and verifies in two queued jobs): true when `signature` by the
 * key `spki` verifies over `signed` with `alg`. An ECDSA signature is given as r||s, as WebCrypto
 * takes it (parseCsr reads the CSR's DER Ecdsa-Sig-Value once, the same way for both checks).
 * parseCsr has already checked that the key's family is the algorithm's.
 */
export type CsrSignatureCheck = (
  spki: Uint8Array,
  alg: SigAlg,
  signed: Uint8Array,
  signature: Uint8Array,
) => boolean;

const SIGNATURE_ALGORITHMS: Record<string, SigAlg> = {
  [OID.ecdsaWithSha256]: { family: 'EC', hash: 'SHA-256' },
  [OID.ecdsaWithSha384]: { family: 'EC', hash: 'SHA-384' },
  [OID.ecdsaWithSha512]: { family: 'EC', hash: 'SHA-512' },
  [OID.sha256WithRsa]: { family: 'RSA', hash: 'SHA-256' },
  [OID.sha384WithRsa]: { family: 'RSA', hash: 'SHA-384' },
  [OID.sha512WithRsa]: { family: 'RSA', hash: 'SHA-512' },
  [OID.ed25519]: { family: 'Ed25519' },
};

const CURVES: Record<string, { name: 'P-256' | 'P-384' | 'P-521'; size: number }> = {
  [OID.p256]: { name: 'P-256', size: 32 },
  [OID.p384]: { name: 'P-384', size: 48 },
  [OID.p521]: { name: 'P-521', size: 66 },
};

const bad = (detail: string): AcmeProblem => new AcmeProblem('badCSR', detail);

export interface ParseCsrOptions {
  /** the runtime's own signature check (default: WebCrypto) */
  verify?: CsrSignatureCheck;
  /** false: always read through the ASN.1 object model (tests compare it with the direct read) */
  plain?: boolean;
}

export async function parseCsr(der: Uint8Array, o: ParseCsrOptions = {}): Promise<ParsedCsr> {
  // The raw CertificationRequestInfo bytes are what was signed: take them from the input itself.
  let info: Uint8Array;
  let sigAlgOid: string;
  let signature: Uint8Array;
  let spki: Uint8Array;
  let csr: CertificationRequest | undefined;
  let facts: RequestFacts | undefined;
  let infoTlv: Tlv;
  try {
    const outer = readTlv(der);
    if (outer.tag !== TAG.SEQUENCE || outer.end !== der.length) throw new Error('not a single DER SEQUENCE');
    const top = children(der, outer);
    const [infoAt, algTlv, sigTlv] = top;
    if (!infoAt || !algTlv || !sigTlv || sigTlv.tag !== TAG.BIT_STRING)
      throw new Error('not a CertificationRequest');
    infoTlv = infoAt;
    info = whole(der, infoTlv);
    const spkiTlv = children(der, infoTlv)[2];
    if (!spkiTlv) throw new Error('CertificationRequestInfo has no subjectPKInfo');
    spki = whole(der, spkiTlv).slice();
    const algOid = children(der, algTlv)[0];
    if (!algOid || algOid.tag !== TAG.OID) throw new Error('signatureAlgorithm has no OID');
    sigAlgOid = oidText(content(der, algOid));
    const bits = content(der, sigTlv);
    if (bits[0] !== 0) throw new Error('signature BIT STRING has unused bits');
    signature = bits.subarray(1);
    facts = top.length === 3 && o.plain !== false ? plainFactsOrNone(der, infoTlv, algTlv) : undefined;
    if (!facts) csr = AsnConvert.parse(der, CertificationRequest);
  } catch (e) {
    throw bad(`the CSR is not a DER PKCS#10 CertificationRequest (${(e as Error).message})`);
  }
  if (csr && csr.certificationRequestInfo.version !== 0)
    throw bad(`CSR version ${csr.certificationRequestInfo.version} is not v1 (0)`);

  let key: ReturnType<typeof describeKey>;
  try {
    key = describeKey(spki);
  } catch (e) {
    throw bad(`the CSR public key cannot be decoded (${(e as Error).message})`);
  }
  if (!facts) facts = requestFacts(csr as CertificationRequest);

  const { commonName } = facts;
  const { identifiers, otherSans, requestsCa } = readExtensionRequest(facts);
  return {
    spki,
    keyType: key.keyType,
    keyDescription: key.description,
    identifiers,
    ...(commonName === undefined ? {} : { commonName }),
    requestsCa,
    signatureValid: await verifySignature(spki, key, sigAlgOid, info, signature, o.verify),
    signatureAlgorithm: sigAlgOid,
    otherSans,
  };
}

interface KeyFacts {
  keyType: LeafKeyType | 'unsupported';
  description: string;
  family?: SigAlg['family'];
  curve?: (typeof CURVES)[string];
}

function describeKey(spki: Uint8Array): KeyFacts {
  const p = spkiParts(spki);
  if (p.algorithm === OID.ecPublicKey) {
    const curve = p.curve ? CURVES[p.curve] : undefined;
    if (!curve)
      return { keyType: 'unsupported', description: `EC key on curve ${p.curve ?? '(explicit parameters)'}` };
    const keyType = ecLeafKeyType(curve.name) ?? 'unsupported';
    return { keyType, description: `EC ${curve.name}`, family: 'EC', curve };
  }
  if (p.algorithm === OID.rsaEncryption) {
    const bits = p.modulusBits ?? 0;
    // Modulus sizes are bucketed down to the nearest supported size (shared/key-types.ts).
    const keyType = rsaLeafKeyType(bits) ?? 'unsupported';
    return { keyType, description: `RSA ${bits}-bit`, family: 'RSA' };
  }
  if (p.algorithm === OID.ed25519)
    return { keyType: 'unsupported', description: 'Ed25519', family: 'Ed25519' };
  if (p.algorithm === OID.ed448) return { keyType: 'unsupported', description: 'Ed448' };
  return { keyType: 'unsupported', description: `key algorithm ${p.algorithm}` };
}

/**
 * What parseCsr reads of a CertificationRequestInfo besides its key: the first subject CN and the
 * extensionRequest attribute, or the reason it refuses them (`problem`, thrown after the key is
 * described, as before).
 */
interface RequestFacts {
  commonName?: string;
  /** the extensionRequest's extensions, as (extnID, extnValue contents) */
  extensions: { extnID: string; value: Uint8Array }[];
}

/** The facts through @peculiar/asn1-csr's object model: any CSR it can parse. */
function requestFacts(csr: CertificationRequest): RequestFacts {
  const cri = csr.certificationRequestInfo;
  let commonName: string | undefined;
  for (const rdn of cri.subject) {
    for (const atv of rdn) {
      if (atv.type === OID.commonName && commonName === undefined) commonName = atv.value.toString();
    }
  }
  const attrs = (cri.attributes ?? []).filter((a) => a.type === OID.extensionRequest);
  if (attrs.length > 1) throw bad('the CSR has more than one extensionRequest attribute');
  const values = attrs[0]?.values ?? [];
  if (values.length > 1) throw bad('the CSR extensionRequest attribute has more than one value');
  let exts: Extensions = new Extensions();
  if (values[0]) {
    try {
      exts = AsnConvert.parse(values[0], Extensions);
    } catch (e) {
      throw bad(`the CSR extensionRequest cannot be decoded (${(e as Error).message})`);
    }
  }
  return {
    ...(commonName === undefined ? {} : { commonName }),
    extensions: exts.map((e) => ({ extnID: e.extnID, value: new Uint8Array(e.extnValue.buffer) })),
  };
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The same facts read straight from the DER, for a CSR of the plain shape clients send: version 0,
 * a subject of UTF8String/PrintableString/IA5String values, an attributes [0] set, at most one
 * extensionRequest with one value, extensions of (OID, [BOOLEAN], OCTET STRING), no extension twice.
 * Anything else returns undefined and goes through the object model (requestFacts), which then
 * answers exactly as it always has: this path only skips building objects for a CSR that model
 * reads the same way (a CN value is a DirectoryString or IA5String it turns into the same text).
 */
function plainFactsOrNone(der: Uint8Array, infoTlv: Tlv, algTlv: Tlv): RequestFacts | undefined {
  try {
    return plainRequestFacts(der, infoTlv, algTlv);
  } catch {
    return undefined; // malformed: the object model refuses it, with the message it always gave
  }
}

function plainRequestFacts(der: Uint8Array, infoTlv: Tlv, algTlv: Tlv): RequestFacts | undefined {
  if (infoTlv.tag !== TAG.SEQUENCE || algTlv.tag !== TAG.SEQUENCE) return undefined;
  if (!plainAlgorithm(der, algTlv)) return undefined;
  const [version, subject, spkiTlv, attributes, ...more] = children(der, infoTlv);
  if (!version || !subject || !spkiTlv || !attributes || more.length > 0) return undefined;
  if (
    version.tag !== TAG.INTEGER ||
    version.end - version.contentStart !== 1 ||
    der[version.contentStart] !== 0
  )
    return undefined;
  if (subject.tag !== TAG.SEQUENCE || spkiTlv.tag !== TAG.SEQUENCE || attributes.tag !== 0xa0)
    return undefined;
  const [keyAlg, keyBits, ...keyRest] = children(der, spkiTlv);
  if (!keyAlg || keyBits?.tag !== TAG.BIT_STRING || keyRest.length > 0 || !plainAlgorithm(der, keyAlg))
    return undefined;
  if (keyBits.end === keyBits.contentStart || der[keyBits.contentStart] !== 0) return undefined;

  let commonName: string | undefined;
  for (const rdn of children(der, subject)) {
    if (rdn.tag !== TAG.SET) return undefined;
    const atvs = children(der, rdn);
    if (atvs.length === 0) return undefined;
    for (const atv of atvs) {
      if (atv.tag !== TAG.SEQUENCE) return undefined;
      const [type, value, ...rest] = children(der, atv);
      if (!type || !value || rest.length > 0 || !plainOid(der, type)) return undefined;
      const text = plainString(der, value);
      if (text === undefined) return undefined;
      if (commonName === undefined && oidText(content(der, type)) === OID.commonName) commonName = text;
    }
  }

  let requested: Tlv | undefined;
  for (const attr of children(der, attributes)) {
    if (attr.tag !== TAG.SEQUENCE) return undefined;
    const [type, values, ...rest] = children(der, attr);
    if (!type || !values || rest.length > 0 || !plainOid(der, type) || values.tag !== TAG.SET)
      return undefined;
    // Another attribute (challengePassword, say) is rare: the object model reads its values.
    if (oidText(content(der, type)) !== OID.extensionRequest) return undefined;
    const vs = children(der, values);
    if (requested || vs.length !== 1 || vs[0]?.tag !== TAG.SEQUENCE) return undefined;
    requested = vs[0];
  }

  const extensions: RequestFacts['extensions'] = [];
  const seen = new Set<string>();
  for (const ext of requested ? children(der, requested) : []) {
    if (ext.tag !== TAG.SEQUENCE) return undefined;
    const parts = children(der, ext);
    const [id, second, third, ...rest] = parts;
    if (!id || !second || rest.length > 0 || !plainOid(der, id)) return undefined;
    const critical = third ? second : undefined;
    const value = third ?? second;
    if (critical && (critical.tag !== TAG.BOOLEAN || critical.end - critical.contentStart !== 1))
      return undefined;
    if (value.tag !== TAG.OCTET_STRING) return undefined;
    const extnID = oidText(content(der, id));
    if (seen.has(extnID)) return undefined;
    seen.add(extnID);
    extensions.push({ extnID, value: content(der, value) });
  }
  return { ...(commonName === undefined ? {} : { commonName }), extensions };
}

/** An AlgorithmIdentifier of an OID and no parameters, NULL or an OID (a named curve). */
function plainAlgorithm(der: Uint8Array, t: Tlv): boolean {
  if (t.tag !== TAG.SEQUENCE) return false;
  const [oid, params, ...rest] = children(der, t);
  if (!oid || !plainOid(der, oid) || rest.length > 0) return false;
  return (
    params === undefined ||
    plainOid(der, params) ||
    (params.tag === TAG.NULL && params.end === params.contentStart)
  );
}

/** An OBJECT IDENTIFIER in minimal base-128: no subidentifier starts with 0x80 or runs off the end. */
function plainOid(der: Uint8Array, t: Tlv): boolean {
  if (t.tag !== TAG.OID || t.end === t.contentStart) return false;
  if ((der[t.end - 1] as number) & 0x80) return false;
  for (let i = t.contentStart; i < t.end; i++) {
    const starts = i === t.contentStart || !((der[i - 1] as number) & 0x80);
    if (starts && der[i] === 0x80) return false;
  }
  return true;
}

/** The text of a UTF8String, PrintableString or IA5String value; undefined for anything else. */
function plainString(der: Uint8Array, t: Tlv): string | undefined {
  const bytes = content(der, t);
  if (t.tag === TAG.UTF8_STRING) {
    try {
      return STRICT_UTF8.decode(bytes);
    } catch {
      return undefined;
    }
  }
  if (t.tag !== 0x13 && t.tag !== 0x16) return undefined; // PrintableString, IA5String
  for (const b of bytes) if (b > 0x7e || b < 0x20) return undefined;
  return latin1(bytes);
}

function readExtensionRequest(facts: RequestFacts): {
  identifiers: Identifier[];
  otherSans: string[];
  requestsCa: boolean;
} {
  const exts = facts.extensions;
  const seen = new Set<string>();
  for (const e of exts) {
    if (seen.has(e.extnID)) throw bad(`the CSR requests extension ${e.extnID} twice`);
    seen.add(e.extnID);
  }
  const bc = exts.find((e) => e.extnID === OID.basicConstraints);
  let requestsCa = false;
  if (bc) {
    try {
      requestsCa = AsnConvert.parse(bc.value, BasicConstraints).cA === true;
    } catch {
      throw bad('the CSR basicConstraints extension cannot be decoded');
    }
  }
  const san = exts.find((e) => e.extnID === OID.subjectAltName);
  const found = san ? readSan(san.value) : { ids: [], other: [] };
  return { identifiers: canonicalIdentifiers(found.ids), otherSans: found.other, requestsCa };
}

const latin1 = (b: Uint8Array): string => String.fromCharCode(...b);

/** GeneralNames (RFC 5280 §4.2.1.6) read tag by tag, so iPAddress octets are seen exactly. */
function readSan(value: Uint8Array): { ids: Identifier[]; other: string[] } {
  const ids: Identifier[] = [];
  const other: string[] = [];
  let names: ReturnType<typeof children>;
  try {
    const outer = readTlv(value);
    if (outer.tag !== TAG.SEQUENCE || outer.end !== value.length) throw new Error('not a SEQUENCE');
    names = children(value, outer);
  } catch (e) {
    throw bad(`the CSR subjectAltName cannot be decoded (${(e as Error).message})`);
  }
  for (const n of names) {
    const body = content(value, n);
    switch (n.tag) {
      case 0x82: {
        // dNSName: canonical through the same rules as newOrder identifiers.
        try {
          ids.push(normalizeIdentifier({ type: 'dns', value: latin1(body) }));
        } catch (e) {
          throw bad(
            `the CSR subjectAltName dNSName "${latin1(body)}" is not acceptable: ${(e as Error).message}`,
          );
        }
        break;
      }
      case 0x87:
        if (body.length !== 4 && body.length !== 16) {
          throw bad(`the CSR subjectAltName iPAddress has ${body.length} octets (expected 4 or 16)`);
        }
        ids.push({ type: 'ip', value: formatIp(body) });
        break;
      case 0x81:
        other.push(`email:${latin1(body)}`);
        break;
      case 0x86:
        other.push(`uri:${latin1(body)}`);
        break;
      case 0xa0: {
        const typeId = children(value, n)[0];
        other.push(`otherName:${typeId?.tag === TAG.OID ? oidText(content(value, typeId)) : '?'}`);
        break;
      }
      case 0x88:
        other.push(`registeredID:${oidText(body)}`);
        break;
      case 0xa4:
        other.push('directoryName');
        break;
      case 0xa3:
        other.push('x400Address');
        break;
      case 0xa5:
        other.push('ediPartyName');
        break;
      default:
        other.push(`GeneralName tag 0x${n.tag.toString(16)}`);
    }
  }
  return { ids, other };
}

async function verifySignature(
  spki: Uint8Array,
  key: KeyFacts,
  sigAlgOid: string,
  signed: Uint8Array,
  signature: Uint8Array,
  check?: CsrSignatureCheck,
): Promise<boolean> {
  const alg = SIGNATURE_ALGORITHMS[sigAlgOid];
  if (!alg || alg.family !== key.family) return false;
  if (alg.family === 'EC' && !key.curve) return false;
  try {
    if (check) {
      const sig = alg.family === 'EC' && key.curve ? ecdsaDerToRaw(signature, key.curve.size) : signature;
      return check(spki, alg, signed, sig);
    }
    if (alg.family === 'EC' && key.curve) {
      const pub = await crypto.subtle.importKey(
        'spki',
        spki as BufferSource,
        { name: 'ECDSA', namedCurve: key.curve.name },
        false,
        ['verify'],
      );
      // RFC 3279 §2.2.3: DER Ecdsa-Sig-Value; WebCrypto wants r||s.
      const raw = ecdsaDerToRaw(signature, key.curve.size);
      return await crypto.subtle.verify(
        { name: 'ECDSA', hash: alg.hash as string },
        pub,
        raw as BufferSource,
        signed as BufferSource,
      );
    }
    if (alg.family === 'RSA') {
      const pub = await crypto.subtle.importKey(
        'spki',
        spki as BufferSource,
        { name: 'RSASSA-PKCS1-v1_5', hash: alg.hash as string },
        false,
        ['verify'],
      );
      return await crypto.subtle.verify(
        'RSASSA-PKCS1-v1_5',
        pub,
        signature as BufferSource,
        signed as BufferSource,
      );
    }
    if (alg.family === 'Ed25519') {
      const pub = await crypto.subtle.importKey('spki', spki as BufferSource, { name: 'Ed25519' }, false, [
        'verify',
      ]);
      return await crypto.subtle.verify('Ed25519', pub, signature as BufferSource, signed as BufferSource);
    }
  } catch {
    // A key or signature WebCrypto cannot take (malformed, unsupported on this runtime) does not verify.
  }
  return false;
}
