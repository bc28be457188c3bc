// The edge's tables (drizzle-orm, SQLite dialect: embedded libSQL, remote libSQL and D1 alike).
// Timestamps are integer milliseconds since the epoch; JSON columns hold wire-independent data.
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { CHALLENGE_TYPES } from '../../validation/registry.ts';

/** Nonces already used (until they expire): a nonce is fresh iff inserting it here changes a row. */
export const nonces = sqliteTable(
  'nonces',
  {
    value: text('value').primaryKey(),
    expiresAt: integer('expires_at').notNull(),
  },
  (t) => [index('nonces_expires').on(t.expiresAt)],
);

/** Secrets shared by every edge instance (the nonce MAC key), created on first start. */
export const edgeSecrets = sqliteTable('edge_secrets', {
  name: text('name').primaryKey(),
  value: text('value').notNull(),
});

export const accounts = sqliteTable(
  'accounts',
  {
    id: text('id').primaryKey(),
    thumbprint: text('thumbprint').notNull(),
    jwk: text('jwk').notNull(),
    status: text('status', { enum: ['valid', 'deactivated', 'revoked'] }).notNull(),
    contact: text('contact').notNull().default('[]'),
    tosAgreed: integer('tos_agreed', { mode: 'boolean' }).notNull().default(false),
    eabKid: text('eab_kid'),
    createdAt: integer('created_at').notNull(),
    /**
     * base64url SHA-256 of the key's SubjectPublicKeyInfo, as blocked_keys names keys (migration 6);
     * '' when it cannot be computed, null on an account made before it was kept
     */
    keyDigest: text('key_digest'),
  },
  (t) => [uniqueIndex('accounts_thumbprint').on(t.thumbprint), index('accounts_key_digest').on(t.keyDigest)],
);

export const eabKeys = sqliteTable('eab_keys', {
  kid: text('kid').primaryKey(),
  /** base64url HMAC key; needed to verify bindings, never shown again after creation */
  hmacKey: text('hmac_key').notNull(),
  name: text('name').notNull().default(''),
  /** the first account the key bound (the others name the key in accounts.eab_kid) */
  accountId: text('account_id'),
  createdAt: integer('created_at').notNull(),
  revokedAt: integer('revoked_at'),
  /** how many accounts the key may bind; null: no limit (migration 5) */
  maxAccounts: integer('max_accounts').default(1),
});

export const orders = sqliteTable(
  'orders',
  {
    id: text('id').primaryKey(),
    accountId: text('account_id').notNull(),
    status: text('status', { enum: ['pending', 'ready', 'processing', 'valid', 'invalid'] }).notNull(),
    /** canonical identifiers, JSON array */
    identifiers: text('identifiers').notNull(),
    /** JSON array of authorization ids, in identifier order */
    authzIds: text('authz_ids').notNull(),
    profile: text('profile').notNull(),
    notBefore: integer('not_before'),
    notAfter: integer('not_after'),
    expiresAt: integer('expires_at').notNull(),
    /** problem document JSON when invalid */
    error: text('error'),
    /** base64url DER CSR once finalized */
    csr: text('csr'),
    certificateId: text('certificate_id'),
    replaces: text('replaces'),
    /** last time a relay to the signer was started (processing orders) */
    relayAttemptAt: integer('relay_attempt_at'),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [index('orders_account').on(t.accountId, t.createdAt)],
);

export const authorizations = sqliteTable(
  'authorizations',
  {
    id: text('id').primaryKey(),
    accountId: text('account_id').notNull(),
    identifierType: text('identifier_type', { enum: ['dns', 'ip'] }).notNull(),
    /** without the "*." of a wildcard (RFC 8555 §7.1.4) */
    identifierValue: text('identifier_value').notNull(),
    wildcard: integer('wildcard', { mode: 'boolean' }).notNull().default(false),
    status: text('status', {
      enum: ['pending', 'valid', 'invalid', 'deactivated', 'expired', 'revoked'],
    }).notNull(),
    expiresAt: integer('expires_at').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [index('authz_reuse').on(t.accountId, t.identifierType, t.identifierValue, t.wildcard, t.status)],
);

export const challenges = sqliteTable(
  'challenges',
  {
    id: text('id').primaryKey(),
    authzId: text('authz_id').notNull(),
    type: text('type', { enum: CHALLENGE_TYPES }).notNull(),
    token: text('token').notNull(),
    status: text('status', { enum: ['pending', 'processing', 'valid', 'invalid'] }).notNull(),
    validatedAt: integer('validated_at'),
    error: text('error'),
    validationRecord: text('validation_record'),
    /** when the current validation attempt started (processing); a stale one is resumed */
    attemptAt: integer('attempt_at'),
  },
  (t) => [index('challenges_authz').on(t.authzId)],
);

export const certificates = sqliteTable(
  'certificates',
  {
    id: text('id').primaryKey(),
    orderId: text('order_id').notNull(),
    accountId: text('account_id').notNull(),
    /** lowercase hex, as encoded in the certificate */
    serial: text('serial').notNull(),
    chainPem: text('chain_pem').notNull(),
    /** base64url SHA-256 of the leaf's SubjectPublicKeyInfo (revocation by certificate key) */
    spkiSha256: text('spki_sha256').notNull(),
    identifiers: text('identifiers').notNull(),
    notBefore: integer('not_before').notNull(),
    notAfter: integer('not_after').notNull(),
    revokedAt: integer('revoked_at'),
    revocationReason: integer('revocation_reason'),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [uniqueIndex('certificates_order').on(t.orderId), uniqueIndex('certificates_serial').on(t.serial)],
);

export type AccountRow = typeof accounts.$inferSelect;
export type OrderRow = typeof orders.$inferSelect;
export type AuthzRow = typeof authorizations.$inferSelect;
export type ChallengeRow = typeof challenges.$inferSelect;
export type CertificateRow = typeof certificates.$inferSelect;
export type EabKeyRow = typeof eabKeys.$inferSelect;
