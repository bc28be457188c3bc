// The narrow interface between certificate/CRL building and the key that signs them.
// In production the key lives in an HSM (signer/hsm/); the builder never sees key material,
// only this interface, so it can be unit-tested with a WebCrypto key and proved against SoftHSM.

import type { CaKeyType } from '../shared/key-types.ts';

/** The key types a CA key may have: the `ca` rows of shared/key-types.ts. */
export type { CaKeyType };

export interface CaSigner {
  readonly keyType: CaKeyType;
  /** SubjectPublicKeyInfo DER of the CA key (for SKI/AKI and verification). */
  readonly spki: Uint8Array;
  /**
   * Signs `tbs` (a TBSCertificate or TBSCertList DER) with the CA key and returns the signature
   * as X.509 wants it in `signatureValue`: DER Ecdsa-Sig-Value for EC (RFC 3279 §2.2.3),
   * PKCS#1 v1.5 bytes for RSA. Hash: SHA-256 for P-256/RSA, SHA-384 for P-384.
   * Throws HsmUnavailableError when the token or session is gone (callers answer 503).
   */
  sign(tbs: Uint8Array): Promise<Uint8Array>;
}

/** The HSM (or its session) is not usable right now; the request may be retried later. */
export class HsmUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HsmUnavailableError';
  }
}
