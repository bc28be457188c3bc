// The signer's own record (the signer keeps its own issuance record and audit log), as
// drizzle tables over libSQL. Created with CREATE TABLE IF NOT EXISTS on open (see DDL below):
// four small tables do not need a migration tool, and opening an old file is always safe.
import { blob, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

export type IssuanceStatus = 'intent' | 'issued';

/** One row per order: the intent (serial + TBS) is written before the HSM signs, then completed. */
export const issuance = sqliteTable('issuance', {
  orderId: text('order_id').primaryKey(),
  serial: text('serial').notNull().unique(),
  /** SHA-256 hex of the CSR DER: a retry must carry the same CSR */
  csrHash: text('csr_hash').notNull(),
  tbs: blob('tbs', { mode: 'buffer' }).notNull(),
  certDer: blob('cert_der', { mode: 'buffer' }),
  chainPem: text('chain_pem'),
  status: text('status').$type<IssuanceStatus>().notNull(),
  /** canonical identifiers, JSON */
  identifiers: text('identifiers').notNull(),
  profile: text('profile').notNull(),
  accountId: text('account_id').notNull(),
  notBefore: integer('not_before').notNull(),
  notAfter: integer('not_after').notNull(),
  createdAt: integer('created_at').notNull(),
  issuedAt: integer('issued_at'),
  revokedAt: integer('revoked_at'),
  revocationReason: integer('revocation_reason'),
});

/** Relay jti seen, kept until well after exp so a replay is refused even across restarts. */
export const relayJti = sqliteTable('relay_jti', {
  jti: text('jti').primaryKey(),
  exp: integer('exp').notNull(),
});

export type AuditEvent = 'sign' | 'refuse' | 'revoke' | 'crl' | 'replay';

/** Hash-chained audit log: hash = SHA-256(prevHash || canonical row content). */
export const auditLog = sqliteTable('audit_log', {
  seq: integer('seq').primaryKey(),
  time: integer('time').notNull(),
  event: text('event').$type<AuditEvent>().notNull(),
  details: text('details').notNull(),
  prevHash: text('prev_hash').notNull(),
  hash: text('hash').notNull(),
});

/** Single-row tables: the chain head (so truncating the log's tail is detected) and the CRL. */
export const auditHead = sqliteTable('audit_head', {
  id: integer('id').primaryKey(),
  seq: integer('seq').notNull(),
  hash: text('hash').notNull(),
});

export const crlState = sqliteTable('crl_state', {
  id: integer('id').primaryKey(),
  /** RFC 5280 §5.2.3 allows 20 octets; one increment per CRL never leaves SQLite's 64 bits */
  crlNumber: integer('crl_number').notNull(),
  thisUpdate: integer('this_update').notNull(),
  nextUpdate: integer('next_update').notNull(),
  der: blob('der', { mode: 'buffer' }).notNull(),
});

export const DDL = `
CREATE TABLE IF NOT EXISTS issuance (
  order_id TEXT PRIMARY KEY,
  serial TEXT NOT NULL UNIQUE,
  csr_hash TEXT NOT NULL,
  tbs BLOB NOT NULL,
  cert_der BLOB,
  chain_pem TEXT,
  status TEXT NOT NULL CHECK (status IN ('intent', 'issued')),
  identifiers TEXT NOT NULL,
  profile TEXT NOT NULL,
  account_id TEXT NOT NULL,
  not_before INTEGER NOT NULL,
  not_after INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  issued_at INTEGER,
  revoked_at INTEGER,
  revocation_reason INTEGER
);
CREATE INDEX IF NOT EXISTS issuance_revoked ON issuance (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS relay_jti (jti TEXT PRIMARY KEY, exp INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS relay_jti_exp ON relay_jti (exp);
CREATE TABLE IF NOT EXISTS audit_log (
  seq INTEGER PRIMARY KEY,
  time INTEGER NOT NULL,
  event TEXT NOT NULL,
  details TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_head (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS crl_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  crl_number INTEGER NOT NULL,
  this_update INTEGER NOT NULL,
  next_update INTEGER NOT NULL,
  der BLOB NOT NULL
);
`;
