// The signer's storage layer: the only code that touches its SQL, on an embedded libSQL file (one
// machine) or PostgreSQL (any number of signers sharing one store; the service cannot tell which).
// What must hold on both:
// - the relay jti and the intent (serial + TBS) are committed together before the HSM signs;
// - every state change that is recorded commits with its audit row, in one transaction, and is
//   guarded (`WHERE status = 'intent'`, `AND revoked_at IS NULL`), so a repeated or concurrent
//   request, from this signer or another, changes nothing twice;
// - serials are unique (a constraint; a collision is answered like an order that has an intent,
//   and the service draws a new serial);
// - CRL numbers are handed out by the database and never go backwards (allocateCrlNumber).
import type { Identifier } from '../../shared/problems.ts';
import type { StatementCounts } from '../../shared/sql-statements.ts';
import { type AuditVerification, AuditWriter, verifyAuditChain } from './audit.ts';
import { CheckpointTable } from './checkpoints.ts';
import { GroupCommit } from './group-commit.ts';
import { IssuerTable } from './issuers.ts';
import { LibsqlEngine } from './libsql-engine.ts';
import { migrate, SCHEMA_VERSION } from './migrations.ts';
import { PostgresEngine } from './postgres-engine.ts';
import { isPostgresUrl } from './postgres-url.ts';
import {
  purgeSignerStore,
  type SignerPurgeOptions,
  type SignerPurgeRun,
  type SignerRetention,
} from './retention.ts';
import type { AuditEvent, CrlRow, IssuanceRow, IssuanceStatus } from './schema.ts';
import { bytesOf, countingEngine, type Engine, intOf, intOrNull, type Queryable } from './sql.ts';

export type { Checkpoint } from './checkpoints.ts';
export type { IssuerRow, IssuerState, NewIssuer } from './issuers.ts';
export type { SignerPurgeRun, SignerRetention } from './retention.ts';
export type { CrlRow, IssuanceRow } from './schema.ts';

export interface NewIntent {
  orderId: string;
  serial: string;
  issuer: string;
  csrHash: string;
  tbs: Uint8Array;
  identifiers: Identifier[];
  profile: string;
  accountId: string;
  notBefore: Date;
  notAfter: Date;
}

export interface RevokedEntryRow {
  serial: string;
  revokedAt: number;
  revocationReason: number;
}

export interface OpenOptions {
  /** the configured issuer's id: rows written before issuers were recorded get it (migration 2) */
  issuer?: string;
  /** PostgreSQL: the password (from the environment or a file; never part of the URL) */
  password?: string;
  /** PostgreSQL: how long one operation may take before it is answered 503 (default 5 s) */
  deadlineMs?: number;
  /** told when the store becomes unreachable and when it answers again */
  log?: (line: Record<string, unknown>) => void;
  /** counts every statement by kind (EDGECA_SQL_STATEMENT_METRICS) */
  statements?: StatementCounts;
}

/** A jti is kept this long past its exp: verifyRelay tolerates 30 s of skew on exp. */
const JTI_KEEP_AFTER_EXP_S = 120;
const JTI_PRUNE_EVERY_MS = 60_000;

const ISSUANCE_COLUMNS = `order_id AS "orderId", serial, issuer, csr_hash AS "csrHash", tbs,
  cert_der AS "certDer", chain_pem AS "chainPem", status, identifiers, profile,
  account_id AS "accountId", not_before AS "notBefore", not_after AS "notAfter",
  created_at AS "createdAt", issued_at AS "issuedAt", revoked_at AS "revokedAt",
  revocation_reason AS "revocationReason"`;

type Raw<T> = { [K in keyof T]: unknown };

function issuanceRow(r: Raw<IssuanceRow>): IssuanceRow {
  return {
    orderId: String(r.orderId),
    serial: String(r.serial),
    issuer: String(r.issuer),
    csrHash: String(r.csrHash),
    tbs: bytesOf(r.tbs),
    certDer: r.certDer === null ? null : bytesOf(r.certDer),
    chainPem: r.chainPem === null ? null : String(r.chainPem),
    status: r.status as IssuanceStatus,
    identifiers: String(r.identifiers),
    profile: String(r.profile),
    accountId: String(r.accountId),
    notBefore: intOf(r.notBefore),
    notAfter: intOf(r.notAfter),
    createdAt: intOf(r.createdAt),
    issuedAt: intOrNull(r.issuedAt),
    revokedAt: intOrNull(r.revokedAt),
    revocationReason: intOrNull(r.revocationReason),
  };
}

export class SignerStore {
  private readonly audit: AuditWriter;
  /** the issuing CAs every signer on this store knows, and their states (store/issuers.ts) */
  readonly issuers: IssuerTable;
  /** signed checkpoints of the audit chain's head (store/checkpoints.ts) */
  readonly checkpoints: CheckpointTable;
  private lastPrune = 0;
  private readonly intents: GroupCommit<JtiAndIntent, { jtiFresh: boolean; intentInserted: boolean }>;

  private constructor(private readonly engine: Engine) {
    this.audit = new AuditWriter(engine);
    this.intents = new GroupCommit(engine, recordJtisAndIntents);
    this.issuers = new IssuerTable(engine, this.audit);
    this.checkpoints = new CheckpointTable(engine);
  }

  /**
   * Opens the store at `url` and brings its schema up to date: `file:/var/lib/edgeca/signer.db`
   * (or any libSQL URL), or `postgres://user@host1:5432,host2:5432/edgeca` (a multi-host URL
   * follows the primary). Throws one line saying what failed when the store cannot be reached.
   */
  static async open(url: string, o: OpenOptions = {}): Promise<SignerStore> {
    const log = o.log ?? (() => {});
    let engine: Engine;
    if (isPostgresUrl(url)) {
      engine = await PostgresEngine.open(url, {
        log,
        ...(o.password !== undefined ? { password: o.password } : {}),
        ...(o.deadlineMs !== undefined ? { deadlineMs: o.deadlineMs } : {}),
      });
    } else {
      try {
        engine = await LibsqlEngine.open(url, log);
      } catch (e) {
        throw new Error(
          `cannot open the signer's store ${url}: ${e instanceof Error ? e.message : String(e)}`,
        );
      }
    }
    if (o.statements) engine = countingEngine(engine, o.statements);
    try {
      const m = await migrate(engine, o.issuer ? { issuer: o.issuer } : {});
      if (m.from > SCHEMA_VERSION) {
        // Migrations only add, so this signer still works; it is older than one that migrated.
        log({ event: 'store-schema-newer', store: engine.displayUrl, schema: m.from, known: SCHEMA_VERSION });
      }
    } catch (e) {
      await engine.close().catch(() => {});
      throw new Error(
        `cannot prepare the signer's store ${engine.displayUrl}: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    return new SignerStore(engine);
  }

  /** 'libsql' or 'postgres', for health output and tests; the service never needs it. */
  get engineName(): Engine['name'] {
    return this.engine.name;
  }

  close(): Promise<void> {
    return this.engine.close();
  }

  /** Resolves when the store answers (readiness). */
  async ping(): Promise<void> {
    await this.engine.all('SELECT 1 AS ok');
  }

  /** Records a relay jti; false when it was seen before (a replay), by this signer or another. */
  async recordJti(jti: string, expS: number): Promise<boolean> {
    await this.maybePruneJtis(Date.now());
    return (
      (await this.engine.run('INSERT INTO relay_jti (jti, exp) VALUES (?, ?) ON CONFLICT DO NOTHING', [
        jti,
        expS,
      ])) === 1
    );
  }

  private async maybePruneJtis(nowMs: number): Promise<void> {
    if (nowMs - this.lastPrune <= JTI_PRUNE_EVERY_MS) return;
    this.lastPrune = nowMs;
    await this.engine.run('DELETE FROM relay_jti WHERE exp < ?', [
      Math.floor(nowMs / 1000) - JTI_KEEP_AFTER_EXP_S,
    ]);
  }

  async byOrder(orderId: string): Promise<IssuanceRow | undefined> {
    const [row] = await this.engine.all<Raw<IssuanceRow>>(
      `SELECT ${ISSUANCE_COLUMNS} FROM issuance WHERE order_id = ?`,
      [orderId],
    );
    return row && issuanceRow(row);
  }

  async bySerial(serial: string): Promise<IssuanceRow | undefined> {
    const [row] = await this.engine.all<Raw<IssuanceRow>>(
      `SELECT ${ISSUANCE_COLUMNS} FROM issuance WHERE serial = ?`,
      [serial],
    );
    return row && issuanceRow(row);
  }

  /**
   * Records the intent to sign (serial + TBS) before the HSM is asked; false if the order has one
   * already, or (rarely) the serial is taken.
   */
  async insertIntent(i: NewIntent): Promise<boolean> {
    return (await this.engine.transaction((tx) => insertIntent(tx, i))) === 1;
  }

  /**
   * Records a relay jti and, only if it was fresh, the intent: one transaction, one commit (the
   * durable jti and the intent-before-signature rule both hold, at half the writes). Concurrent
   * requests share that commit (store/group-commit.ts); each answer comes after its commit.
   * `jtiFresh` false means a replay (nothing written); `intentInserted` false means the order has
   * an intent (or the serial is taken).
   */
  async recordJtiAndIntent(
    jti: string,
    expS: number,
    i: NewIntent,
  ): Promise<{ jtiFresh: boolean; intentInserted: boolean }> {
    await this.maybePruneJtis(Date.now());
    return this.intents.submit({ jti, expS, intent: i });
  }

  /** Completes an intent with its certificate and audits the signing, in one transaction. */
  async markIssued(
    orderId: string,
    certDer: Uint8Array,
    chainPem: string,
    details: Record<string, unknown>,
  ): Promise<boolean> {
    const r = await this.audit.append('sign', details, (tx) =>
      tx.run(
        `UPDATE issuance SET status = 'issued', cert_der = ?, chain_pem = ?, issued_at = ?
         WHERE order_id = ? AND status = 'intent'`,
        [certDer, chainPem, Date.now(), orderId],
      ),
    );
    return r.applied;
  }

  /** Marks an issued certificate revoked and audits it; false if it was not issued-and-unrevoked. */
  async markRevoked(
    serial: string,
    reason: number,
    at: Date,
    details: Record<string, unknown>,
  ): Promise<boolean> {
    const r = await this.audit.append('revoke', details, (tx) =>
      tx.run(
        `UPDATE issuance SET revoked_at = ?, revocation_reason = ?
         WHERE serial = ? AND status = 'issued' AND revoked_at IS NULL`,
        [at.getTime(), reason, serial],
      ),
    );
    return r.applied;
  }

  /**
   * The issuer's revoked certificates that have not expired yet (RFC 5280 §3.3: expired entries
   * may be dropped): exactly what its CRL lists.
   */
  async revokedUnexpired(issuer: string, now: Date): Promise<RevokedEntryRow[]> {
    const rows = await this.engine.all<Raw<RevokedEntryRow>>(
      `SELECT serial, revoked_at AS "revokedAt", revocation_reason AS "revocationReason" FROM issuance
       WHERE issuer = ? AND revoked_at IS NOT NULL AND not_after > ? ORDER BY serial`,
      [issuer, now.getTime()],
    );
    return rows.map((r) => ({
      serial: String(r.serial),
      revokedAt: intOf(r.revokedAt),
      revocationReason: intOf(r.revocationReason),
    }));
  }

  /** The CRL the issuer published last, whichever signer signed it. */
  async currentCrl(issuer: string): Promise<CrlRow | undefined> {
    const [r] = await this.engine.all<Raw<CrlRow>>(
      `SELECT issuer, crl_number AS "crlNumber", this_update AS "thisUpdate", next_update AS "nextUpdate", der
       FROM issuer_crl WHERE issuer = ? AND der IS NOT NULL`,
      [issuer],
    );
    if (!r) return undefined;
    return {
      issuer: String(r.issuer),
      crlNumber: intOf(r.crlNumber),
      thisUpdate: intOf(r.thisUpdate),
      nextUpdate: intOf(r.nextUpdate),
      der: bytesOf(r.der),
    };
  }

  /**
   * The next CRL number for the issuer, committed before the CRL is signed (a number is never
   * handed out twice, even if its CRL is never stored): the larger of the last one + 1 and the
   * database clock in milliseconds, in one statement. From the clock, numbers stay above every one
   * handed out before even after a restore from an older backup (as Boulder derives them from
   * time); from last + 1, they still grow when the clock is behind. RFC 5280 §5.2.3 asks for
   * monotonically increasing numbers, not consecutive ones; ~2^41 fits its 20 octets easily.
   */
  async allocateCrlNumber(issuer: string): Promise<number> {
    const d = this.engine.dialect;
    const [row] = await this.engine.transaction((tx) =>
      tx.all<{ n: unknown }>(
        `INSERT INTO issuer_crl (issuer, last_number) VALUES (?, ${d.nowMs})
         ON CONFLICT (issuer) DO UPDATE
           SET last_number = ${d.greatest}(issuer_crl.last_number + 1, excluded.last_number)
         RETURNING last_number AS n`,
        [issuer],
      ),
    );
    return intOf(row?.n);
  }

  /**
   * Publishes a CRL (its number from allocateCrlNumber) with its audit row, unless one with a
   * higher number was published meanwhile: false then, and that newer one stands.
   */
  async saveCrl(
    issuer: string,
    crl: { crlNumber: number; thisUpdate: number; nextUpdate: number; der: Uint8Array },
    details: Record<string, unknown>,
  ): Promise<boolean> {
    const r = await this.audit.append('crl', details, (tx) =>
      tx.run(
        `UPDATE issuer_crl SET crl_number = ?, this_update = ?, next_update = ?, der = ?
         WHERE issuer = ? AND (crl_number IS NULL OR crl_number < ?)`,
        [crl.crlNumber, crl.thisUpdate, crl.nextUpdate, crl.der, issuer, crl.crlNumber],
      ),
    );
    return r.applied;
  }

  /** Appends an audit row on its own (refusals, replays). */
  async auditEvent(event: AuditEvent, details: Record<string, unknown>): Promise<void> {
    await this.audit.append(event, details);
  }

  /**
   * Checks the audit chain on one snapshot (store/audit.ts); `withCheckpoints` also returns the
   * signed checkpoints it passed through, whose signatures the caller checks.
   */
  verifyAudit(o: { withCheckpoints?: boolean } = {}): Promise<AuditVerification> {
    return verifyAuditChain(this.engine, o);
  }

  /** Purges expired issuance rows and old audit rows, in bounded batches (store/retention.ts). */
  purgeExpired(policy: SignerRetention, o: SignerPurgeOptions = {}): Promise<SignerPurgeRun> {
    return purgeSignerStore(this.engine, policy, o);
  }
}

interface JtiAndIntent {
  jti: string;
  expS: number;
  intent: NewIntent;
}

/** One group's jtis and intents, each intent only if its jti was fresh (a replay writes nothing). */
async function recordJtisAndIntents(
  tx: Queryable,
  jobs: readonly JtiAndIntent[],
): Promise<{ jtiFresh: boolean; intentInserted: boolean }[]> {
  const out: { jtiFresh: boolean; intentInserted: boolean }[] = [];
  for (const j of jobs) {
    const jtiFresh =
      (await tx.run('INSERT INTO relay_jti (jti, exp) VALUES (?, ?) ON CONFLICT DO NOTHING', [
        j.jti,
        j.expS,
      ])) === 1;
    out.push({ jtiFresh, intentInserted: jtiFresh && (await insertIntent(tx, j.intent)) === 1 });
  }
  return out;
}

function insertIntent(tx: Queryable, i: NewIntent): Promise<number> {
  // No conflict target: a taken order id or a taken serial both insert nothing.
  return tx.run(
    `INSERT INTO issuance (order_id, serial, issuer, csr_hash, tbs, status, identifiers, profile, account_id,
       not_before, not_after, created_at)
     VALUES (?, ?, ?, ?, ?, 'intent', ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    [
      i.orderId,
      i.serial,
      i.issuer,
      i.csrHash,
      i.tbs,
      JSON.stringify(i.identifiers),
      i.profile,
      i.accountId,
      i.notBefore.getTime(),
      i.notAfter.getTime(),
      Date.now(),
    ],
  );
}
