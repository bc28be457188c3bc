// Ordered schema migrations, applied on start. Plain SQL so the same list runs on an embedded
// libSQL file, remote libSQL and D1; each migration is applied in one batch with its bookkeeping row.
// Append only: never edit a migration that has shipped. A statement that cannot say IF NOT EXISTS
// (ALTER TABLE ... ADD COLUMN) fails in the second of two instances migrating at once; the runner
// then finds the migration recorded by the first and goes on (edge/storage/db.ts).

export interface Migration {
  id: number;
  name: string;
  statements: string[];
}

export const MIGRATIONS: Migration[] = [
  {
    id: 1,
    name: 'acme core',
    statements: [
      // consumed nonces (issuance is stateless: an HMAC-authenticated token carrying its expiry)
      `CREATE TABLE IF NOT EXISTS nonces (value TEXT PRIMARY KEY NOT NULL, expires_at INTEGER NOT NULL)`,
      `CREATE INDEX IF NOT EXISTS nonces_expires ON nonces (expires_at)`,
      `CREATE TABLE IF NOT EXISTS edge_secrets (name TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)`,
      `CREATE TABLE IF NOT EXISTS accounts (
        id TEXT PRIMARY KEY NOT NULL, thumbprint TEXT NOT NULL, jwk TEXT NOT NULL, status TEXT NOT NULL,
        contact TEXT NOT NULL DEFAULT '[]', tos_agreed INTEGER NOT NULL DEFAULT 0, eab_kid TEXT,
        created_at INTEGER NOT NULL)`,
      `CREATE UNIQUE INDEX IF NOT EXISTS accounts_thumbprint ON accounts (thumbprint)`,
      `CREATE TABLE IF NOT EXISTS eab_keys (
        kid TEXT PRIMARY KEY NOT NULL, hmac_key TEXT NOT NULL, name TEXT NOT NULL DEFAULT '',
        account_id TEXT, created_at INTEGER NOT NULL, revoked_at INTEGER)`,
      `CREATE UNIQUE INDEX IF NOT EXISTS eab_keys_account ON eab_keys (account_id)`,
      `CREATE TABLE IF NOT EXISTS orders (
        id TEXT PRIMARY KEY NOT NULL, account_id TEXT NOT NULL, status TEXT NOT NULL, identifiers TEXT NOT NULL,
        authz_ids TEXT NOT NULL, profile TEXT NOT NULL, not_before INTEGER, not_after INTEGER,
        expires_at INTEGER NOT NULL, error TEXT, csr TEXT, certificate_id TEXT, replaces TEXT,
        relay_attempt_at INTEGER, created_at INTEGER NOT NULL)`,
      `CREATE INDEX IF NOT EXISTS orders_account ON orders (account_id, created_at)`,
      `CREATE TABLE IF NOT EXISTS authorizations (
        id TEXT PRIMARY KEY NOT NULL, account_id TEXT NOT NULL, identifier_type TEXT NOT NULL,
        identifier_value TEXT NOT NULL, wildcard INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL,
        expires_at INTEGER NOT NULL, created_at INTEGER NOT NULL)`,
      `CREATE INDEX IF NOT EXISTS authz_reuse ON authorizations (account_id, identifier_type, identifier_value, wildcard, status)`,
      `CREATE TABLE IF NOT EXISTS challenges (
        id TEXT PRIMARY KEY NOT NULL, authz_id TEXT NOT NULL, type TEXT NOT NULL, token TEXT NOT NULL,
        status TEXT NOT NULL, validated_at INTEGER, error TEXT, validation_record TEXT, attempt_at INTEGER)`,
      `CREATE INDEX IF NOT EXISTS challenges_authz ON challenges (authz_id)`,
      `CREATE TABLE IF NOT EXISTS certificates (
        id TEXT PRIMARY KEY NOT NULL, order_id TEXT NOT NULL, account_id TEXT NOT NULL, serial TEXT NOT NULL,
        chain_pem TEXT NOT NULL, spki_sha256 TEXT NOT NULL, identifiers TEXT NOT NULL, not_before INTEGER NOT NULL,
        not_after INTEGER NOT NULL, revoked_at INTEGER, revocation_reason INTEGER, created_at INTEGER NOT NULL)`,
      `CREATE UNIQUE INDEX IF NOT EXISTS certificates_order ON certificates (order_id)`,
      `CREATE UNIQUE INDEX IF NOT EXISTS certificates_serial ON certificates (serial)`,
      `CREATE INDEX IF NOT EXISTS certificates_spki ON certificates (spki_sha256)`,
    ],
  },
  {
    id: 2,
    name: 'policy, profiles, rate limits, admin',
    statements: [
      `CREATE TABLE IF NOT EXISTS name_policies (scope TEXT PRIMARY KEY NOT NULL, allow TEXT NOT NULL,
        deny TEXT NOT NULL, updated_at INTEGER NOT NULL)`,
      `CREATE TABLE IF NOT EXISTS profiles (name TEXT PRIMARY KEY NOT NULL, description TEXT NOT NULL,
        validity_seconds INTEGER NOT NULL, key_types TEXT NOT NULL, ekus TEXT NOT NULL,
        identifier_types TEXT NOT NULL, allow_wildcards INTEGER NOT NULL, signer_profile TEXT NOT NULL,
        updated_at INTEGER NOT NULL)`,
      `CREATE TABLE IF NOT EXISTS edge_settings (name TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)`,
      `CREATE TABLE IF NOT EXISTS eab_key_settings (kid TEXT PRIMARY KEY NOT NULL, profiles TEXT,
        expires_at INTEGER, pre_authorize INTEGER NOT NULL DEFAULT 0)`,
      `CREATE TABLE IF NOT EXISTS rate_limits (name TEXT PRIMARY KEY NOT NULL, count INTEGER NOT NULL,
        window_seconds INTEGER NOT NULL)`,
      `CREATE TABLE IF NOT EXISTS rate_limit_overrides (name TEXT NOT NULL, scope TEXT NOT NULL,
        count INTEGER NOT NULL, window_seconds INTEGER NOT NULL, PRIMARY KEY (name, scope))`,
      `CREATE TABLE IF NOT EXISTS rate_buckets (key TEXT PRIMARY KEY NOT NULL, tat INTEGER NOT NULL)`,
      `CREATE TABLE IF NOT EXISTS admin_tokens (id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL,
        scope TEXT NOT NULL, token_hash TEXT NOT NULL, created_at INTEGER NOT NULL, revoked_at INTEGER)`,
      `CREATE UNIQUE INDEX IF NOT EXISTS admin_tokens_hash ON admin_tokens (token_hash)`,
      `CREATE TABLE IF NOT EXISTS admin_changes (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL,
        token_id TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL, before TEXT, after TEXT)`,
      `CREATE TABLE IF NOT EXISTS preauthorizations (authz_id TEXT PRIMARY KEY NOT NULL,
        account_id TEXT NOT NULL, eab_kid TEXT NOT NULL, identifier_type TEXT NOT NULL,
        identifier_value TEXT NOT NULL, created_at INTEGER NOT NULL)`,
      // rate limits count certificates per domain and failed validations per account over a window
      `CREATE INDEX IF NOT EXISTS certificates_created ON certificates (created_at)`,
      `CREATE INDEX IF NOT EXISTS accounts_eab ON accounts (eab_kid)`,
    ],
  },
  {
    id: 3,
    name: 'renewal information (ARI): window overrides, scheduled revocation of replaced certificates',
    statements: [
      // one row per certificate an admin touched (renew now); certificates without a row get the
      // default window computed from their dates (edge/acme/ari.ts)
      `CREATE TABLE IF NOT EXISTS renewal_info (certificate_id TEXT PRIMARY KEY NOT NULL,
        cert_id TEXT NOT NULL, serial TEXT NOT NULL, window_start INTEGER, window_end INTEGER,
        explanation_url TEXT, revoke_at INTEGER, revoke_when_replaced INTEGER NOT NULL DEFAULT 0,
        revoke_reason INTEGER NOT NULL DEFAULT 4, revoke_claimed_at INTEGER, revoke_done_at INTEGER,
        revoke_error TEXT, updated_at INTEGER NOT NULL)`,
      `CREATE UNIQUE INDEX IF NOT EXISTS renewal_info_cert_id ON renewal_info (cert_id)`,
      `CREATE INDEX IF NOT EXISTS renewal_info_due ON renewal_info (revoke_done_at, revoke_at)`,
      // RFC 9773 §5: newOrder looks up the orders that already replace a certificate
      `CREATE INDEX IF NOT EXISTS orders_replaces ON orders (replaces)`,
    ],
  },
  {
    id: 4,
    name: 'keys reported compromised (blocked as account and certificate keys)',
    statements: [
      // one row per SubjectPublicKeyInfo SHA-256 (edge/storage/blocked-keys.ts); the first report wins
      `CREATE TABLE IF NOT EXISTS blocked_keys (spki_sha256 TEXT PRIMARY KEY NOT NULL, source TEXT NOT NULL,
        serial TEXT, account_id TEXT, note TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL)`,
      // bulk revocation (and the admin certificate search) select an account's certificates by id
      `CREATE INDEX IF NOT EXISTS certificates_account ON certificates (account_id, id)`,
    ],
  },
  {
    id: 5,
    name: 'EAB keys that bind several accounts',
    statements: [
      // How many accounts the key may bind; NULL: no limit. Existing keys keep binding one. The
      // accounts bound are counted from accounts.eab_kid (index accounts_eab); eab_keys.account_id
      // keeps the first one.
      `ALTER TABLE eab_keys ADD COLUMN max_accounts INTEGER DEFAULT 1`,
    ],
  },
  {
    id: 6,
    name: 'account key digests (accounts of a key reported compromised are found by index)',
    statements: [
      // base64url SHA-256 of the account key's SubjectPublicKeyInfo, as blocked_keys names keys
      // ('' when it cannot be computed). NULL on accounts made before: blocking a key fills those in,
      // and such an account's next request does (edge/acme/block-keys.ts).
      `ALTER TABLE accounts ADD COLUMN key_digest TEXT`,
      `CREATE INDEX IF NOT EXISTS accounts_key_digest ON accounts (key_digest)`,
    ],
  },
  {
    id: 7,
    name: 'events outbox and webhooks',
    statements: [
      // The outbox: one row per event, written in the batch that made the state change it reports
      // (edge/storage/events.ts), so an event is recorded exactly when its change is. `id` is the
      // stable message id deliveries carry (webhook-id); `seq` orders the outbox for fan-out.
      `CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL,
        type TEXT NOT NULL, at INTEGER NOT NULL, data TEXT NOT NULL)`,
      `CREATE UNIQUE INDEX IF NOT EXISTS events_id ON events (id)`,
      `CREATE INDEX IF NOT EXISTS events_type_at ON events (type, at)`,
      // secret: the whsec_ signing secret (it must be kept to sign; shown to the admin once);
      // cursor: the last events.seq fanned out to this endpoint
      `CREATE TABLE IF NOT EXISTS webhook_endpoints (id TEXT PRIMARY KEY NOT NULL, url TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '', event_types TEXT NOT NULL, secret TEXT NOT NULL,
        enabled INTEGER NOT NULL DEFAULT 1, cursor INTEGER NOT NULL, created_at INTEGER NOT NULL)`,
      `CREATE TABLE IF NOT EXISTS webhook_deliveries (endpoint_id TEXT NOT NULL, event_seq INTEGER NOT NULL,
        event_id TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
        next_at INTEGER NOT NULL, claimed_until INTEGER, last_at INTEGER, last_status INTEGER,
        last_response TEXT, last_error TEXT, delivered_at INTEGER, created_at INTEGER NOT NULL,
        PRIMARY KEY (endpoint_id, event_seq))`,
      `CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries (status, next_at)`,
      // the expiry watch and the charts read certificates by expiry
      `CREATE INDEX IF NOT EXISTS certificates_not_after ON certificates (not_after)`,
    ],
  },
  {
    id: 8,
    name: 'indexes the purge of expired rows reads (edge/storage/retention.ts)',
    statements: [
      // each purge step finds its oldest rows by index, so a step reads about as many rows as it deletes
      `CREATE INDEX IF NOT EXISTS orders_status_expires ON orders (status, expires_at)`,
      `CREATE INDEX IF NOT EXISTS authorizations_expires ON authorizations (expires_at, id)`,
      `CREATE INDEX IF NOT EXISTS certificates_not_after_id ON certificates (not_after, id)`,
      `CREATE INDEX IF NOT EXISTS rate_buckets_tat ON rate_buckets (tat)`,
    ],
  },
  {
    id: 9,
    name: 'opt-in challenge types (dns-persist-01) enabled per profile and per EAB key',
    statements: [
      // JSON array of challenge types offered only where enabled (validation/registry.ts
      // OPT_IN_TYPES); NULL: none, so existing profiles and keys keep what they offered.
      `ALTER TABLE profiles ADD COLUMN opt_in_challenges TEXT`,
      `ALTER TABLE eab_key_settings ADD COLUMN opt_in_challenges TEXT`,
    ],
  },
  {
    id: 10,
    name: 'webhook deliveries by event, for the purge of old events',
    statements: [
      // the primary key leads with endpoint_id: without this, deleting an event's deliveries reads them all
      `CREATE INDEX IF NOT EXISTS webhook_deliveries_event ON webhook_deliveries (event_seq)`,
    ],
  },
];
