// Test support for the signer service: a software CA (WebCrypto P-256 keys, never used outside
// tests), a CaSigner over it that counts signatures and can be made "unavailable", CSRs, relay keys
// and a config. The production certificate code lives in signer/x509/ and shared/csr.ts; the
// software CertTools here only lets the service be tested without it (softTools()).
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import * as asn from '@peculiar/asn1-x509';
import * as x509 from '@peculiar/x509';
import { exportJWK, generateKeyPair } from 'jose';
import { ecdsaRawToDer } from '../../shared/der.ts';
import { derToPem, toHex } from '../../shared/encoding.ts';
import type { RelayKey } from '../../shared/relay.ts';
import { type CaSigner, HsmUnavailableError } from '../../signer/ca-signer.ts';
import type { SignerConfig } from '../../signer/config.ts';
import type { CertTools, ServiceCsr } from '../../signer/service/types.ts';

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const ECDSA_SHA256 = '1.2.840.10045.4.3.2';

export interface SoftCa {
  rootPem: string;
  issuerPem: string;
  issuerDer: Uint8Array;
  signer: CountingSigner;
}

export interface CountingSigner extends CaSigner {
  calls: number;
  /** while true, sign() throws HsmUnavailableError */
  unavailable: boolean;
}

/** A root and an intermediate, the intermediate's key behind a counting CaSigner. */
export async function softCa(): Promise<SoftCa> {
  const now = Date.now();
  const rootKeys = await crypto.subtle.generateKey(EC, false, ['sign', 'verify']);
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=edgeca test root',
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + 86400_000 * 30),
    keys: rootKeys,
    signingAlgorithm: EC,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(rootKeys.publicKey),
    ],
  });
  const keys = await crypto.subtle.generateKey(EC, false, ['sign', 'verify']);
  const issuer = await x509.X509CertificateGenerator.create({
    serialNumber: '02',
    subject: 'CN=edgeca test intermediate',
    issuer: root.subject,
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + 86400_000 * 20),
    publicKey: keys.publicKey,
    signingKey: rootKeys.privateKey,
    signingAlgorithm: EC,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(rootKeys.publicKey),
    ],
  });
  const spki = new Uint8Array(await crypto.subtle.exportKey('spki', keys.publicKey));
  const signer: CountingSigner = {
    keyType: 'EC-P256',
    spki,
    calls: 0,
    unavailable: false,
    async sign(tbs) {
      if (signer.unavailable) throw new HsmUnavailableError('test: token removed');
      signer.calls++;
      // DER wants the shortest INTEGERs: r or s may start with a zero byte (1 in 256 each)
      return ecdsaRawToDer(
        new Uint8Array(await crypto.subtle.sign(EC, keys.privateKey, tbs as BufferSource)),
      );
    },
  };
  return {
    rootPem: root.toString('pem') + '\n',
    issuerPem: issuer.toString('pem') + '\n',
    issuerDer: new Uint8Array(issuer.rawData),
    signer,
  };
}

/** Software CertTools on @peculiar/x509 and @peculiar/asn1-x509 (tests only; EC-P256 CA). */
export async function softTools(issuerDer: Uint8Array, issuerSpki: Uint8Array): Promise<CertTools> {
  const issuerCert = AsnConvert.parse(issuerDer, asn.Certificate);
  const issuerName = issuerCert.tbsCertificate.subject;
  const aki = await crypto.subtle.digest('SHA-1', issuerSpkiKey(issuerSpki) as BufferSource);
  const sigAlg = new asn.AlgorithmIdentifier({ algorithm: ECDSA_SHA256 });
  const ext = (extnID: string, critical: boolean, value: unknown) =>
    new asn.Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
  return {
    async parseCsr(der): Promise<ServiceCsr> {
      const csr = new x509.Pkcs10CertificateRequest(der as BufferSource);
      const san = csr.extensions.find(
        (e): e is x509.SubjectAlternativeNameExtension => e instanceof x509.SubjectAlternativeNameExtension,
      );
      const names = san?.names.items ?? [];
      const alg = csr.publicKey.algorithm as { name: string; namedCurve?: string };
      const bc = csr.extensions.find(
        (e): e is x509.BasicConstraintsExtension => e instanceof x509.BasicConstraintsExtension,
      );
      const cn = csr.subjectName.getField('CN')[0];
      return {
        spki: new Uint8Array(csr.publicKey.rawData),
        keyType: alg.name === 'ECDSA' && alg.namedCurve === 'P-256' ? 'EC-P256' : 'unsupported',
        identifiers: names
          .filter((n) => n.type === 'dns' || n.type === 'ip')
          .map((n) => ({ type: n.type as 'dns' | 'ip', value: n.value })),
        ...(cn !== undefined ? { commonName: cn } : {}),
        requestsCa: bc?.ca === true,
        signatureValid: await csr.verify(),
        otherSans: names.filter((n) => n.type !== 'dns' && n.type !== 'ip').map((n) => n.type),
      };
    },
    randomSerial: () => {
      const s = crypto.getRandomValues(new Uint8Array(16));
      s[0] = ((s[0] ?? 0) & 0x7f) | 0x01;
      return s;
    },
    leafBuilder: {
      buildTbs(o) {
        const tbs = new asn.TBSCertificate({
          version: asn.Version.v3,
          serialNumber: o.serial.slice().buffer,
          signature: sigAlg,
          issuer: issuerName,
          validity: new asn.Validity({ notBefore: o.notBefore, notAfter: o.notAfter }),
          subject: new asn.Name(),
          subjectPublicKeyInfo: AsnConvert.parse(o.spki, asn.SubjectPublicKeyInfo),
          extensions: new asn.Extensions([
            ext(asn.id_ce_basicConstraints, true, new asn.BasicConstraints({ cA: false })),
            ext(asn.id_ce_keyUsage, true, new asn.KeyUsage(asn.KeyUsageFlags.digitalSignature)),
            ext(
              asn.id_ce_extKeyUsage,
              false,
              new asn.ExtendedKeyUsage(
                o.ekus.map((e) => (e === 'serverAuth' ? asn.id_kp_serverAuth : asn.id_kp_clientAuth)),
              ),
            ),
            ext(
              asn.id_ce_subjectAltName,
              true,
              new asn.SubjectAlternativeName(
                o.identifiers.map(
                  (i) =>
                    new asn.GeneralName(i.type === 'dns' ? { dNSName: i.value } : { iPAddress: i.value }),
                ),
              ),
            ),
            ext(
              asn.id_ce_authorityKeyIdentifier,
              false,
              new asn.AuthorityKeyIdentifier({ keyIdentifier: new asn.KeyIdentifier(aki) }),
            ),
          ]),
        });
        return new Uint8Array(AsnConvert.serialize(tbs));
      },
      assemble(tbs, signature) {
        const cert = new asn.Certificate({
          tbsCertificate: AsnConvert.parse(tbs, asn.TBSCertificate),
          signatureAlgorithm: sigAlg,
          signatureValue: signature.slice().buffer,
        });
        return new Uint8Array(AsnConvert.serialize(cert));
      },
    },
    async buildCrl(o) {
      const tbs = new asn.TBSCertList({
        version: asn.Version.v2,
        signature: sigAlg,
        issuer: issuerName,
        thisUpdate: new asn.Time(o.thisUpdate),
        nextUpdate: new asn.Time(o.nextUpdate),
        ...(o.revoked.length > 0
          ? {
              revokedCertificates: o.revoked.map(
                (r) =>
                  new asn.RevokedCertificate({
                    userCertificate: r.serial.slice().buffer,
                    revocationDate: new asn.Time(r.revokedAt),
                    crlEntryExtensions: [ext(asn.id_ce_cRLReasons, false, new asn.CRLReason(r.reason))],
                  }),
              ),
            }
          : {}),
        crlExtensions: [ext(asn.id_ce_cRLNumber, false, new asn.CRLNumber(Number(o.crlNumber)))],
      });
      const tbsDer = new Uint8Array(AsnConvert.serialize(tbs));
      const signature = await o.signer.sign(tbsDer);
      const list = new asn.CertificateList({
        tbsCertList: tbs,
        signatureAlgorithm: sigAlg,
        signature: signature.slice().buffer,
      });
      return new Uint8Array(AsnConvert.serialize(list));
    },
  };
}

/** The subjectPublicKey bit string contents (RFC 5280 §4.2.1.2 method 1 hashes these). */
function issuerSpkiKey(spki: Uint8Array): Uint8Array {
  return new Uint8Array(AsnConvert.parse(spki, asn.SubjectPublicKeyInfo).subjectPublicKey);
}

/** A CSR for the given names (P-256), optionally with a CN. */
export async function makeCsr(names: { dns?: string[]; ip?: string[] }, cn?: string): Promise<Uint8Array> {
  const keys = await crypto.subtle.generateKey(EC, false, ['sign', 'verify']);
  const sans = [
    ...(names.dns ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(names.ip ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    ...(cn ? { name: `CN=${cn}` } : {}),
    keys,
    signingAlgorithm: EC,
    extensions: [new x509.SubjectAlternativeNameExtension(sans)],
  });
  return new Uint8Array(csr.rawData);
}

export async function edgeKeyPair(
  kid = 'edge-1',
): Promise<{ priv: RelayKey; pubJwk: SignerConfig['edgeKeys'][number] }> {
  // The private half never needs to leave WebCrypto: the relay codec signs with the CryptoKey.
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const priv: RelayKey = { kid, alg: 'ES256', key: privateKey };
  return { priv, pubJwk: { ...(await exportJWK(publicKey)), kid } };
}

/** testConfig's answerKeyFile, relative to the config's directory (writeAnswerKey writes it). */
export const ANSWER_KEY_FILE = 'answer-key.json';

/** Writes a fresh answer key for testConfig into `dir`; returns its public half, as the edge pins it. */
export async function writeAnswerKey(
  dir: string,
  kid = 'signer-test',
): Promise<SignerConfig['edgeKeys'][number]> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  writeFileSync(join(dir, ANSWER_KEY_FILE), JSON.stringify({ ...(await exportJWK(privateKey)), kid }), {
    mode: 0o600,
  });
  return { ...(await exportJWK(publicKey)), kid };
}

export function testConfig(edgeKeys: SignerConfig['edgeKeys'], database: string): SignerConfig {
  return {
    listen: { host: '127.0.0.1', port: 0 },
    pkcs11: { module: '/usr/lib/softhsm/libsofthsm2.so', tokenLabel: 'test', keyLabel: 'ca', sessions: 2 },
    database,
    ca: { keyType: 'EC-P256', issuerCertFile: 'issuer.pem' },
    edgeKeys,
    answerKeyFile: ANSWER_KEY_FILE,
    ceiling: {
      dnsSuffixes: ['internal.test'],
      ipRanges: ['10.0.0.0/8'],
      maxLifetimeSeconds: 30 * 86400,
      keyTypes: ['EC-P256', 'EC-P384', 'RSA-2048', 'RSA-3072'],
      allowWildcards: false,
      profiles: { default: { ekus: ['serverAuth'], maxLifetimeSeconds: 7 * 86400 } },
    },
    urls: {},
    crl: { nextUpdateSeconds: 3600, refreshSeconds: 600 },
  };
}

export const serialHex = (certDer: Uint8Array): string =>
  toHex(new Uint8Array(AsnConvert.parse(certDer, asn.Certificate).tbsCertificate.serialNumber));
export { derToPem };
