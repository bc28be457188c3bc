// Accounts and External Account Binding keys. An EAB key binds at most `max_accounts` accounts (one
// unless the admin says otherwise; NULL: no limit). The account insert is itself the guard: it
// happens only while the key is unrevoked and binds fewer accounts than its limit, counted in the
// same statement, so parallel newAccount requests with one key never bind more (no interactive
// transaction: this runs the same on a libSQL file, remote libSQL and D1).
import { and, count, desc, eq, isNotNull, isNull, sql } from 'drizzle-orm';
import { type Db, rowBy, rowsAffected } from './db.ts';
import { type AccountRow, accounts, type EabKeyRow, eabKeys } from './schema.ts';

export type NewAccount = Omit<AccountRow, 'createdAt'>;

export type CreateAccountResult =
  | { status: 'created'; account: AccountRow }
  | { status: 'exists'; account: AccountRow }
  | { status: 'eabUnavailable' };

export interface AccountRepo {
  get(id: string): Promise<AccountRow | undefined>;
  byThumbprint(thumbprint: string): Promise<AccountRow | undefined>;
  create(a: NewAccount): Promise<CreateAccountResult>;
  updateContact(id: string, contact: string[]): Promise<boolean>;
  deactivate(id: string): Promise<boolean>;
  /** false when another account already uses the new key */
  changeKey(id: string, oldThumbprint: string, jwk: string, thumbprint: string): Promise<boolean>;
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

export function createAccountRepo(db: Db): AccountRepo {
  const get = rowBy<AccountRow>(db, accounts, accounts.id);
  const byThumbprint = rowBy<AccountRow>(db, accounts, accounts.thumbprint);
  return {
    get,
    byThumbprint,
    async create(a) {
      const now = Date.now();
      const row: AccountRow = { ...a, createdAt: now };
      try {
        if (!a.eabKid) {
          await db.insert(accounts).values(row);
          return { status: 'created', account: row };
        }
        const [ins] = await db.batch([
          db.run(sql`INSERT INTO accounts (id, thumbprint, jwk, status, contact, tos_agreed, eab_kid, created_at)
            SELECT ${row.id}, ${row.thumbprint}, ${row.jwk}, ${row.status}, ${row.contact}, ${row.tosAgreed ? 1 : 0},
                   ${row.eabKid}, ${now}
            WHERE EXISTS (SELECT 1 FROM eab_keys k WHERE k.kid = ${a.eabKid} AND k.revoked_at IS NULL
              AND (k.max_accounts IS NULL
                OR (SELECT count(*) FROM accounts b WHERE b.eab_kid = k.kid) < k.max_accounts))`),
          db.run(sql`UPDATE eab_keys SET account_id = ${row.id}
            WHERE kid = ${a.eabKid} AND account_id IS NULL
              AND EXISTS (SELECT 1 FROM accounts WHERE id = ${row.id})`),
        ]);
        if (rowsAffected(ins) !== 1) return { status: 'eabUnavailable' };
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
    async changeKey(id, oldThumbprint, jwk, thumbprint) {
      try {
        const res = await db
          .update(accounts)
          .set({ jwk, thumbprint })
          .where(
            and(eq(accounts.id, id), eq(accounts.thumbprint, oldThumbprint), eq(accounts.status, 'valid')),
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
