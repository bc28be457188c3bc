// Admin tokens (stored as SHA-256 hashes only), the change log, pre-authorization marks, and the
// read-only searches the admin API offers over accounts, orders and certificates.
import { and, desc, eq, gt, isNull, lt, type SQL, sql } from 'drizzle-orm';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';
import { randomToken, sha256, toHex } from '../../shared/encoding.ts';
import {
  type AdminChangeRow,
  type AdminTokenRow,
  adminChanges,
  adminTokens,
  preauthorizations,
} from './admin-schema.ts';
import { type Db, rowsAffected } from './db.ts';
import { accounts, authorizations, certificates, challenges, eabKeys, orders } from './schema.ts';
import type { Stmt } from './settings.ts';

export const TOKEN_PREFIX = 'edgeca_admin_';

export interface Change {
  tokenId: string;
  action: string;
  target: string;
  before: unknown;
  after: unknown;
}

export interface PublicToken {
  id: string;
  name: string;
  scope: 'read' | 'write';
  createdAt: number;
  revokedAt: number | null;
}

const hashToken = async (token: string) => toHex(await sha256(token));

function publicToken(r: AdminTokenRow): PublicToken {
  return { id: r.id, name: r.name, scope: r.scope, createdAt: r.createdAt, revokedAt: r.revokedAt };
}

const json = (v: unknown) => (v === undefined || v === null ? null : JSON.stringify(v));

export function createAdminStore(db: Db) {
  const changeStmt = (c: Change, at = Date.now()): Stmt =>
    db.insert(adminChanges).values({
      at,
      tokenId: c.tokenId,
      action: c.action,
      target: c.target,
      before: json(c.before),
      after: json(c.after),
    });
  return {
    /** A new token: the secret is returned once, only its hash is stored. */
    async newToken(
      name: string,
      scope: 'read' | 'write',
    ): Promise<{ token: string; row: PublicToken; stmt: Stmt }> {
      const token = TOKEN_PREFIX + randomToken(32);
      const row: AdminTokenRow = {
        id: `tok-${randomToken(6)}`,
        name,
        scope,
        tokenHash: await hashToken(token),
        createdAt: Date.now(),
        revokedAt: null,
      };
      return { token, row: publicToken(row), stmt: db.insert(adminTokens).values(row) };
    },
    /** the active token with this secret, or undefined */
    async authenticate(token: string): Promise<PublicToken | undefined> {
      if (!token.startsWith(TOKEN_PREFIX)) return undefined;
      const [r] = await db
        .select()
        .from(adminTokens)
        .where(and(eq(adminTokens.tokenHash, await hashToken(token)), isNull(adminTokens.revokedAt)));
      return r ? publicToken(r) : undefined;
    },
    async tokens(): Promise<PublicToken[]> {
      return (await db.select().from(adminTokens).orderBy(desc(adminTokens.createdAt))).map(publicToken);
    },
    async token(id: string): Promise<PublicToken | undefined> {
      const [r] = await db.select().from(adminTokens).where(eq(adminTokens.id, id));
      return r ? publicToken(r) : undefined;
    },
    revokeToken(id: string): Stmt {
      return db
        .update(adminTokens)
        .set({ revokedAt: Date.now() })
        .where(and(eq(adminTokens.id, id), isNull(adminTokens.revokedAt)));
    },

    changeStmt,
    /** Runs the statements and records the change, all in one batch: all of it happens or none. */
    /** The change-log row of a change, for a caller that runs its own batch. */
    changeRow: (c: Change): Stmt => changeStmt(c),
    async commit(stmts: Stmt[], change: Change): Promise<number[]> {
      const all: [Stmt, ...Stmt[]] = [changeStmt(change), ...stmts];
      const res = (await db.batch(all)).slice(1);
      return (res as unknown[]).map(rowsAffected);
    },
    async changes(opts: { limit: number; beforeId?: number; target?: string }): Promise<AdminChangeRow[]> {
      return db
        .select()
        .from(adminChanges)
        .where(
          and(
            opts.beforeId === undefined ? undefined : lt(adminChanges.id, opts.beforeId),
            opts.target === undefined ? undefined : eq(adminChanges.target, opts.target),
          ),
        )
        .orderBy(desc(adminChanges.id))
        .limit(opts.limit);
    },

    /** maxAccounts: how many accounts the key may bind, null for no limit */
    newEabKey(k: { kid: string; hmacKey: string; name: string; maxAccounts: number | null }): Stmt {
      return db.insert(eabKeys).values({ ...k, createdAt: Date.now() });
    },
    setEabMaxAccounts(kid: string, maxAccounts: number | null): Stmt {
      return db.update(eabKeys).set({ maxAccounts }).where(eq(eabKeys.kid, kid));
    },
    revokeEabKey(kid: string): Stmt {
      return db
        .update(eabKeys)
        .set({ revokedAt: Date.now() })
        .where(and(eq(eabKeys.kid, kid), isNull(eabKeys.revokedAt)));
    },

    markPreauthorized(m: typeof preauthorizations.$inferInsert): Stmt {
      return db.insert(preauthorizations).values(m);
    },
    async preauthorized(limit: number) {
      return db.select().from(preauthorizations).orderBy(desc(preauthorizations.createdAt)).limit(limit);
    },

    async accounts(f: { eabKid?: string; status?: string; limit: number }) {
      return db
        .select({
          id: accounts.id,
          status: accounts.status,
          contact: accounts.contact,
          eabKid: accounts.eabKid,
          createdAt: accounts.createdAt,
        })
        .from(accounts)
        .where(
          and(
            f.eabKid === undefined ? undefined : eq(accounts.eabKid, f.eabKid),
            f.status === undefined ? undefined : sql`${accounts.status} = ${f.status}`,
          ),
        )
        .orderBy(desc(accounts.createdAt))
        .limit(f.limit);
    },
    deactivateAccount(id: string): Stmt {
      return db
        .update(accounts)
        .set({ status: 'deactivated' })
        .where(and(eq(accounts.id, id), eq(accounts.status, 'valid')));
    },
    async orders(f: { accountId?: string; status?: string; identifier?: string; limit: number }) {
      return db
        .select({
          id: orders.id,
          accountId: orders.accountId,
          status: orders.status,
          identifiers: orders.identifiers,
          profile: orders.profile,
          certificateId: orders.certificateId,
          createdAt: orders.createdAt,
          expiresAt: orders.expiresAt,
        })
        .from(orders)
        .where(
          and(
            f.accountId === undefined ? undefined : eq(orders.accountId, f.accountId),
            f.status === undefined ? undefined : sql`${orders.status} = ${f.status}`,
            f.identifier === undefined ? undefined : contains(orders.identifiers, f.identifier),
          ),
        )
        .orderBy(desc(orders.createdAt))
        .limit(f.limit);
    },
    async certificates(f: { accountId?: string; serial?: string; identifier?: string; limit: number }) {
      return db
        .select({
          id: certificates.id,
          serial: certificates.serial,
          orderId: certificates.orderId,
          accountId: certificates.accountId,
          identifiers: certificates.identifiers,
          notBefore: certificates.notBefore,
          notAfter: certificates.notAfter,
          revokedAt: certificates.revokedAt,
          revocationReason: certificates.revocationReason,
          chainPem: certificates.chainPem,
        })
        .from(certificates)
        .where(
          and(
            f.accountId === undefined ? undefined : eq(certificates.accountId, f.accountId),
            f.serial === undefined ? undefined : eq(certificates.serial, f.serial.toLowerCase()),
            f.identifier === undefined ? undefined : contains(certificates.identifiers, f.identifier),
          ),
        )
        .orderBy(desc(certificates.createdAt))
        .limit(f.limit);
    },

    /** certificates issued since `since` naming `domain` or a name under it: count and the oldest time */
    async certificatesUnder(
      domain: string,
      since: number,
    ): Promise<{ count: number; oldest: number | null }> {
      const d = likeEscape(domain);
      const [r] = await db
        .select({ count: sql<number>`count(*)`, oldest: sql<number | null>`min(${certificates.createdAt})` })
        .from(certificates)
        .where(
          and(
            gt(certificates.createdAt, since),
            sql`(${certificates.identifiers} LIKE ${`%"${d}"%`} ESCAPE '\\' OR ${certificates.identifiers} LIKE ${`%.${d}"%`} ESCAPE '\\')`,
          ),
        );
      return { count: Number(r?.count ?? 0), oldest: r?.oldest ?? null };
    },
    /** challenges of this account that failed in attempts started since `since` */
    async failedValidations(
      accountId: string,
      since: number,
    ): Promise<{ count: number; oldest: number | null }> {
      const [r] = await db
        .select({ count: sql<number>`count(*)`, oldest: sql<number | null>`min(${challenges.attemptAt})` })
        .from(challenges)
        .innerJoin(authorizations, eq(authorizations.id, challenges.authzId))
        .where(
          and(
            eq(authorizations.accountId, accountId),
            eq(challenges.status, 'invalid'),
            gt(challenges.attemptAt, since),
          ),
        );
      return {
        count: Number(r?.count ?? 0),
        oldest: r?.oldest === null || r?.oldest === undefined ? null : Number(r.oldest),
      };
    },
  };
}

/** LIKE wildcards in a value are matched literally (ESCAPE '\'). */
function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (m) => `\\${m}`);
}

/** a JSON identifier list holding this exact value */
function contains(col: SQLiteColumn, value: string): SQL {
  return sql`${col} LIKE ${`%"${likeEscape(value.toLowerCase())}"%`} ESCAPE '\\'`;
}

export type AdminStore = ReturnType<typeof createAdminStore>;
