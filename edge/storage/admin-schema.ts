// Tables for what admins change at run time (invariant 6 in docs/architecture.md): name policies, profiles, EAB
// key settings, rate limits and their buckets, admin tokens, the change log, and the marks left on
// pre-authorized authorizations. Created by migration 2; every edge instance reads them per request.
import { integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/** scope: "global", "eab:<kid>" or "account:<id>"; allow/deny: JSON arrays of rule strings */
export const namePolicies = sqliteTable('name_policies', {
  scope: text('scope').primaryKey(),
  allow: text('allow').notNull(),
  deny: text('deny').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

export const profiles = sqliteTable('profiles', {
  name: text('name').primaryKey(),
  description: text('description').notNull(),
  validitySeconds: integer('validity_seconds').notNull(),
  /** JSON arrays */
  keyTypes: text('key_types').notNull(),
  ekus: text('ekus').notNull(),
  identifierTypes: text('identifier_types').notNull(),
  allowWildcards: integer('allow_wildcards', { mode: 'boolean' }).notNull(),
  /** the signer ceiling profile this one is sent as */
  signerProfile: text('signer_profile').notNull(),
  /** JSON array of opt-in challenge types this profile offers (dns-persist-01), or null: none */
  optInChallenges: text('opt_in_challenges'),
  updatedAt: integer('updated_at').notNull(),
});

/** small run-time settings: "defaultProfile", "profilesSeeded" */
export const edgeSettings = sqliteTable('edge_settings', {
  name: text('name').primaryKey(),
  value: text('value').notNull(),
});

/** what an EAB key carries besides its HMAC; a key without a row has the defaults */
export const eabKeySettings = sqliteTable('eab_key_settings', {
  kid: text('kid').primaryKey(),
  /** JSON array of profile names, or null for every profile */
  profiles: text('profiles'),
  expiresAt: integer('expires_at'),
  preAuthorize: integer('pre_authorize', { mode: 'boolean' }).notNull(),
  /** JSON array of opt-in challenge types offered to accounts bound to the key, or null: none */
  optInChallenges: text('opt_in_challenges'),
});

export const rateLimits = sqliteTable('rate_limits', {
  name: text('name').primaryKey(),
  count: integer('count').notNull(),
  windowSeconds: integer('window_seconds').notNull(),
});

/** scope: "account:<id>" or "eab:<kid>" */
export const rateLimitOverrides = sqliteTable(
  'rate_limit_overrides',
  {
    name: text('name').notNull(),
    scope: text('scope').notNull(),
    count: integer('count').notNull(),
    windowSeconds: integer('window_seconds').notNull(),
  },
  (t) => [primaryKey({ columns: [t.name, t.scope] })],
);

/** GCRA state: the theoretical arrival time (ms) per limit and key */
export const rateBuckets = sqliteTable('rate_buckets', {
  key: text('key').primaryKey(),
  tat: integer('tat').notNull(),
});

export const adminTokens = sqliteTable('admin_tokens', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  scope: text('scope', { enum: ['read', 'write'] }).notNull(),
  /** hex SHA-256 of the whole token; the token itself is never stored */
  tokenHash: text('token_hash').notNull(),
  createdAt: integer('created_at').notNull(),
  revokedAt: integer('revoked_at'),
});

export const adminChanges = sqliteTable('admin_changes', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  at: integer('at').notNull(),
  /**
   * the admin token that made the change ("cli" for the database-direct CLI; "acme" for an ACME
   * request: revokeCert reporting a key compromised, or the request of an account whose key was,
   * deactivating the accounts that use the key)
   */
  tokenId: text('token_id').notNull(),
  action: text('action').notNull(),
  target: text('target').notNull(),
  /** JSON, null when the object did not exist / no longer exists */
  before: text('before'),
  after: text('after'),
});

export const preauthorizations = sqliteTable('preauthorizations', {
  authzId: text('authz_id').primaryKey(),
  accountId: text('account_id').notNull(),
  eabKid: text('eab_kid').notNull(),
  identifierType: text('identifier_type').notNull(),
  identifierValue: text('identifier_value').notNull(),
  createdAt: integer('created_at').notNull(),
});

export type ProfileRow = typeof profiles.$inferSelect;
export type EabKeySettingsRow = typeof eabKeySettings.$inferSelect;
export type AdminTokenRow = typeof adminTokens.$inferSelect;
export type AdminChangeRow = typeof adminChanges.$inferSelect;
