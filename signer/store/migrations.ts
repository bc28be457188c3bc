// The store's schema, as numbered migrations applied in order on open, on either engine, each in
// one transaction with its row in schema_migrations. Signers that start together take turns (a
// PostgreSQL advisory lock; SQLite's write lock). Migrations only add (tables, columns, indexes,
// rows): a signer of the previous release keeps working on the newer schema during a rolling
// upgrade, and whatever must be dropped goes in a later release, once no signer reads it.
// DDL is written once with {bytes} and {int64} standing for the engine's column types.
import { GENESIS_HASH } from './audit.ts';
import { type Dialect, type Engine, intOrNull, LONG_WORK_MS, type Queryable } from './sql.ts';

export interface MigrationContext {
  /** the issuer id rows written before issuers were recorded belong to (see store.ts) */
  issuer?: string;
}

interface Migration {
  version: number;
  description: string;
  up(tx: Queryable, d: Dialect, ctx: MigrationContext): Promise<void>;
}

const ddl = (d: Dialect, text: string): string =>
  text.replaceAll('{bytes}', d.bytes).replaceAll('{int64}', d.int64);

async function script(tx: Queryable, d: Dialect, statements: string[]): Promise<void> {
  for (const s of statements) await tx.run(ddl(d, s));
}

const MIGRATIONS: Migration[] = [
  {
    version: 1,
    // The tables as the first release created them (CREATE ... IF NOT EXISTS: a file from then
    // already has them).
    description: 'issuance record, relay jti, audit log and its head, CRL state',
    up: (tx, d) =>
      script(tx, d, [
        `CREATE TABLE IF NOT EXISTS issuance (
          order_id TEXT PRIMARY KEY,
          serial TEXT NOT NULL UNIQUE,
          csr_hash TEXT NOT NULL,
          tbs {bytes} NOT NULL,
          cert_der {bytes},
          chain_pem TEXT,
          status TEXT NOT NULL CHECK (status IN ('intent', 'issued')),
          identifiers TEXT NOT NULL,
          profile TEXT NOT NULL,
          account_id TEXT NOT NULL,
          not_before {int64} NOT NULL,
          not_after {int64} NOT NULL,
          created_at {int64} NOT NULL,
          issued_at {int64},
          revoked_at {int64},
          revocation_reason INTEGER
        )`,
        'CREATE INDEX IF NOT EXISTS issuance_revoked ON issuance (revoked_at) WHERE revoked_at IS NOT NULL',
        'CREATE TABLE IF NOT EXISTS relay_jti (jti TEXT PRIMARY KEY, exp {int64} NOT NULL)',
        'CREATE INDEX IF NOT EXISTS relay_jti_exp ON relay_jti (exp)',
        `CREATE TABLE IF NOT EXISTS audit_log (
          seq {int64} PRIMARY KEY,
          time {int64} NOT NULL,
          event TEXT NOT NULL,
          details TEXT NOT NULL,
          prev_hash TEXT NOT NULL,
          hash TEXT NOT NULL
        )`,
        `CREATE TABLE IF NOT EXISTS audit_head (
          id INTEGER PRIMARY KEY CHECK (id = 1), seq {int64} NOT NULL, hash TEXT NOT NULL
        )`,
        `CREATE TABLE IF NOT EXISTS crl_state (
          id INTEGER PRIMARY KEY CHECK (id = 1),
          crl_number {int64} NOT NULL,
          this_update {int64} NOT NULL,
          next_update {int64} NOT NULL,
          der {bytes} NOT NULL
        )`,
      ]),
  },
  {
    version: 2,
    description: 'issuer of every certificate, CRL state per issuer, audit head row always present',
    async up(tx, d, ctx) {
      await script(tx, d, [
        'ALTER TABLE issuance ADD COLUMN issuer TEXT',
        `CREATE INDEX issuance_issuer_revoked ON issuance (issuer, not_after)
          WHERE revoked_at IS NOT NULL`,
        // last_number is the last CRL number handed out (store.ts allocateCrlNumber); crl_number
        // and the rest describe the CRL published last, NULL until the first one.
        `CREATE TABLE issuer_crl (
          issuer TEXT PRIMARY KEY,
          last_number {int64} NOT NULL,
          crl_number {int64},
          this_update {int64},
          next_update {int64},
          der {bytes}
        )`,
      ]);
      const [old] = await tx.all<{ n: unknown }>(
        'SELECT (SELECT COUNT(*) FROM issuance) + (SELECT COUNT(*) FROM crl_state) AS n',
      );
      if ((intOrNull(old?.n) ?? 0) > 0) {
        if (!ctx.issuer) {
          throw new Error(
            'the store holds certificates from before issuers were recorded: open it with the signer ' +
              'config (its ca.issuerCertFile names their issuer) to upgrade it',
          );
        }
        await tx.run('UPDATE issuance SET issuer = ? WHERE issuer IS NULL', [ctx.issuer]);
        // crl_state stays (add-only); the next release drops it.
        await tx.run(
          `INSERT INTO issuer_crl (issuer, last_number, crl_number, this_update, next_update, der)
           SELECT ?, crl_number, crl_number, this_update, next_update, der FROM crl_state WHERE id = 1`,
          [ctx.issuer],
        );
      }
      // The head row exists from the start, so appenders lock it rather than race to create it.
      await tx.run(
        `INSERT INTO audit_head (id, seq, hash) SELECT 1, 0, ?
         WHERE NOT EXISTS (SELECT 1 FROM audit_log) AND NOT EXISTS (SELECT 1 FROM audit_head)`,
        [GENESIS_HASH],
      );
    },
  },
  {
    version: 3,
    // Issuers live in the store so that every signer sharing it learns of a rotation, whichever
    // machine ran it; checkpoints sign the audit chain's head in the HSM (store/audit.ts).
    description: 'issuers and their states, signed checkpoints of the audit chain',
    up: (tx, d) =>
      script(tx, d, [
        `CREATE TABLE issuers (
          id TEXT PRIMARY KEY,
          key_label TEXT NOT NULL,
          key_type TEXT NOT NULL,
          state TEXT NOT NULL CHECK (state IN ('pending', 'active', 'retiring', 'retired')),
          cert_der {bytes},
          chain_pem TEXT NOT NULL,
          crl_url TEXT,
          created_at {int64} NOT NULL,
          activated_at {int64},
          retired_at {int64},
          CHECK (state = 'pending' OR cert_der IS NOT NULL)
        )`,
        'CREATE INDEX issuance_issuer_not_after ON issuance (issuer, not_after)',
        `CREATE TABLE audit_checkpoint (
          seq {int64} PRIMARY KEY,
          hash TEXT NOT NULL,
          time {int64} NOT NULL,
          issuer TEXT NOT NULL,
          signature {bytes} NOT NULL
        )`,
      ]),
  },
  {
    version: 4,
    // The purge (store/retention.ts) takes the rows expired longest ago, whatever their issuer.
    description: 'index of issuance rows by notAfter, for the purge of expired rows',
    up: (tx, d) => script(tx, d, ['CREATE INDEX issuance_not_after ON issuance (not_after)']),
  },
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export interface MigrationOutcome {
  from: number;
  to: number;
}

/** Brings the schema up to SCHEMA_VERSION; a store already newer is left as it is. */
export async function migrate(engine: Engine, ctx: MigrationContext): Promise<MigrationOutcome> {
  return engine.transaction(
    async (tx) => {
      await engine.lockForMigration(tx);
      await tx.run(
        ddl(
          engine.dialect,
          `CREATE TABLE IF NOT EXISTS schema_migrations (
          version INTEGER PRIMARY KEY, applied_at {int64} NOT NULL, description TEXT NOT NULL
        )`,
        ),
      );
      const [row] = await tx.all<{ v: unknown }>('SELECT MAX(version) AS v FROM schema_migrations');
      const from = intOrNull(row?.v) ?? 0;
      for (const m of MIGRATIONS) {
        if (m.version <= from) continue;
        await m.up(tx, engine.dialect, ctx);
        await tx.run('INSERT INTO schema_migrations (version, applied_at, description) VALUES (?, ?, ?)', [
          m.version,
          Date.now(),
          m.description,
        ]);
      }
      return { from, to: Math.max(from, SCHEMA_VERSION) };
    },
    // A migration may touch every row, and waits while another signer migrates.
    { deadlineMs: LONG_WORK_MS },
  );
}
