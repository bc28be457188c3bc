// Wires the production pieces the service is given: the HSM token (signer/hsm/token.ts), the
// certificate and CRL builders (signer/x509/) and the CSR parser (shared/csr.ts).
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { CaKeyType, CaSigner } from '../ca-signer.ts';
import type { SignerConfig } from '../config.ts';
import { readCredential } from '../credentials.ts';
import { nodeCsrSignatureCheck } from '../csr-crypto.ts';
import { issuerIdOf } from './issuers.ts';
import type { CertTools } from './types.ts';

export interface OpenHsm {
  /** A CaSigner on the token key labelled `label`, refused unless it is a `keyType` key when given. */
  signerFor(label: string, keyType?: CaKeyType): Promise<CaSigner>;
  /** true when the token answers (reads the key's attributes; signs nothing) */
  ping(label: string): Promise<boolean>;
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
  return {
    signerFor: (label, keyType) => token.caSigner(label, keyType),
    ping: async (label) => {
      try {
        await token.keyInfo(label);
        return true;
      } catch {
        return false;
      }
    },
    close: async () => {
      await token.close();
    },
  };
}

/** The certificate tools of the first issuer (signer.json's ca.issuerCertFile and urls.crl). */
export function loadCertTools(config: SignerConfig, issuerDer: Uint8Array): Promise<CertTools> {
  return certToolsFor({
    certDer: issuerDer,
    keyType: config.ca.keyType,
    crlUrl: config.urls.crl,
    caIssuersUrl: config.urls.caIssuers,
  });
}

/** The certificate tools of one issuer: its leaf builder (its CRL URL in every leaf), CRLs, CSRs. */
export async function certToolsFor(issuer: {
  certDer: Uint8Array;
  keyType: CaKeyType;
  crlUrl?: string | undefined;
  caIssuersUrl?: string | undefined;
}): Promise<CertTools> {
  const [leaf, crl, csr] = await Promise.all([
    import('../x509/leaf.ts'),
    import('../x509/crl.ts'),
    import('../../shared/csr.ts'),
  ]);
  const builder = leaf.createLeafBuilder({
    certDer: issuer.certDer,
    keyType: issuer.keyType,
    ...(issuer.crlUrl ? { crlUrl: issuer.crlUrl } : {}),
    ...(issuer.caIssuersUrl ? { caIssuersUrl: issuer.caIssuersUrl } : {}),
  });
  return {
    parseCsr: (der) => csr.parseCsr(der, { verify: nodeCsrSignatureCheck }),
    leafBuilder: builder,
    randomSerial: leaf.randomSerial,
    buildCrl: crl.buildCrl,
  };
}

/** The id the store files an issuer's certificates and CRLs under (service/issuers.ts). */
export const issuerId = issuerIdOf;
