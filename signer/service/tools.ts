// Wires the production pieces the service is given: the HSM token (signer/hsm/token.ts), the
// certificate and CRL builders (signer/x509/) and the CSR parser (shared/csr.ts).
import 'reflect-metadata';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { X509Certificate } from '@peculiar/x509';
import type { CaSigner } from '../ca-signer.ts';
import type { SignerConfig } from '../config.ts';
import { readCredential } from '../credentials.ts';
import type { CertTools } from './types.ts';

export interface OpenHsm {
  signer: CaSigner;
  /** true when the token answers (reads the key's attributes; signs nothing) */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * The user PIN from the systemd credential pkcs11.pinCredential names, from pkcs11.pinFile, or from
 * the variable pkcs11.pinEnv names. Never logged.
 */
export function readPin(config: SignerConfig, baseDir: string): string {
  const { pinFile, pinEnv, pinCredential } = config.pkcs11;
  if (pinCredential !== undefined) {
    if (pinFile || pinEnv) {
      throw new Error('the signer config gives pkcs11.pinCredential and pinFile/pinEnv: keep only one');
    }
    return readCredential(pinCredential, 'pkcs11.pinCredential');
  }
  if (pinFile) {
    const file = isAbsolute(pinFile) ? pinFile : resolve(baseDir, pinFile);
    let pin: string;
    try {
      pin = readFileSync(file, 'utf8').trim();
    } catch (e) {
      throw new Error(
        `cannot read the PIN file ${file} (pkcs11.pinFile): ${(e as NodeJS.ErrnoException).code ?? 'error'}`,
      );
    }
    if (!pin) throw new Error(`the PIN file ${file} (pkcs11.pinFile) is empty`);
    return pin;
  }
  if (pinEnv) {
    const pin = process.env[pinEnv];
    if (!pin) throw new Error(`the environment variable ${pinEnv} (pkcs11.pinEnv) is not set`);
    return pin;
  }
  throw new Error(
    'the signer config needs pkcs11.pinCredential, pkcs11.pinFile or pkcs11.pinEnv for the token PIN',
  );
}

export async function openHsm(config: SignerConfig, baseDir: string): Promise<OpenHsm> {
  const pin = readPin(config, baseDir);
  // Loaded on demand: signer/hsm/ loads native code, which only the HSM path needs.
  const { openToken, tokenOptionsFromConfig } = await import('../hsm/token.ts');
  const p = config.pkcs11;
  const token = await openToken(tokenOptionsFromConfig(p, baseDir, pin));
  try {
    const signer = await token.caSigner(p.keyLabel, config.ca.keyType);
    return {
      signer,
      ping: async () => {
        try {
          await token.keyInfo(p.keyLabel);
          return true;
        } catch {
          return false;
        }
      },
      close: async () => {
        await token.close();
      },
    };
  } catch (e) {
    await token.close();
    throw e;
  }
}

export async function loadCertTools(config: SignerConfig, issuerDer: Uint8Array): Promise<CertTools> {
  const [leaf, crl, csr] = await Promise.all([
    import('../x509/leaf.ts'),
    import('../x509/crl.ts'),
    import('../../shared/csr.ts'),
  ]);
  const builder = leaf.createLeafBuilder({
    certDer: issuerDer,
    keyType: config.ca.keyType,
    ...(config.urls.crl ? { crlUrl: config.urls.crl } : {}),
    ...(config.urls.caIssuers ? { caIssuersUrl: config.urls.caIssuers } : {}),
  });
  return {
    parseCsr: (der) => csr.parseCsr(der),
    leafBuilder: builder,
    randomSerial: leaf.randomSerial,
    buildCrl: crl.buildCrl,
  };
}

export function issuerSubject(issuerDer: Uint8Array): string {
  return new X509Certificate(issuerDer as BufferSource).subject;
}

/**
 * The issuer id the store files certificates and CRLs under: hex SHA-256 of the issuing
 * certificate's SubjectPublicKeyInfo (a renewed certificate for the same key keeps its id).
 */
export function issuerId(issuerDer: Uint8Array): string {
  const spki = new Uint8Array(new X509Certificate(issuerDer as BufferSource).publicKey.rawData);
  return createHash('sha256').update(spki).digest('hex');
}
