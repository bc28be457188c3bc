// Accounts and External Account Binding keys. An EAB key binds at most `max_accounts` accounts (one
// unless the admin says otherwise; NULL: no limit). The account insert is itself the guard: it
// happens only while the key is unrevoked and binds fewer accounts than its limit, counted in the
// same statement, so parallel newAccount requests with one key never bind more (no interactive
// transaction: this runs the same on a libSQL file, remote libSQL and D1).
//
// The insert, and a key change, are also guarded by the key not being blocked (blocked_keys, by the
// same digest that is stored in key_digest): a key blocked between the route's check and the write
// makes no account, rather than an account the block did not see.
import { and, count, desc, eq, isNotNull, isNull, type SQL, sql } from 'drizzle-orm';
import { type Db, rowBy, rowsAffected } from './db.ts';
import { type AccountRow, accounts, type EabKeyRow, eabKeys } from './schema.ts';

export type NewAccount = Omit<AccountRow, 'createdAt'>;

export type CreateAccountResult =
  | { status: 'created'; account: AccountRow }
  | { status: 'exists'; account: AccountRow }
  | { status: 'eabUnavailable' }
  /** the key was blocked after the route checked it */
  | { status: 'keyBlocked' };

export interface AccountRepo {
  get(id: string): Promise<AccountRow | undefined>;
  byThumbprint(thumbprint: string): Promise<AccountRow | undefined>;
  create(a: NewAccount): Promise<CreateAccountResult>;
  updateContact(id: string, contact: string[]): Promise<boolean>;
  deactivate(id: string): Promise<boolean>;
  /** false when another account already uses the new key, or it was blocked meanwhile */
  changeKey(
    id: string,
    oldThumbprint: string,
    jwk: string,
    thumbprint: string,
    keyDigest: string,
  ): Promise<boolean>;
}

export interface EabRepo {
  create(k: { kid: string; hmacKey: string; name: string; maxAccounts?: number | null }): Promise<void>;
  get(kid: string): Promise<EabKeyRow | undefined>;
  list(): Promise<EabKeyRow[]>;
  revoke(kid: string): Promise<boolean>;
  /** accounts bound to the key (deactivated ones included: they were bound) */
  boundAccounts(kid: string): Promise<number>;
  /** the same for every key that bound any, in one query */
  boundAccountsByKey(): Promise<Map<string, number>>;
}

function isUniqueViolation(e: unknown): boolean {
  const msg =
    String((e as { message?: string })?.message ?? e) + String((e as { cause?: unknown })?.cause ?? '');
  return /UNIQUE constraint failed|SQLITE_CONSTRAINT/i.test(msg);
}

/** The key is not blocked (a null digest, never computed, matches no block). */
const notBlocked = (keyDigest: string | null): SQL =>
  sql`NOT EXISTS (SELECT 1 FROM blocked_keys WHERE spki_sha256 = ${keyDigest})`;

export function createAccountRepo(db: Db): AccountRepo {
  const get = rowBy<AccountRow>(db, accounts, accounts.id);
  const byThumbprint = rowBy<AccountRow>(db, accounts, accounts.thumbprint);
  return {
    get,
    byThumbprint,
    async create(a) {
      const now = Date.now();
      const row: AccountRow = { ...a, createdAt: now };
      const insert = sql`INSERT INTO accounts (id, thumbprint, jwk, status, contact, tos_agreed, eab_kid, key_digest, created_at)
        SELECT ${row.id}, ${row.thumbprint}, ${row.jwk}, ${row.status}, ${row.contact}, ${row.tosAgreed ? 1 : 0},
               ${row.eabKid}, ${row.keyDigest}, ${now}
        WHERE ${notBlocked(row.keyDigest)}`;
      try {
        if (!a.eabKid) {
          const res = await db.run(insert);
          return rowsAffected(res) === 1 ? { status: 'created', account: row } : { status: 'keyBlocked' };
        }
        const [ins] = await db.batch([
          db.run(sql`${insert}
            AND EXISTS (SELECT 1 FROM eab_keys k WHERE k.kid = ${a.eabKid} AND k.revoked_at IS NULL
              AND (k.max_accounts IS NULL
                OR (SELECT count(*) FROM accounts b WHERE b.eab_kid = k.kid) < k.max_accounts))`),
          db.run(sql`UPDATE eab_keys SET account_id = ${row.id}
            WHERE kid = ${a.eabKid} AND account_id IS NULL
              AND EXISTS (SELECT 1 FROM accounts WHERE id = ${row.id})`),
        ]);
        if (rowsAffected(ins) !== 1) {
          const blocked = await db.all(
            sql`SELECT 1 AS one FROM blocked_keys WHERE spki_sha256 = ${row.keyDigest}`,
          );
          return blocked.length > 0 ? { status: 'keyBlocked' } : { status: 'eabUnavailable' };
        }
        return { status: 'created', account: row };
      } catch (e) {
        if (!isUniqueViolation(e)) throw e;
        const existing = await byThumbprint(a.thumbprint);
        if (!existing) throw e;
        return { status: 'exists', account: existing };
      }
    },
    async updateContact(id, contact) {
      const res = await db
        .update(accounts)
        .set({ contact: JSON.stringify(contact) })
        .where(and(eq(accounts.id, id), eq(accounts.status, 'valid')));
      return rowsAffected(res) === 1;
    },
    async deactivate(id) {
      const res = await db
        .update(accounts)
        .set({ status: 'deactivated' })
        .where(and(eq(accounts.id, id), eq(accounts.status, 'valid')));
      return rowsAffected(res) === 1;
    },
    async changeKey(id, oldThumbprint, jwk, thumbprint, keyDigest) {
      try {
        const res = await db
          .update(accounts)
          .set({ jwk, thumbprint, keyDigest })
          .where(
            and(
              eq(accounts.id, id),
              eq(accounts.thumbprint, oldThumbprint),
              eq(accounts.status, 'valid'),
              notBlocked(keyDigest),
            ),
          );
        return rowsAffected(res) === 1;
      } catch (e) {
        if (isUniqueViolation(e)) return false;
        throw e;
      }
    },
  };
}

export function createEabRepo(db: Db): EabRepo {
  return {
    async create(k) {
      await db.insert(eabKeys).values({ ...k, createdAt: Date.now() });
    },
    get: rowBy<EabKeyRow>(db, eabKeys, eabKeys.kid),
    list: () => db.query.eabKeys.findMany({ orderBy: desc(eabKeys.createdAt) }),
    async boundAccounts(kid) {
      const [r] = await db.select({ n: count() }).from(accounts).where(eq(accounts.eabKid, kid));
      return Number(r?.n ?? 0);
    },
    async boundAccountsByKey() {
      const rows = await db
        .select({ kid: accounts.eabKid, n: count() })
        .from(accounts)
        .where(isNotNull(accounts.eabKid))
        .groupBy(accounts.eabKid);
      return new Map(rows.map((r) => [r.kid ?? '', Number(r.n)]));
    },
    async revoke(kid) {
      const res = await db
        .update(eabKeys)
        .set({ revokedAt: Date.now() })
        .where(and(eq(eabKeys.kid, kid), isNull(eabKeys.revokedAt)));
      return rowsAffected(res) === 1;
    },
  };
}
