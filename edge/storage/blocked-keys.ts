// Keys reported compromised: the SHA-256 of each key's DER SubjectPublicKeyInfo, so one lookup
// recognises the key whether it arrives as an account JWK (newAccount, keyChange) or in a CSR
// (finalize). Rows come from revocations with reason keyCompromise (ACME revokeCert, admin single
// and bulk revocation) and from admins blocking a key directly. Table created by migration 4; not in
// schema.ts, so it is queried with the query builder, like renewal_info.
import { desc, eq, lt } from 'drizzle-orm';
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import type { Db } from './db.ts';
import type { Stmt } from './settings.ts';

/** Where a block came from. */
export const BLOCK_SOURCES = ['acme-revoke', 'admin-revoke', 'admin-bulk-revoke', 'admin-block'] as const;
export type BlockSource = (typeof BLOCK_SOURCES)[number];

export const blockedKeys = sqliteTable('blocked_keys', {
  /** base64url SHA-256 of the DER SubjectPublicKeyInfo */
  spkiSha256: text('spki_sha256').primaryKey(),
  source: text('source', { enum: BLOCK_SOURCES }).notNull(),
  /** the certificate whose revocation reported the key, if any */
  serial: text('serial'),
  /** the account that reported it (ACME revokeCert by an account), if any */
  accountId: text('account_id'),
  note: text('note').notNull().default(''),
  createdAt: integer('created_at').notNull(),
});

export type BlockedKeyRow = typeof blockedKeys.$inferSelect;

/** D1 binds at most 100 parameters per statement: multi-row inserts go in chunks of this many rows. */
const ROWS_PER_INSERT = 15;

export function createBlockedKeyStore(db: Db) {
  return {
    get: (spkiSha256: string): Promise<BlockedKeyRow | undefined> =>
      db.select().from(blockedKeys).where(eq(blockedKeys.spkiSha256, spkiSha256)).get(),

    /** Newest first; `before` (a createdAt) pages on. */
    list: (limit: number, before?: number): Promise<BlockedKeyRow[]> =>
      db
        .select()
        .from(blockedKeys)
        .where(before === undefined ? undefined : lt(blockedKeys.createdAt, before))
        .orderBy(desc(blockedKeys.createdAt))
        .limit(limit),

    /** Statements blocking the keys; a key already blocked keeps its first report. */
    block(rows: BlockedKeyRow[]): Stmt[] {
      const out: Stmt[] = [];
      for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
        out.push(
          db
            .insert(blockedKeys)
            .values(rows.slice(i, i + ROWS_PER_INSERT))
            .onConflictDoNothing(),
        );
      }
      return out;
    },

    unblock: (spkiSha256: string): Stmt =>
      db.delete(blockedKeys).where(eq(blockedKeys.spkiSha256, spkiSha256)),
  };
}

export type BlockedKeyStore = ReturnType<typeof createBlockedKeyStore>;
