// Keys reported compromised: the SHA-256 of each key's DER SubjectPublicKeyInfo, so one lookup
// recognises the key whether it arrives as an account JWK (newAccount, keyChange) or in a CSR
// (finalize). Rows come from revocations with reason keyCompromise (ACME revokeCert, admin single
// and bulk revocation) and from admins blocking a key directly. Table created by migration 4; not in
// schema.ts, so it is queried with the query builder, like renewal_info.
//
// The accounts using a blocked key are found by accounts.key_digest (migration 6, indexed), the same
// digest; accounts made before that have none until it is filled in (edge/acme/block-keys.ts).
import { and, count, desc, eq, inArray, isNull, lt, sql } from 'drizzle-orm';
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import type { Db } from './db.ts';
import { accounts } from './schema.ts';
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
/** ...and lists of digests in chunks of this many. */
const DIGESTS_PER_STATEMENT = 90;

const chunks = <T>(xs: readonly T[], n: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
};

/** Who deactivates accounts: the admin token, or "acme" for an ACME request (revokeCert, a request by the account). */
export interface DeactivationBy {
  tokenId: string;
  at: number;
}

/** Statements deactivating accounts, and which of them answer with the ids they deactivated. */
export interface Deactivation {
  stmts: Stmt[];
  /** indexes into stmts of the UPDATEs, whose results are the rows `{ id }` they deactivated */
  returning: number[];
}

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

    /** A query for the block of one key (no row: not blocked), to run in a batch. */
    blockOf: (spkiSha256: string) =>
      db
        .select({ d: blockedKeys.spkiSha256 })
        .from(blockedKeys)
        .where(eq(blockedKeys.spkiSha256, spkiSha256)),

    /** Which of these digests are blocked. */
    async blockedAmong(digests: readonly string[]): Promise<string[]> {
      const out: string[] = [];
      for (const part of chunks([...new Set(digests)], DIGESTS_PER_STATEMENT)) {
        const rows = await db
          .select({ d: blockedKeys.spkiSha256 })
          .from(blockedKeys)
          .where(inArray(blockedKeys.spkiSha256, part));
        out.push(...rows.map((r) => r.d));
      }
      return out;
    },

    /**
     * RFC 8555 §7.3.6: every valid account whose key digest is one of `digests` AND blocked (in the
     * same batch, so the block's own rows count) is deactivated, each with a change-log row
     * (`account.deactivate`, naming the key and its report) written by the same statement's
     * selection just before. `accountId` narrows it to one account.
     */
    deactivateAccounts(digests: readonly string[], by: DeactivationBy, accountId?: string): Deactivation {
      const out: Deactivation = { stmts: [], returning: [] };
      const one = accountId === undefined ? sql`` : sql` AND a.id = ${accountId}`;
      for (const part of chunks([...new Set(digests)], DIGESTS_PER_STATEMENT)) {
        const list = sql.join(
          part.map((d) => sql`${d}`),
          sql`, `,
        );
        out.stmts.push(
          db.run(sql`INSERT INTO admin_changes (at, token_id, action, target, before, after)
            SELECT ${by.at}, ${by.tokenId}, 'account.deactivate', 'account:' || a.id, '{"status":"valid"}',
              json_object('status', 'deactivated', 'because', 'its key was reported compromised',
                'spkiSha256', b.spki_sha256, 'blockedBy', b.source, 'serial', b.serial)
            FROM accounts a JOIN blocked_keys b ON b.spki_sha256 = a.key_digest
            WHERE a.key_digest IN (${list}) AND a.status = 'valid'${one}`),
        );
        out.returning.push(out.stmts.length);
        out.stmts.push(
          db
            .update(accounts)
            .set({ status: 'deactivated' })
            .where(
              and(
                inArray(accounts.keyDigest, part),
                eq(accounts.status, 'valid'),
                accountId === undefined ? undefined : eq(accounts.id, accountId),
                sql`EXISTS (SELECT 1 FROM blocked_keys b WHERE b.spki_sha256 = ${accounts.keyDigest})`,
              ),
            )
            .returning({ id: accounts.id }),
        );
      }
      return out;
    },

    /** Valid accounts whose key digest was never computed (made before migration 6), at most `limit`. */
    accountsWithoutDigest: (limit: number): Promise<{ id: string; jwk: string }[]> =>
      db
        .select({ id: accounts.id, jwk: accounts.jwk })
        .from(accounts)
        .where(and(isNull(accounts.keyDigest), eq(accounts.status, 'valid')))
        .limit(limit),

    async countAccountsWithoutDigest(): Promise<number> {
      const [r] = await db
        .select({ n: count() })
        .from(accounts)
        .where(and(isNull(accounts.keyDigest), eq(accounts.status, 'valid')));
      return Number(r?.n ?? 0);
    },

    /** Records an account's computed key digest ('' when there is none); one that has a digest keeps it. */
    setAccountDigest: (id: string, keyDigest: string): Stmt =>
      db
        .update(accounts)
        .set({ keyDigest })
        .where(and(eq(accounts.id, id), isNull(accounts.keyDigest))),
  };
}

export type BlockedKeyStore = ReturnType<typeof createBlockedKeyStore>;
