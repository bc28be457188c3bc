// Test helpers for the certificate builders: software CAs, leaf keys, extension lookup, and
// OpenSSL as an independent judge.
import 'reflect-metadata'; // @peculiar/x509 registers tsyringe services on import
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type * as x509 from '@peculiar/x509';
import type { Bytes } from '../../shared/der.ts';
import { keyTypeRow } from '../../shared/key-types.ts';
import type { CaKeyType, CaSigner } from '../../signer/ca-signer.ts';
import type { LeafKeyType } from '../../signer/config.ts';
import { buildCaCertificate } from '../../signer/x509/ca.ts';
import { createSoftwareCaSigner, webCryptoParams } from './software-ca-signer.ts';

/** Runs openssl; asserts it exits 0 and returns stdout + stderr (some verdicts go to stderr). */
export function openssl(args: string[]): string {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  const out = `${r.stdout}${r.stderr}`;
  assert.equal(r.status, 0, `openssl ${args.join(' ')} failed:\n${out}`);
  return out;
}

/** A temporary directory for the calling test file, removed after it. */
export function useTempDir(prefix: string): (name: string) => string {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  return (name) => join(dir, name);
}

export const DAY = 86_400_000;
export const now = new Date(Math.floor(Date.now() / 1000) * 1000);

export async function leafKey(type: LeafKeyType): Promise<Bytes> {
  const pair = (await crypto.subtle.generateKey(webCryptoParams(type).generate, false, [
    'sign',
    'verify',
  ])) as CryptoKeyPair;
  return new Uint8Array(await crypto.subtle.exportKey('spki', pair.publicKey));
}

export interface TestCa {
  root: CaSigner;
  issuer: CaSigner;
  rootDer: Bytes;
  issuerDer: Bytes;
}

async function makeCa(keyType: CaKeyType): Promise<TestCa> {
  const root = await createSoftwareCaSigner(keyType);
  const issuer = await createSoftwareCaSigner(keyType);
  const rootDer = await buildCaCertificate({
    subject: 'CN=Test Root, O=edgeca tests',
    subjectSpki: root.spki,
    signer: root,
    notBefore: new Date(now.getTime() - DAY),
    notAfter: new Date(now.getTime() + 3650 * DAY),
  });
  const issuerDer = await buildCaCertificate({
    subject: 'CN=Test Issuing CA, O=edgeca tests',
    subjectSpki: issuer.spki,
    signer: root,
    issuerCertDer: rootDer,
    notBefore: new Date(now.getTime() - DAY),
    notAfter: new Date(now.getTime() + 1825 * DAY),
    pathLen: 0,
  });
  return { root, issuer, rootDer, issuerDer };
}

const caCache = new Map<CaKeyType, Promise<TestCa>>();
/** One CA per key type for the whole file: RSA key generation is slow and nothing here changes a CA. */
export function sharedCa(keyType: CaKeyType): Promise<TestCa> {
  let ca = caCache.get(keyType);
  if (!ca) {
    ca = makeCa(keyType);
    caCache.set(keyType, ca);
  }
  return ca;
}

export async function verifiesWith(
  cert: x509.X509Certificate,
  signer: CaSigner,
  keyType: CaKeyType,
): Promise<boolean> {
  const params = webCryptoParams(keyType);
  const importAlg =
    keyTypeRow(keyType).family === 'EC' ? params.generate : { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  const key = await crypto.subtle.importKey('spki', signer.spki as BufferSource, importAlg, true, ['verify']);
  return cert.verify({ publicKey: key, signatureOnly: true });
}

export const ext = <T extends x509.Extension>(
  cert: x509.X509Certificate,
  t: new (raw: BufferSource) => T,
): T => {
  const e = cert.getExtension<T>(t);
  assert.ok(e, `missing ${t.name}`);
  return e;
};
