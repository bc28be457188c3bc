// Renewal information (RFC 9773) the edge stores: per-certificate window overrides set by "renew
// now", and the scheduled revocation of replaced certificates (at a deadline, or once a replacement
// is issued). Certificates without a row get the default window computed from their dates. Table
// created by migration 3; not in schema.ts, so it is queried with the query builder, not db.query.
import { and, eq, gt, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { type Db, rowsAffected } from './db.ts';
import { type CertificateRow, certificates, orders } from './schema.ts';
import type { Stmt } from './settings.ts';

export const renewalInfo = sqliteTable('renewal_info', {
  certificateId: text('certificate_id').primaryKey(),
  /** the ARI certID (base64url AKI "." base64url serial) */
  certId: text('cert_id').notNull(),
  serial: text('serial').notNull(),
  windowStart: integer('window_start'),
  windowEnd: integer('window_end'),
  explanationUrl: text('explanation_url'),
  /** revoke at this time (ms) if not revoked by then; null: no deadline */
  revokeAt: integer('revoke_at'),
  /** revoke as soon as an order replacing this certificate is valid */
  revokeWhenReplaced: integer('revoke_when_replaced', { mode: 'boolean' }).notNull().default(false),
  /** RFC 5280 §5.3.1 reason for the scheduled revocation (4 superseded by default) */
  revokeReason: integer('revoke_reason').notNull().default(4),
  revokeClaimedAt: integer('revoke_claimed_at'),
  revokeDoneAt: integer('revoke_done_at'),
  revokeError: text('revoke_error'),
  updatedAt: integer('updated_at').notNull(),
});

export type RenewalRow = typeof renewalInfo.$inferSelect;

/** A claimed revocation is retried by anyone after this long (the claimer crashed or the signer was away). */
export const REVOKE_CLAIM_MS = 60_000;

/** D1 binds at most 100 parameters per statement: multi-row inserts go in chunks of this many rows. */
const ROWS_PER_INSERT = 7;

export function createRenewalStore(db: Db) {
  return {
    byCertificate: (certificateId: string): Promise<RenewalRow | undefined> =>
      db.select().from(renewalInfo).where(eq(renewalInfo.certificateId, certificateId)).get(),

    list: (limit: number): Promise<RenewalRow[]> =>
      db.select().from(renewalInfo).orderBy(sql`updated_at DESC`).limit(limit),

    /** Statements upserting the rows (an existing row's override and schedule are replaced). */
    upsert(rows: RenewalRow[]): Stmt[] {
      const out: Stmt[] = [];
      for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
        const chunk = rows.slice(i, i + ROWS_PER_INSERT);
        out.push(
          db
            .insert(renewalInfo)
            .values(chunk)
            .onConflictDoUpdate({
              target: renewalInfo.certificateId,
              set: {
                windowStart: sql`excluded.window_start`,
                windowEnd: sql`excluded.window_end`,
                explanationUrl: sql`excluded.explanation_url`,
                revokeAt: sql`excluded.revoke_at`,
                revokeWhenReplaced: sql`excluded.revoke_when_replaced`,
                revokeReason: sql`excluded.revoke_reason`,
                revokeClaimedAt: null,
                revokeDoneAt: null,
                revokeError: null,
                updatedAt: sql`excluded.updated_at`,
              },
            }),
        );
      }
      return out;
    },

    /** Orders that replace the certificate (RFC 9773 `replaces`), newest first. */
    replacingOrders: (certId: string) =>
      db
        .select({
          id: orders.id,
          accountId: orders.accountId,
          status: orders.status,
          expiresAt: orders.expiresAt,
        })
        .from(orders)
        .where(eq(orders.replaces, certId))
        .orderBy(sql`created_at DESC`)
        .limit(20),

    /** Unexpired, unrevoked certificates in pages (by id), for selecting what "renew now" moves. */
    liveCertificates: (now: number, afterId: string, limit: number): Promise<CertificateRow[]> =>
      db
        .select()
        .from(certificates)
        .where(
          and(gt(certificates.notAfter, now), isNull(certificates.revokedAt), gt(certificates.id, afterId)),
        )
        .orderBy(certificates.id)
        .limit(limit),

    /** Scheduled revocations due now: deadline passed, or revoke-when-replaced and a valid replacement. */
    due: (now: number, limit: number): Promise<RenewalRow[]> =>
      db
        .select({ r: renewalInfo })
        .from(renewalInfo)
        .innerJoin(certificates, eq(certificates.id, renewalInfo.certificateId))
        .where(
          and(
            isNull(renewalInfo.revokeDoneAt),
            isNull(certificates.revokedAt),
            gt(certificates.notAfter, now),
            or(isNull(renewalInfo.revokeClaimedAt), lt(renewalInfo.revokeClaimedAt, now - REVOKE_CLAIM_MS)),
            or(
              and(sql`${renewalInfo.revokeAt} IS NOT NULL`, lt(renewalInfo.revokeAt, now + 1)),
              and(
                eq(renewalInfo.revokeWhenReplaced, true),
                sql`EXISTS (SELECT 1 FROM orders o WHERE o.replaces = ${renewalInfo.certId} AND o.status = 'valid')`,
              ),
            ),
          ),
        )
        .limit(limit)
        .then((rows) => rows.map((x) => x.r)),

    /** Claims one due revocation for this caller (any instance); false when someone else holds it. */
    async claim(certificateId: string, now: number): Promise<boolean> {
      const res = await db
        .update(renewalInfo)
        .set({ revokeClaimedAt: now })
        .where(
          and(
            eq(renewalInfo.certificateId, certificateId),
            isNull(renewalInfo.revokeDoneAt),
            or(isNull(renewalInfo.revokeClaimedAt), lt(renewalInfo.revokeClaimedAt, now - REVOKE_CLAIM_MS)),
          ),
        );
      return rowsAffected(res) === 1;
    },

    /** The scheduled revocation is over (done, or refused for good with `error`). */
    async finish(certificateId: string, now: number, error?: string): Promise<void> {
      await db
        .update(renewalInfo)
        .set({ revokeDoneAt: now, revokeError: error ?? null })
        .where(eq(renewalInfo.certificateId, certificateId));
    },

    byCertificates: (ids: string[]): Promise<RenewalRow[]> =>
      ids.length === 0
        ? Promise.resolve([])
        : db.select().from(renewalInfo).where(inArray(renewalInfo.certificateId, ids)),
  };
}

export type RenewalStore = ReturnType<typeof createRenewalStore>;
