// The edge's deployment settings, one row each: the one list that edge/config.ts parses the
// environment through, and from which the Deno --allow-env list (edge/platform/env-names.json), the
// README's settings table (`npm run gen` writes both; a test fails when they differ) and the help of
// `edgeca edge` are made. A setting added here is documented, allowed on Deno and parsed in one step.
// The row shape and the parser are the on-prem services' too (shared/settings.ts).
import { envNames, type Setting, settingReader } from '../shared/settings.ts';

export type EdgeRuntimeName = 'node' | 'deno' | 'workers';

const ALL: readonly EdgeRuntimeName[] = ['node', 'deno', 'workers'];
/** The settings of a process that listens itself (Workers are served by the platform). */
const SERVERS: readonly EdgeRuntimeName[] = ['node', 'deno'];

/** Where a setting applies, and the EdgeConfig field a number or boolean sets directly. */
interface EdgeExtra {
  runtimes: readonly EdgeRuntimeName[];
  /** the EdgeConfig field it sets (edge/config.ts checks each names a field of the row's type) */
  key?: string;
}

/** A row of the edge's table: the shared shape (shared/settings.ts) and where it applies. */
export type EdgeSetting = Setting & EdgeExtra;

export const EDGE_SETTINGS = [
  {
    name: 'EDGECA_HOST',
    type: 'string',
    default: '127.0.0.1',
    shown: '`127.0.0.1`',
    description: 'listen address',
    secret: false,
    runtimes: SERVERS,
  },
  {
    name: 'EDGECA_PORT',
    type: 'int',
    default: 14000,
    shown: '`14000`',
    description: 'listen port',
    secret: false,
    runtimes: SERVERS,
  },
  {
    name: 'EDGECA_BASE_URL',
    type: 'string',
    shown: '`https://127.0.0.1:<EDGECA_PORT>`',
    description: 'external origin; every ACME URL is built from it',
    secret: false,
    runtimes: ALL,
  },
  {
    name: 'EDGECA_TLS_CERT_FILE',
    type: 'string',
    shown: 'unset',
    description:
      'certificate chain (PEM) to serve HTTPS with, when `EDGECA_TLS_KEY_FILE` is set too (RFC 8555 §6.1 requires HTTPS)',
    secret: false,
    runtimes: SERVERS,
  },
  {
    name: 'EDGECA_TLS_KEY_FILE',
    type: 'string',
    shown: 'unset',
    description: 'the private key of `EDGECA_TLS_CERT_FILE`',
    secret: false,
    runtimes: SERVERS,
  },
  {
    name: 'EDGECA_DB_URL',
    type: 'string',
    default: 'file:.edgeca/dev/edge.db',
    shown: '`file:.edgeca/dev/edge.db` (Workers: the D1 binding `DB`)',
    description: 'libSQL URL (embedded file or remote)',
    secret: false,
    runtimes: ALL,
  },
  {
    name: 'EDGECA_DB_AUTH_TOKEN',
    type: 'string',
    shown: 'unset',
    description: 'token for remote libSQL',
    secret: true,
    runtimes: ALL,
  },
  {
    name: 'EDGECA_SIGNER_URL',
    type: 'string',
    default: 'http://127.0.0.1:14100',
    shown: '`http://127.0.0.1:14100`',
    description: 'the signer, or several comma-separated, tried in order (failover)',
    secret: false,
    runtimes: ALL,
  },
  {
    name: 'EDGECA_SIGNER_KEY',
    type: 'string',
    shown: '— (required)',
    description: "the signer's public answer key (a JWK, or a JWK set while keys roll), pinned",
    secret: false,
    fromFile: true,
    runtimes: ALL,
  },
  {
    name: 'EDGECA_SIGNER_CA',
    type: 'string',
    shown: 'unset',
    description: "CA (PEM) the https signer's certificate must chain to (Workers refuse to start with it)",
    secret: false,
    fromFile: true,
    runtimes: SERVERS,
  },
  {
    name: 'EDGECA_RELAY_KEY',
    type: 'string',
    shown: '— (required)',
    description: "the edge's relay signing key (private JWK with `kid`); the signer pins its public half",
    secret: true,
    fromFile: true,
    runtimes: ALL,
  },
  {
    name: 'EDGECA_VALIDATOR_KEY',
    type: 'string',
    shown: 'unset',
    description: "the on-prem validator's public JWK, pinned (needed with `EDGECA_VALIDATOR_URL`)",
    secret: false,
    fromFile: true,
    runtimes: ALL,
  },
  {
    name: 'EDGECA_VALIDATOR_URL',
    type: 'string',
    shown: 'unset',
    description:
      'the on-prem validator, or several comma-separated (failover) ([docs/validator.md](docs/validator.md))',
    secret: false,
    runtimes: ALL,
  },
  {
    name: 'EDGECA_VALIDATION_ROUTES',
    type: 'string',
    shown: 'all at the edge',
    description: 'JSON rules: which identifiers are validated `edge`, `onprem` or `both`',
    secret: false,
    runtimes: ALL,
  },
  {
    name: 'EDGECA_DNS_RESOLVER',
    type: 'string',
    shown: 'system resolver (Workers: Cloudflare DoH)',
    description: 'DNS server for validation, e.g. `127.0.0.1:8053`, or a DNS-over-HTTPS URL',
    secret: false,
    runtimes: ALL,
  },
  {
    name: 'EDGECA_HTTP01_PORT',
    type: 'int',
    default: 80,
    key: 'http01Port',
    shown: '`80`',
    description: 'port the edge connects to for http-01',
    secret: false,
    runtimes: ALL,
  },
  {
    name: 'EDGECA_TLSALPN01_PORT',
    type: 'int',
    default: 443,
    key: 'tlsAlpnPort',
    shown: '`443`',
    description: 'port for tls-alpn-01',
    secret: false,
    runtimes: ALL,
  },
  {
    name: 'EDGECA_ALLOW_LOOPBACK',
    type: 'bool',
    default: false,
    key: 'allowLoopback',
    shown: '`false` (`npm start`: `true`)',
    description: 'let validation connect to loopback addresses',
    secret: false,
    runtimes: ALL,
  },
  {
    name: 'EDGECA_WEBHOOK_TEST_TARGETS',
    type: 'bool',
    default: false,
    key: 'webhookTestTargets',
    shown: '`false`',
    description: 'tests only: webhooks may use http:// and loopback targets',
    secret: false,
    runtimes: ALL,
  },
  {
    name: 'EDGECA_EAB_REQUIRED',
    type: 'bool',
    default: false,
    key: 'eabRequired',
    shown: '`false`',
    description: 'refuse new accounts without External Account Binding',
    secret: false,
    runtimes: ALL,
  },
  {
    name: 'EDGECA_CAA_IDENTITIES',
    type: 'string',
    shown: 'empty',
    description: "comma-separated CAA issuer domains; also dns-persist-01's issuer names (none: not offered)",
    secret: false,
    runtimes: ALL,
  },
  {
    name: 'EDGECA_TOS_URL',
    type: 'string',
    shown: 'unset',
    description: 'directory `meta.termsOfService`',
    secret: false,
    runtimes: ALL,
  },
  {
    name: 'EDGECA_WEBSITE',
    type: 'string',
    shown: 'unset',
    description: 'directory `meta.website`',
    secret: false,
    runtimes: ALL,
  },
  {
    name: 'EDGECA_MAX_BODY_BYTES',
    type: 'int',
    default: 64 * 1024,
    key: 'maxBodyBytes',
    shown: '`65536`',
    description: 'largest request body accepted (bigger: 413 problem)',
    secret: false,
    runtimes: ALL,
  },
  {
    name: 'EDGECA_MAX_IDENTIFIERS_PER_ORDER',
    type: 'int',
    default: 100,
    key: 'maxIdentifiersPerOrder',
    shown: '`100`',
    description: 'identifiers one newOrder may name (`rejectedIdentifier` beyond)',
    secret: false,
    runtimes: ALL,
  },
  {
    name: 'EDGECA_MAX_PENDING_AUTHZS',
    type: 'int',
    default: 1000,
    key: 'maxPendingAuthzsPerAccount',
    shown: '`1000`',
    description: 'pending authorizations one account may hold (`rateLimited` beyond)',
    secret: false,
    runtimes: ALL,
  },
  {
    name: 'EDGECA_MAX_PENDING_ORDERS',
    type: 'int',
    default: 1000,
    key: 'maxPendingOrdersPerAccount',
    shown: '`1000`',
    description: 'pending or ready orders one account may hold (`rateLimited` beyond)',
    secret: false,
    runtimes: ALL,
  },
  {
    name: 'EDGECA_ACCOUNT_CACHE_S',
    type: 'int',
    default: 3,
    key: 'accountCacheSeconds',
    shown: '`3`',
    description: 'seconds an edge process reuses an account it read (`0`: never; docs/architecture.md)',
    secret: false,
    runtimes: ALL,
  },
  {
    name: 'EDGECA_NONCE_LIFETIME_S',
    type: 'int',
    default: 3600,
    key: 'nonceLifetimeSeconds',
    shown: '`3600`',
    description: 'how long a nonce stays usable',
    secret: false,
    runtimes: ALL,
  },
  {
    name: 'EDGECA_ORDER_LIFETIME_S',
    type: 'int',
    default: 7 * 86_400,
    key: 'orderLifetimeSeconds',
    shown: '`604800`',
    description: 'how long an unfinished order stays usable (then `invalid`)',
    secret: false,
    runtimes: ALL,
  },
  {
    name: 'EDGECA_AUTHZ_LIFETIME_S',
    type: 'int',
    default: 7 * 86_400,
    key: 'authzLifetimeSeconds',
    shown: '`604800`',
    description: 'how long an authorization stays usable',
    secret: false,
    runtimes: ALL,
  },
  {
    name: 'EDGECA_RELAY_TIMEOUT_MS',
    type: 'int',
    default: 15_000,
    key: 'relayTimeoutMs',
    shown: '`15000`',
    description: 'one relay call to the signers, failover attempts included',
    secret: false,
    runtimes: ALL,
  },
  {
    name: 'EDGECA_RELAY_CONNECT_TIMEOUT_MS',
    type: 'int',
    default: 2_000,
    key: 'relayConnectTimeoutMs',
    shown: '`2000`',
    description: 'time a signer has to start answering before the next is tried (above 0)',
    secret: false,
    runtimes: ALL,
  },
  {
    name: 'EDGECA_RELAY_RETRY_AFTER_S',
    type: 'int',
    default: 30,
    key: 'relayRetryAfterS',
    shown: '`30`',
    description: 'how long a failed signer or validator is skipped',
    secret: false,
    runtimes: ALL,
  },
  {
    name: 'EDGECA_HEADERS_TIMEOUT_MS',
    type: 'int',
    default: 10_000,
    key: 'headersTimeoutMs',
    shown: '`10000`',
    description: 'time a client has to send its request headers',
    secret: false,
    runtimes: SERVERS,
  },
  {
    name: 'EDGECA_REQUEST_TIMEOUT_MS',
    type: 'int',
    default: 30_000,
    key: 'requestTimeoutMs',
    shown: '`30000`',
    description: 'time a client has to send its whole request',
    secret: false,
    runtimes: SERVERS,
  },
  {
    name: 'EDGECA_NONCE_REJECT_PERCENT',
    type: 'int',
    default: 0,
    key: 'nonceRejectPercent',
    shown: '`0`',
    description:
      'testing: refuse this percentage (0–100) of good nonces with `badNonce` (clients must retry)',
    secret: false,
    runtimes: ALL,
  },
  {
    name: 'EDGECA_ADMIN_AUTH_FAILURES_PER_MIN',
    type: 'int',
    default: 10,
    key: 'adminAuthFailuresPerMinute',
    shown: '`10`',
    description: 'wrong admin tokens (API, web UI login, UI session) per client address per minute',
    secret: false,
    runtimes: ALL,
  },
  {
    name: 'EDGECA_TRUSTED_PROXY_HEADER',
    type: 'string',
    shown: 'unset',
    description: "header a proxy in front of the edge sets to the client's address (unset: the connection's)",
    secret: false,
    runtimes: ALL,
  },
  {
    name: 'EDGECA_SQL_STATEMENT_METRICS',
    type: 'bool',
    default: false,
    key: 'sqlStatementMetrics',
    shown: '`false`',
    description: 'count SQL statements by verb and table in `/metrics` (libSQL; the signer reads it too)',
    secret: false,
    runtimes: ALL,
  },
  {
    name: 'EDGECA_EXPIRED_RETENTION_DAYS',
    type: 'int',
    default: 7,
    key: 'expiredRetentionDays',
    shown: '`7`',
    description: 'days an expired order without a certificate, or authorization, is kept',
    secret: false,
    runtimes: ALL,
  },
  {
    name: 'EDGECA_CERT_RETENTION_DAYS',
    type: 'int',
    default: 90,
    key: 'certificateRetentionDays',
    shown: '`90`',
    description: 'days a certificate row and its order are kept past its notAfter',
    secret: false,
    runtimes: ALL,
  },
  {
    name: 'EDGECA_CHANGE_LOG_RETENTION_DAYS',
    type: 'int',
    default: 365,
    key: 'changeLogRetentionDays',
    shown: '`365`',
    description: 'days an admin change-log row is kept (docs/operations.md, Retention)',
    secret: false,
    runtimes: ALL,
  },
  {
    name: 'EDGECA_EVENT_RETENTION_DAYS',
    type: 'int',
    default: 30,
    key: 'eventRetentionDays',
    shown: '`30`',
    description: 'days an event and its webhook deliveries are kept (docs/events.md)',
    secret: false,
    runtimes: ALL,
  },
  {
    name: 'EDGECA_PURGE_INTERVAL_S',
    type: 'int',
    default: 300,
    key: 'purgeIntervalSeconds',
    shown: '`300`',
    description: 'Node/Deno: seconds between purge runs (`0`: none); Workers: its cron',
    secret: false,
    runtimes: SERVERS,
  },
] as const satisfies readonly EdgeSetting[];

export type EdgeSettingName = (typeof EDGE_SETTINGS)[number]['name'];

/** The table seen as rows of the general shape (optional fields readable on every row). */
export const SETTING_ROWS: readonly EdgeSetting[] = EDGE_SETTINGS;

/**
 * One setting from the environment, parsed by its row's type (shared/settings.ts): the only way
 * edge/config.ts reads one, so a variable that is not a row cannot be read.
 */
export const readSetting = settingReader(EDGE_SETTINGS);

/** The rows that set an EdgeConfig field directly (numbers, booleans). */
export const KEYED_SETTINGS = EDGE_SETTINGS.filter(
  (s): s is Extract<(typeof EDGE_SETTINGS)[number], { key: string }> => 'key' in s,
);

/** The settings whose value may come from a file (`<NAME>_FILE`); the runtime adapter reads those. */
export const FILE_SETTINGS: readonly string[] = SETTING_ROWS.filter((s) => s.fromFile).map((s) => s.name);

/**
 * Every environment variable the edge reads, `<NAME>_FILE` right after its setting: Deno's
 * `--allow-env` list (docs/runtimes.md), written to edge/platform/env-names.json for the `deno run`
 * arguments that plain Node builds.
 */
export const EDGE_ENV_NAMES: readonly string[] = envNames(SETTING_ROWS);
