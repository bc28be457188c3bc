// What the issuance service needs from the certificate code (signer/x509/, shared/csr.ts): passed
// in rather than imported so the service logic is testable on its own, and one place
// (signer/service/tools.ts) wires the real implementations.

import type { Identifier } from '../../shared/problems.ts';
import type { CaSigner } from '../ca-signer.ts';
import type { CeilingCsr } from '../ceiling.ts';
import type { Eku, LeafKeyType } from '../config.ts';

export interface ServiceCsr extends CeilingCsr {
  spki: Uint8Array;
}

export interface LeafBuilder {
  buildTbs(o: {
    serial: Uint8Array;
    spki: Uint8Array;
    identifiers: Identifier[];
    notBefore: Date;
    notAfter: Date;
    ekus: Eku[];
    leafKeyType: LeafKeyType;
  }): Uint8Array;
  assemble(tbs: Uint8Array, signature: Uint8Array): Uint8Array;
}

export interface RevokedEntry {
  serial: Uint8Array;
  revokedAt: Date;
  reason: number;
}

export interface CertTools {
  parseCsr(der: Uint8Array): Promise<ServiceCsr>;
  leafBuilder: LeafBuilder;
  randomSerial(): Uint8Array;
  buildCrl(o: {
    issuerCertDer: Uint8Array;
    signer: CaSigner;
    crlNumber: bigint;
    thisUpdate: Date;
    nextUpdate: Date;
    revoked: RevokedEntry[];
  }): Promise<Uint8Array>;
}

/** Filled in by the service as it learns them; the server logs them with the request line. */
export interface RequestLog {
  rid?: string;
  /** the relay jti, once the request is authenticated: the signed answer binds it */
  jti?: string;
  orderId?: string;
  serial?: string;
}
