// Orders, authorizations and challenges. Every state change is a guarded statement
// (`WHERE status = <expected>`) or one batch of them, so a concurrent or repeated request changes
// nothing twice and a failed request leaves nothing half-written (no interactive transactions: they do not exist on D1).
import { and, desc, eq, gt, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import { type Db, rowBy, rowsAffected } from './db.ts';
import {
  issuedEventStmt,
  orderFailedEventStmt,
  revokedEventStmt,
  validationFailedEventStmt,
} from './events.ts';
import { type IssuanceBundle, insertIssuanceBundle } from './preauth.ts';
import {
  type AuthzRow,
  accounts,
  authorizations,
  type CertificateRow,
  type ChallengeRow,
  certificates,
  challenges,
  type OrderRow,
  orders,
} from './schema.ts';

export interface OrderRepo {
  /** a new order (or newAuthz's lone authorization) with its rows, in one batch */
  create(bundle: IssuanceBundle): Promise<void>;
  get(id: string): Promise<OrderRow | undefined>;
  listIdsByAccount(
    accountId: string,
    limit: number,
    before?: number,
  ): Promise<{ id: string; createdAt: number }[]>;
  /** a valid, unexpired authorization this account already holds for the identifier */
  findReusableAuthz(
    accountId: string,
    type: 'dns' | 'ip',
    value: string,
    wildcard: boolean,
    validUntil: number,
  ): Promise<AuthzRow | undefined>;
  /** unexpired pending/ready orders and pending authorizations the account holds */
  countOpen(accountId: string, now: number): Promise<{ orders: number; authzs: number }>;
  getAuthz(id: string): Promise<AuthzRow | undefined>;
  getAuthzs(ids: string[]): Promise<AuthzRow[]>;
  challengesOf(authzId: string): Promise<ChallengeRow[]>;
  challengesOfMany(authzIds: string[]): Promise<ChallengeRow[]>;
  getChallenge(id: string): Promise<ChallengeRow | undefined>;
  /** an authorization and its challenges, in one query (one snapshot: a validation's batch changes both) */
  authzWithChallenges(id: string): Promise<{ authz: AuthzRow; challenges: ChallengeRow[] } | undefined>;
  /** a challenge and its authorization, in one query */
  challengeWithAuthz(id: string): Promise<{ challenge: ChallengeRow; authz: AuthzRow } | undefined>;
  /** pending → processing; false when the challenge or its authorization was not pending */
  startChallenge(challengeId: string, authzId: string, now: number): Promise<boolean>;
  /** resumes a processing challenge whose attempt started before `staleBefore` (claims it) */
  claimStaleChallenge(challengeId: string, staleBefore: number, now: number): Promise<boolean>;
  finishChallenge(
    c: { challengeId: string; authzId: string },
    result: { status: 'valid' | 'invalid'; error?: string; validationRecord?: string },
    now: number,
  ): Promise<boolean>;
  deactivateAuthz(id: string): Promise<boolean>;
  /**
   * pending → ready / invalid, as derived from the authorizations; the row as it now stands when
   * this call moved it, undefined when the order was no longer in one of `from`
   */
  setOrderStatus(
    id: string,
    from: OrderRow['status'][],
    to: OrderRow['status'],
    error?: string,
  ): Promise<OrderRow | undefined>;
  /**
   * ready → processing, with the CSR recorded; the processing row, or undefined when a guard did
   * not hold (see FinalizeGuard)
   */
  beginFinalize(id: string, csr: string, now: number, guard: FinalizeGuard): Promise<OrderRow | undefined>;
  /** claims the right to (re)try the relay for a processing order */
  claimRelay(id: string, now: number, minGapMs: number): Promise<boolean>;
  /**
   * processing → valid with the certificate, in one batch; the valid row when this call moved it,
   * undefined when the order was no longer processing
   */
  completeOrder(id: string, cert: CertificateRow): Promise<OrderRow | undefined>;
}

/**
 * What must still hold when finalize starts, checked in the statement that starts it, so that
 * another edge process (or a request racing this one) cannot slip between the check and the write:
 * the account is valid and still has the key that signed the request (RFC 8555 §7.3.5, §7.3.6),
 * the CSR's key is not blocked, and the order is ready — or pending with every authorization
 * valid and unexpired (`authzIds`), which is the same order read a moment before (pending → ready
 * → processing in one statement, as refreshOrder would have moved it).
 */
export interface FinalizeGuard {
  accountId: string;
  thumbprint: string;
  /** the CSR key's digest as blocked_keys keeps it (edge/acme/compromised-keys.ts, spkiDigest) */
  csrKeyDigest: string;
  /** set when the order was read pending with all these authorizations valid */
  authzIds?: string[];
}

export interface CertificateRepo {
  get(id: string): Promise<CertificateRow | undefined>;
  byOrder(orderId: string): Promise<CertificateRow | undefined>;
  bySerial(serial: string): Promise<CertificateRow | undefined>;
  markRevoked(id: string, reason: number, at: number): Promise<boolean>;
}

export function createOrderRepo(db: Db): OrderRepo {
  // The queries of every issuance are prepared once (db.ts: building a query costs more than
  // running it on an embedded file); values are bound through placeholders.
  const p = sql.placeholder;
  const getAuthz = rowBy<AuthzRow>(db, authorizations, authorizations.id);
  const challengesOf = db
    .select()
    .from(challenges)
    .where(eq(challenges.authzId, p('authzId')))
    .prepare();
  const reusableAuthz = db
    .select()
    .from(authorizations)
    .where(
      and(
        eq(authorizations.accountId, p('accountId')),
        eq(authorizations.identifierType, p('type')),
        eq(authorizations.identifierValue, p('value')),
        eq(authorizations.wildcard, p('wildcard')),
        eq(authorizations.status, 'valid'),
        gt(authorizations.expiresAt, p('validUntil')),
      ),
    )
    .limit(1)
    .prepare();
  // both counts in one statement (each through its own account index), read beside the account's row
  const openCounts = db
    .select({
      orders: sql<number>`(SELECT count(*) FROM orders WHERE account_id = ${p('accountId')}
        AND status IN ('pending', 'ready') AND expires_at > ${p('now')})`,
      authzs: sql<number>`(SELECT count(*) FROM authorizations WHERE account_id = ${p('accountId')}
        AND status = 'pending' AND expires_at > ${p('now')})`,
    })
    .from(accounts)
    .where(eq(accounts.id, p('accountId')))
    .prepare();
  const authzWithChallenges = db
    .select({ authz: authorizations, challenge: challenges })
    .from(authorizations)
    .leftJoin(challenges, eq(challenges.authzId, authorizations.id))
    .where(eq(authorizations.id, p('id')))
    .prepare();
  const challengeWithAuthz = db
    .select({ challenge: challenges, authz: authorizations })
    .from(challenges)
    .innerJoin(authorizations, eq(authorizations.id, challenges.authzId))
    .where(eq(challenges.id, p('id')))
    .prepare();
  const startChallenge = db
    .update(challenges)
    .set({ status: 'processing', attemptAt: sql`${p('now')}` })
    .where(sql`id = ${p('challengeId')} AND status = 'pending'
      AND EXISTS (SELECT 1 FROM authorizations WHERE id = ${p('authzId')} AND status = 'pending' AND expires_at > ${p('now')})
      AND NOT EXISTS (SELECT 1 FROM challenges WHERE authz_id = ${p('authzId')} AND status = 'processing')`)
    .prepare();
  const claimRelay = db
    .update(orders)
    .set({ relayAttemptAt: sql`${p('now')}` })
    .where(
      and(
        eq(orders.id, p('id')),
        eq(orders.status, 'processing'),
        or(isNull(orders.relayAttemptAt), lt(orders.relayAttemptAt, p('before'))),
      ),
    )
    .prepare();
  type Prepared = { all(values: Record<string, unknown>): Promise<OrderRow[]> };
  /** status moves without an outbox row, one prepared statement per (from, to, with error) */
  const moves = new Map<string, Prepared>();
  const move = (from: OrderRow['status'][], to: OrderRow['status'], withError: boolean): Prepared => {
    const key = `${from.join(',')}>${to}${withError ? '+error' : ''}`;
    let q = moves.get(key);
    if (!q) {
      q = db
        .update(orders)
        .set({ status: to, ...(withError ? { error: sql`${p('error')}` } : {}) })
        .where(and(eq(orders.id, p('id')), inArray(orders.status, from)))
        .returning()
        .prepare();
      moves.set(key, q);
    }
    return q;
  };
  return {
    create: (bundle) => insertIssuanceBundle(db, bundle),
    get: rowBy<OrderRow>(db, orders, orders.id),
    async listIdsByAccount(accountId, limit, before) {
      return db
        .select({ id: orders.id, createdAt: orders.createdAt })
        .from(orders)
        .where(
          and(
            eq(orders.accountId, accountId),
            before === undefined ? undefined : lt(orders.createdAt, before),
            or(gt(orders.expiresAt, Date.now()), eq(orders.status, 'valid')),
          ),
        )
        .orderBy(desc(orders.createdAt))
        .limit(limit);
    },
    findReusableAuthz: async (accountId, type, value, wildcard, validUntil) =>
      (await reusableAuthz.all({ accountId, type, value, wildcard, validUntil }))[0],
    async countOpen(accountId, now) {
      const [r] = await openCounts.all({ accountId, now });
      return { orders: Number(r?.orders ?? 0), authzs: Number(r?.authzs ?? 0) };
    },
    getAuthz,
    async getAuthzs(ids) {
      if (ids.length === 0) return [];
      // most orders name one identifier: its authorization by the prepared lookup
      if (ids.length === 1) {
        const one = await getAuthz(ids[0] as string);
        return one ? [one] : [];
      }
      return db.select().from(authorizations).where(inArray(authorizations.id, ids));
    },
    challengesOf: (authzId) => challengesOf.all({ authzId }),
    async challengesOfMany(authzIds) {
      if (authzIds.length === 0) return [];
      if (authzIds.length === 1) return challengesOf.all({ authzId: authzIds[0] });
      return db.select().from(challenges).where(inArray(challenges.authzId, authzIds));
    },
    getChallenge: rowBy<ChallengeRow>(db, challenges, challenges.id),
    async authzWithChallenges(id) {
      const rows = await authzWithChallenges.all({ id });
      const first = rows[0];
      if (!first) return undefined;
      return { authz: first.authz, challenges: rows.flatMap((r) => (r.challenge ? [r.challenge] : [])) };
    },
    async challengeWithAuthz(id) {
      return (await challengeWithAuthz.all({ id }))[0];
    },
    async startChallenge(challengeId, authzId, now) {
      return rowsAffected(await startChallenge.run({ challengeId, authzId, now })) === 1;
    },
    async claimStaleChallenge(challengeId, staleBefore, now) {
      const res = await db
        .update(challenges)
        .set({ attemptAt: now })
        .where(
          and(
            eq(challenges.id, challengeId),
            eq(challenges.status, 'processing'),
            lt(challenges.attemptAt, staleBefore),
          ),
        );
      return rowsAffected(res) === 1;
    },
    async finishChallenge({ challengeId, authzId }, result, now) {
      const [c] = await db.batch([
        db
          .update(challenges)
          .set({
            status: result.status,
            validatedAt: result.status === 'valid' ? now : null,
            error: result.error ?? null,
            validationRecord: result.validationRecord ?? null,
          })
          .where(and(eq(challenges.id, challengeId), eq(challenges.status, 'processing'))),
        db.run(sql`UPDATE authorizations SET status = ${result.status}
          WHERE id = ${authzId} AND status = 'pending'
            AND EXISTS (SELECT 1 FROM challenges WHERE id = ${challengeId} AND status = ${result.status}
                        AND validated_at IS ${result.status === 'valid' ? now : null})`),
        // the outbox row of a failed validation, in the same batch (edge/storage/events.ts)
        ...(result.status === 'invalid' ? [validationFailedEventStmt(db, challengeId, now)] : []),
      ]);
      return rowsAffected(c) === 1;
    },
    async deactivateAuthz(id) {
      const res = await db
        .update(authorizations)
        .set({ status: 'deactivated' })
        .where(and(eq(authorizations.id, id), inArray(authorizations.status, ['pending', 'valid'])));
      return rowsAffected(res) === 1;
    },
    async setOrderStatus(id, from, to, error) {
      if (to !== 'invalid') return (await move(from, to, error !== undefined).all({ id, error }))[0];
      // a failed order and its outbox row in one batch
      const update = db
        .update(orders)
        .set({ status: to, ...(error === undefined ? {} : { error }) })
        .where(and(eq(orders.id, id), inArray(orders.status, from)))
        .returning();
      const [res] = await db.batch([update, orderFailedEventStmt(db, id, Date.now())]);
      return res[0];
    },
    async beginFinalize(id, csr, now, guard) {
      const ids = guard.authzIds ?? [];
      const fromPending = ids.length
        ? sql`(${orders.status} = 'pending' AND ${orders.expiresAt} > ${now}
            AND (SELECT count(*) FROM authorizations WHERE id IN (${sql.join(
              ids.map((a) => sql`${a}`),
              sql`, `,
            )}) AND status = 'valid' AND expires_at > ${now}) = ${ids.length})`
        : sql`0`;
      const [row] = await db
        .update(orders)
        .set({ status: 'processing', csr, relayAttemptAt: now })
        .where(
          and(
            eq(orders.id, id),
            eq(orders.accountId, guard.accountId),
            or(and(eq(orders.status, 'ready'), gt(orders.expiresAt, now)), fromPending),
            sql`EXISTS (SELECT 1 FROM accounts WHERE id = ${guard.accountId} AND status = 'valid'
              AND thumbprint = ${guard.thumbprint})`,
            sql`NOT EXISTS (SELECT 1 FROM blocked_keys WHERE spki_sha256 = ${guard.csrKeyDigest})`,
          ),
        )
        .returning();
      return row;
    },
    async claimRelay(id, now, minGapMs) {
      return rowsAffected(await claimRelay.run({ id, now, before: now - minGapMs })) === 1;
    },
    async completeOrder(id, cert) {
      const [, upd] = await db.batch([
        db.insert(certificates).values(cert).onConflictDoNothing(),
        db
          .update(orders)
          .set({
            status: 'valid',
            certificateId: sql`(SELECT id FROM certificates WHERE order_id = ${id})`,
          })
          .where(and(eq(orders.id, id), eq(orders.status, 'processing')))
          .returning(),
        issuedEventStmt(db, id, Date.now()),
      ]);
      return upd[0];
    },
  };
}

export function createCertificateRepo(db: Db): CertificateRepo {
  return {
    get: rowBy<CertificateRow>(db, certificates, certificates.id),
    byOrder: rowBy<CertificateRow>(db, certificates, certificates.orderId),
    bySerial: rowBy<CertificateRow>(db, certificates, certificates.serial),
    async markRevoked(id, reason, at) {
      const [res] = await db.batch([
        db
          .update(certificates)
          .set({ revokedAt: at, revocationReason: reason })
          .where(and(eq(certificates.id, id), isNull(certificates.revokedAt))),
        revokedEventStmt(db, id, Date.now()),
      ]);
      return rowsAffected(res) === 1;
    },
  };
}
