// The signer's storage layer: the only code that touches its SQL. Every state change that must
// be recorded is one batch together with its audit row (no interactive transactions: they do not exist on D1),
// and every update is guarded so a repeated or concurrent request changes nothing twice.
import { type Client, createClient } from '@libsql/client';
import { and, eq, gt, isNotNull, lt, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/libsql';
import { resilientClient } from '../../shared/libsql.ts';
import type { Identifier } from '../../shared/problems.ts';
import { AuditWriter, type StoreDb, verifyAuditChain } from './audit.ts';
import { type AuditEvent, crlState, DDL, issuance, relayJti } from './schema.ts';

export type IssuanceRow = typeof issuance.$inferSelect;
export type CrlRow = typeof crlState.$inferSelect;

export interface NewIntent {
  orderId: string;
  serial: string;
  csrHash: string;
  tbs: Uint8Array;
  identifiers: Identifier[];
  profile: string;
  accountId: string;
  notBefore: Date;
  notAfter: Date;
}

/** A jti is kept this long past its exp: verifyRelay tolerates 30 s of skew on exp. */
const JTI_KEEP_AFTER_EXP_S = 120;
const JTI_PRUNE_EVERY_MS = 60_000;

export class SignerStore {
  readonly db: StoreDb;
  private readonly audit: AuditWriter;
  private lastPrune = 0;

  private constructor(private readonly client: Client) {
    this.db = drizzle(client);
    this.audit = new AuditWriter(this.db);
  }

  /** Opens (creating if needed) the libSQL database at `url`, e.g. `file:/var/lib/edgeca/signer.db`. */
  static async open(url: string): Promise<SignerStore> {
    // WAL lets the CLI (crl, audit-verify) read while the service writes; busy_timeout rides
    // out the short write lock a second process may hold (synchronous stays FULL: this is the
    // record of issuance). A connection that hit SQLITE_BUSY is replaced (shared/libsql.ts).
    const pragmas = url.startsWith('file:')
      ? ['PRAGMA journal_mode = WAL', 'PRAGMA busy_timeout = 5000']
      : [];
    const client = resilientClient(() => createClient({ url }), pragmas);
    try {
      for (const p of pragmas) await client.execute(p);
      await client.executeMultiple(DDL);
    } catch (e) {
      client.close();
      throw new Error(
        `cannot open the signer database ${url}: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    return new SignerStore(client);
  }

  close(): void {
    this.client.close();
  }

  /** Records a relay jti; false when it was seen before (a replay). Survives restarts. */
  async recordJti(jti: string, expS: number): Promise<boolean> {
    const nowMs = Date.now();
    const res = await this.db.insert(relayJti).values({ jti, exp: expS }).onConflictDoNothing().run();
    await this.maybePruneJtis(nowMs);
    return res.rowsAffected === 1;
  }

  private async maybePruneJtis(nowMs: number): Promise<void> {
    if (nowMs - this.lastPrune <= JTI_PRUNE_EVERY_MS) return;
    this.lastPrune = nowMs;
    await this.db.delete(relayJti).where(lt(relayJti.exp, Math.floor(nowMs / 1000) - JTI_KEEP_AFTER_EXP_S));
  }

  async byOrder(orderId: string): Promise<IssuanceRow | undefined> {
    const [row] = await this.db.select().from(issuance).where(eq(issuance.orderId, orderId)).limit(1);
    return row;
  }

  async bySerial(serial: string): Promise<IssuanceRow | undefined> {
    const [row] = await this.db.select().from(issuance).where(eq(issuance.serial, serial)).limit(1);
    return row;
  }

  /** Records the intent to sign (serial + TBS) before the HSM is asked; false if the order has one. */
  async insertIntent(i: NewIntent): Promise<boolean> {
    const res = await this.intentInsert(i).run();
    return res.rowsAffected === 1;
  }

  /**
   * Records a relay jti and, only if it was fresh, the intent: one transaction, one commit (the
   * durable jti and the intent-before-signature rule both hold, at half the writes). `jtiFresh`
   * false means a replay (nothing written); `intentInserted` false means the order has an intent.
   */
  async recordJtiAndIntent(
    jti: string,
    expS: number,
    i: NewIntent,
  ): Promise<{ jtiFresh: boolean; intentInserted: boolean }> {
    await this.maybePruneJtis(Date.now());
    const jtiInsert = this.db.insert(relayJti).values({ jti, exp: expS }).onConflictDoNothing();
    // changes() is the jti insert's: a replayed jti writes no intent either.
    const guardedIntent = this.db.run(sql`INSERT INTO issuance
        (order_id, serial, csr_hash, tbs, status, identifiers, profile, account_id, not_before, not_after, created_at)
      SELECT ${i.orderId}, ${i.serial}, ${i.csrHash}, ${Buffer.from(i.tbs)}, 'intent', ${JSON.stringify(i.identifiers)},
        ${i.profile}, ${i.accountId}, ${i.notBefore.getTime()}, ${i.notAfter.getTime()}, ${Date.now()}
      WHERE changes() > 0
      ON CONFLICT DO NOTHING`);
    const [a, b] = await this.db.batch([jtiInsert, guardedIntent]);
    return {
      jtiFresh: (a as { rowsAffected: number }).rowsAffected === 1,
      intentInserted: (b as { rowsAffected: number }).rowsAffected === 1,
    };
  }

  private intentInsert(i: NewIntent) {
    return this.db
      .insert(issuance)
      .values({
        orderId: i.orderId,
        serial: i.serial,
        csrHash: i.csrHash,
        tbs: Buffer.from(i.tbs),
        status: 'intent',
        identifiers: JSON.stringify(i.identifiers),
        profile: i.profile,
        accountId: i.accountId,
        notBefore: i.notBefore.getTime(),
        notAfter: i.notAfter.getTime(),
        createdAt: Date.now(),
      })
      .onConflictDoNothing();
  }

  /** Completes an intent with its certificate and audits the signing, in one batch. */
  async markIssued(
    orderId: string,
    certDer: Uint8Array,
    chainPem: string,
    details: Record<string, unknown>,
  ): Promise<boolean> {
    const update = this.db
      .update(issuance)
      .set({ status: 'issued', certDer: Buffer.from(certDer), chainPem, issuedAt: Date.now() })
      .where(and(eq(issuance.orderId, orderId), eq(issuance.status, 'intent')));
    return (await this.audit.append('sign', details, [update], true)).applied;
  }

  /** Marks an issued certificate revoked and audits it; false if it was not issued-and-unrevoked. */
  async markRevoked(
    serial: string,
    reason: number,
    at: Date,
    details: Record<string, unknown>,
  ): Promise<boolean> {
    const update = this.db
      .update(issuance)
      .set({ revokedAt: at.getTime(), revocationReason: reason })
      .where(
        and(eq(issuance.serial, serial), eq(issuance.status, 'issued'), sql`${issuance.revokedAt} IS NULL`),
      );
    return (await this.audit.append('revoke', details, [update], true)).applied;
  }

  /** Revoked certificates that have not expired yet (RFC 5280 §3.3: expired entries may be dropped). */
  async revokedUnexpired(now: Date): Promise<IssuanceRow[]> {
    return this.db
      .select()
      .from(issuance)
      .where(and(isNotNull(issuance.revokedAt), gt(issuance.notAfter, now.getTime())));
  }

  async currentCrl(): Promise<CrlRow | undefined> {
    const [row] = await this.db.select().from(crlState).limit(1);
    return row;
  }

  /** Stores a newer CRL (its number must exceed the stored one) with its audit row. */
  async saveCrl(
    crl: { crlNumber: number; thisUpdate: number; nextUpdate: number; der: Uint8Array },
    details: Record<string, unknown>,
  ): Promise<boolean> {
    const upsert = this.db.run(sql`INSERT INTO crl_state (id, crl_number, this_update, next_update, der)
      VALUES (1, ${crl.crlNumber}, ${crl.thisUpdate}, ${crl.nextUpdate}, ${Buffer.from(crl.der)})
      ON CONFLICT (id) DO UPDATE SET crl_number = excluded.crl_number, this_update = excluded.this_update,
        next_update = excluded.next_update, der = excluded.der
      WHERE crl_state.crl_number < excluded.crl_number`);
    return (await this.audit.append('crl', details, [upsert], true)).applied;
  }

  /** Appends an audit row on its own (refusals, replays). */
  async auditEvent(event: AuditEvent, details: Record<string, unknown>): Promise<void> {
    await this.audit.append(event, details);
  }

  verifyAudit(): ReturnType<typeof verifyAuditChain> {
    return verifyAuditChain(this.db);
  }
}
