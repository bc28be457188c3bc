// The certificates a bulk revocation selects: unexpired and not yet revoked, narrowed by account,
// by key (SubjectPublicKeyInfo SHA-256) and by the time the edge recorded the issuance, in pages by
// id so a caller can bound its scan. A name pattern is applied by the caller (edge/policy rules).
import { and, eq, gt, gte, isNull, lt } from 'drizzle-orm';
import type { Db } from './db.ts';
import { type CertificateRow, certificates } from './schema.ts';

export interface CertificateFilter {
  accountId?: string;
  /** base64url SHA-256 of the leaf's SubjectPublicKeyInfo, as stored at issuance */
  spkiSha256?: string;
  /** issued at or after (ms) */
  issuedFrom?: number;
  /** issued before (ms) */
  issuedUntil?: number;
}

export function createCertificateSelection(db: Db) {
  return {
    /** Live certificates matching `f` with an id after `afterId`, by id, at most `limit`. */
    live: (f: CertificateFilter, now: number, afterId: string, limit: number): Promise<CertificateRow[]> =>
      db
        .select()
        .from(certificates)
        .where(
          and(
            gt(certificates.notAfter, now),
            isNull(certificates.revokedAt),
            gt(certificates.id, afterId),
            f.accountId === undefined ? undefined : eq(certificates.accountId, f.accountId),
            f.spkiSha256 === undefined ? undefined : eq(certificates.spkiSha256, f.spkiSha256),
            f.issuedFrom === undefined ? undefined : gte(certificates.createdAt, f.issuedFrom),
            f.issuedUntil === undefined ? undefined : lt(certificates.createdAt, f.issuedUntil),
          ),
        )
        .orderBy(certificates.id)
        .limit(limit),
  };
}
