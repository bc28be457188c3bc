// Fixtures for ARI tests of the edge alone: a throw-away issuer, certificates with chosen dates
// (fresh, mid-life, expired) signed by it with an Authority Key Identifier, and their rows written
// straight into the edge database as finalize would have written them.
import 'reflect-metadata';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import * as x509 from '@peculiar/x509';
import type { EdgeServices } from '../../edge/services.ts';
import { newId } from '../../edge/storage/ids.ts';
import { type CertificateRow, certificates, orders } from '../../edge/storage/schema.ts';
import { b64uEncode, pemToDers, sha256, toHex } from '../../shared/encoding.ts';
import type { Identifier } from '../../shared/problems.ts';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

export interface TestIssuer {
  keys: CryptoKeyPair;
  /** the issuer's subject key identifier, hex */
  keyIdHex: string;
  pem: string;
}

export async function makeIssuer(name = 'ARI Test Issuer'): Promise<TestIssuer> {
  const keys = (await crypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const ski = await x509.SubjectKeyIdentifierExtension.create(keys.publicKey);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: `CN=${name}`,
    notBefore: new Date(Date.now() - 86_400_000),
    notAfter: new Date(Date.now() + 365 * 86_400_000),
    keys,
    signingAlgorithm: ALG,
    extensions: [new x509.BasicConstraintsExtension(true, 0, true), ski],
  });
  return { keys, keyIdHex: ski.keyId, pem: cert.toString('pem') };
}

let serialCounter = 0;

/** A leaf for `ids` valid from notBefore to notAfter (ms), signed by the issuer; PEM chain. */
export async function issueLeaf(
  issuer: TestIssuer,
  ids: Identifier[],
  notBefore: number,
  notAfter: number,
  /** the leaf's key pair (default: a fresh P-256 one) */
  leafKeys?: CryptoKeyPair,
): Promise<string> {
  const keys =
    leafKeys ?? ((await crypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair);
  const rand = toHex(crypto.getRandomValues(new Uint8Array(14)));
  const serial = `5${(serialCounter++).toString(16).padStart(3, '0')}${rand}`;
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: `CN=${ids[0]?.value ?? 'leaf'}`,
    issuer: `CN=ARI Test Issuer`,
    notBefore: new Date(notBefore),
    notAfter: new Date(notAfter),
    publicKey: keys.publicKey,
    signingKey: issuer.keys.privateKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.AuthorityKeyIdentifierExtension(issuer.keyIdHex),
      new x509.SubjectAlternativeNameExtension(
        ids.map((i) => ({ type: i.type === 'ip' ? ('ip' as const) : ('dns' as const), value: i.value })),
      ),
    ],
  });
  return `${leaf.toString('pem')}\n${issuer.pem}\n`;
}

/** Writes the certificate (and a valid order for it) as finalize would; returns the row. */
export async function storeCert(
  svc: EdgeServices,
  accountId: string,
  chainPem: string,
  ids: Identifier[],
): Promise<CertificateRow> {
  const der = pemToDers(chainPem)[0]!;
  const tbs = AsnConvert.parse(der, Certificate).tbsCertificate;
  const now = Date.now();
  const orderId = newId();
  const row: CertificateRow = {
    id: newId(),
    orderId,
    accountId,
    serial: toHex(new Uint8Array(tbs.serialNumber)),
    chainPem,
    spkiSha256: b64uEncode(await sha256(new Uint8Array(AsnConvert.serialize(tbs.subjectPublicKeyInfo)))),
    identifiers: JSON.stringify(ids),
    notBefore: tbs.validity.notBefore.getTime().getTime(),
    notAfter: tbs.validity.notAfter.getTime().getTime(),
    revokedAt: null,
    revocationReason: null,
    createdAt: now,
  };
  const db = svc.database.db;
  await db.insert(orders).values({
    id: orderId,
    accountId,
    status: 'valid',
    identifiers: JSON.stringify(ids),
    authzIds: '[]',
    profile: 'default',
    notBefore: null,
    notAfter: null,
    expiresAt: now + 86_400_000,
    error: null,
    csr: null,
    certificateId: row.id,
    replaces: null,
    relayAttemptAt: null,
    createdAt: now,
  });
  await db.insert(certificates).values(row);
  return row;
}
