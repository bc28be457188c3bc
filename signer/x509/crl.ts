// The issuing CA's CRL (RFC 5280 §5): v2, AKI and CRLNumber extensions, one entry per revoked
// serial with a reasonCode entry extension unless the reason is unspecified (§5.3.1).
import {
  AuthorityKeyIdentifier,
  CRLReason,
  id_ce_authorityKeyIdentifier,
  id_ce_cRLNumber,
  id_ce_cRLReasons,
  KeyIdentifier,
} from '@peculiar/asn1-x509';
import { bigintToBytes, explicit, seq, TAG, time, unsignedInteger } from '../../shared/der.ts';
import type { CaSigner } from '../ca-signer.ts';
import {
  type Bytes,
  der,
  extension,
  issuerFacts,
  sameKey,
  signatureAlgorithm,
  signedEnvelope,
} from './common.ts';

export interface RevokedEntry {
  /** the certificate's serial as encoded in it (positive, big-endian) */
  serial: Uint8Array;
  revokedAt: Date;
  /** RFC 5280 §5.3.1 CRLReason code */
  reason: number;
}

export interface CrlParams {
  issuerCertDer: Uint8Array;
  signer: CaSigner;
  crlNumber: bigint;
  thisUpdate: Date;
  nextUpdate: Date;
  revoked: RevokedEntry[];
}

/** CRLReason values allowed in a full CRL: 0–6, 9, 10 (7 is unused; removeFromCRL (8) is for delta CRLs only). */
export const CRL_REASONS: ReadonlySet<number> = new Set([0, 1, 2, 3, 4, 5, 6, 9, 10]);

export async function buildCrl(p: CrlParams): Promise<Bytes> {
  const issuer = issuerFacts(p.issuerCertDer);
  if (!sameKey(issuer.spki, p.signer.spki))
    throw new TypeError('the signer does not hold the CRL issuer key');
  if (p.crlNumber < 0n || bigintToBytes(p.crlNumber).length > 20) {
    throw new RangeError('CRL number must be a non-negative integer of at most 20 octets (RFC 5280 §5.2.3)');
  }
  if (!(p.nextUpdate.getTime() > p.thisUpdate.getTime()))
    throw new RangeError('nextUpdate must be after thisUpdate');
  const sigAlg = signatureAlgorithm(p.signer.keyType);
  const entries = p.revoked.map((r) => {
    if (!CRL_REASONS.has(r.reason))
      throw new RangeError(`CRL reason ${r.reason} is not allowed in a full CRL`);
    const parts = [unsignedInteger(r.serial), time(r.revokedAt)];
    if (r.reason !== 0) parts.push(seq(extension(id_ce_cRLReasons, false, der(new CRLReason(r.reason)))));
    return seq(...parts);
  });
  const crlExtensions = seq(
    extension(
      id_ce_authorityKeyIdentifier,
      false,
      der(new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(issuer.keyId) })),
    ),
    extension(id_ce_cRLNumber, false, unsignedInteger(bigintToBytes(p.crlNumber))),
  );
  const tbs = seq(
    Uint8Array.of(TAG.INTEGER, 1, 1), // v2
    sigAlg,
    issuer.subjectName,
    time(p.thisUpdate),
    time(p.nextUpdate),
    // §5.1.2.6: with no revoked certificates the list is absent, not empty.
    ...(entries.length > 0 ? [seq(...entries)] : []),
    explicit(0, crlExtensions),
  );
  return signedEnvelope(tbs, sigAlg, await p.signer.sign(tbs));
}
