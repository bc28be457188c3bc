// What the signer's rows hold, as the store hands them out. The tables themselves are created by
// migrations.ts (one DDL for both engines).

export type IssuanceStatus = 'intent' | 'issued';

/** One row per order: the intent (serial + TBS) is written before the HSM signs, then completed. */
export interface IssuanceRow {
  orderId: string;
  /** hex, unique across every issuer and signer */
  serial: string;
  /**
   * The issuing CA: hex SHA-256 of its certificate's SubjectPublicKeyInfo. Several issuers can
   * share one store (an old and a new intermediate, or an EC and an RSA one): each has its own CRL.
   */
  issuer: string;
  /** SHA-256 hex of the CSR DER: a retry must carry the same CSR */
  csrHash: string;
  tbs: Uint8Array;
  certDer: Uint8Array | null;
  chainPem: string | null;
  status: IssuanceStatus;
  /** canonical identifiers, JSON */
  identifiers: string;
  profile: string;
  accountId: string;
  /** milliseconds since 1970, like every time in the store */
  notBefore: number;
  notAfter: number;
  createdAt: number;
  issuedAt: number | null;
  revokedAt: number | null;
  revocationReason: number | null;
}

/** The CRL an issuer published last (the one GET /v1/crl serves). */
export interface CrlRow {
  issuer: string;
  crlNumber: number;
  thisUpdate: number;
  nextUpdate: number;
  der: Uint8Array;
}

export type AuditEvent = 'sign' | 'refuse' | 'revoke' | 'crl' | 'replay' | 'issuer';
