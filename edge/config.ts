// Edge deployment settings: URLs, keys, ports, resolver. They come from the environment (Node, Deno)
// or wrangler vars (Workers); admins' run-time settings live in the database instead (invariant 6 in docs/architecture.md).
import { parseSignerKeys } from './relay/answer.ts';
import { parseValidationRoutes, type RouteRule } from './relay/validation-routes.ts';

export interface ProfileConfig {
  description: string;
  /** validity of certificates issued under this profile */
  validitySeconds: number;
}

export interface EdgeConfig {
  /** externally visible origin, e.g. https://acme.example.internal:14000 (no trailing slash) */
  baseUrl: string;
  dbUrl: string;
  dbAuthToken?: string;
  /** the signer, or several, comma-separated, in the order they are preferred (failover) */
  signerUrl: string;
  /** the signers' public answer keys (JWKs with kid), pinned: only answers they sign count */
  signerKeysJwk: Record<string, unknown>[];
  /** PEM of the CA that alone vouches for https signer URLs (runtime permitting: docs/runtimes.md) */
  signerCaPem?: string;
  /** the edge's relay private key, a JWK (ES256 or EdDSA) with kid */
  relayKeyJwk: Record<string, unknown>;
  /** pinned validator answer key (public JWK), for on-prem validation */
  validatorKeyJwk?: Record<string, unknown>;
  /** the on-prem validator (POST /v1/validate), or several, comma-separated (failover); docs/validator.md */
  validatorUrl?: string;
  /** where each identifier's challenges are validated (relay/validation-routes.ts) */
  validationRoutes: RouteRule[];
  dnsResolver?: string;
  http01Port: number;
  tlsAlpnPort: number;
  allowLoopback: boolean;
  eabRequired: boolean;
  termsOfService?: string;
  website?: string;
  caaIdentities: string[];
  profiles: Record<string, ProfileConfig>;
  defaultProfile: string;
  /** how long a nonce stays usable */
  nonceLifetimeSeconds: number;
  orderLifetimeSeconds: number;
  authzLifetimeSeconds: number;
  /** upper bound of identifiers in one order */
  maxIdentifiersPerOrder: number;
  /** request body cap */
  maxBodyBytes: number;
  /** time allowed for one relay call to the signer, every failover attempt included */
  relayTimeoutMs: number;
  /** time one signer has to start answering before the next is tried */
  relayConnectTimeoutMs: number;
  /** how long a signer or validator that failed is skipped before it is tried again */
  relayRetryAfterS: number;
  /** newOrder refuses (rateLimited) an account holding this many pending authorizations */
  maxPendingAuthzsPerAccount: number;
  /** newOrder refuses (rateLimited) an account holding this many pending or ready orders */
  maxPendingOrdersPerAccount: number;
  /** Node/Deno servers: time a client has to send its request headers, and the whole request */
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  /** failed admin logins (API and web UI) allowed per client address per minute (then 429) */
  adminAuthFailuresPerMinute: number;
  /**
   * the header a proxy in front of the edge sets to the client's address (lower-case), e.g.
   * x-forwarded-for; unset: the connection's address (edge/ratelimit/client-address.ts)
   */
  trustedProxyHeader?: string;
  /** Pebble-style: refuse this percentage of good nonces with badNonce, so clients prove they retry */
  nonceRejectPercent: number;
  /** count SQL statements by kind into edgeca_sql_statements_total (libSQL backends) */
  sqlStatementMetrics: boolean;
}

export const DEFAULT_PROFILES: Record<string, ProfileConfig> = {
  default: {
    description: 'Short-lived TLS server and client certificate (24 hours)',
    validitySeconds: 86_400,
  },
  tlsserver: { description: 'TLS server certificate, 7 days', validitySeconds: 7 * 86_400 },
  tlsclient: { description: 'TLS client certificate, 24 hours', validitySeconds: 86_400 },
};

export function defaultEdgeConfig(
  over: Partial<EdgeConfig> & Pick<EdgeConfig, 'baseUrl' | 'dbUrl' | 'signerUrl' | 'relayKeyJwk'>,
): EdgeConfig {
  return {
    http01Port: 80,
    tlsAlpnPort: 443,
    allowLoopback: false,
    eabRequired: false,
    caaIdentities: [],
    profiles: DEFAULT_PROFILES,
    defaultProfile: 'default',
    nonceLifetimeSeconds: 3600,
    orderLifetimeSeconds: 7 * 86_400,
    authzLifetimeSeconds: 7 * 86_400,
    maxIdentifiersPerOrder: 100,
    maxBodyBytes: 64 * 1024,
    relayTimeoutMs: 15_000,
    relayConnectTimeoutMs: 2_000,
    relayRetryAfterS: 30,
    signerKeysJwk: [],
    maxPendingAuthzsPerAccount: 1000,
    maxPendingOrdersPerAccount: 1000,
    headersTimeoutMs: 10_000,
    requestTimeoutMs: 30_000,
    nonceRejectPercent: 0,
    adminAuthFailuresPerMinute: 10,
    sqlStatementMetrics: false,
    validationRoutes: [],
    ...over,
  };
}

/** EDGECA_SIGNER_KEY: required, a public JWK or a JWK set. */
function signerKeys(v: string | undefined): Record<string, unknown>[] {
  if (!v) {
    throw new Error(
      "EDGECA_SIGNER_KEY(_FILE) is not set: the edge accepts only signer answers signed by a pinned key (the signer's answerKeyFile, public half)",
    );
  }
  try {
    return parseSignerKeys(v);
  } catch (e) {
    throw new Error(`EDGECA_SIGNER_KEY is not a public JWK or a JWK set: ${(e as Error).message}`);
  }
}

function bool(v: string | undefined, dflt: boolean): boolean {
  if (v === undefined || v === '') return dflt;
  return /^(1|true|yes|on)$/i.test(v);
}

function int(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got "${v}"`);
  return n;
}

/** EDGECA_TRUSTED_PROXY_HEADER: one header name whose value is an address (the last one counts). */
function trustedProxyHeader(v: string): string {
  const name = v.trim().toLowerCase();
  if (!/^[a-z0-9-]+$/.test(name))
    throw new Error(
      `EDGECA_TRUSTED_PROXY_HEADER must be one header name such as X-Forwarded-For, got "${v}"`,
    );
  if (name === 'forwarded')
    throw new Error(
      'EDGECA_TRUSTED_PROXY_HEADER: the Forwarded header (RFC 7239) is not read; name a header holding addresses, such as X-Forwarded-For',
    );
  return name;
}

/**
 * A comma-separated list of http(s) base URLs (signers, validators), each without a trailing
 * slash; throws naming the setting and the entry that is not one.
 */
export function parseUrlList(name: string, value: string): string[] {
  const urls = value
    .split(',')
    .map((u) => u.trim().replace(/\/+$/, ''))
    .filter(Boolean);
  if (urls.length === 0) throw new Error(`${name} names no URL`);
  for (const u of urls) {
    let parsed: URL;
    try {
      parsed = new URL(u);
    } catch {
      throw new Error(`${name}: "${u}" is not a URL`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
      throw new Error(`${name}: "${u}" is not an http:// or https:// URL`);
  }
  return urls;
}

/** The settings whose value may come from a file (`<NAME>_FILE`); the runtime adapter reads those. */
export const FILE_SETTINGS = [
  'EDGECA_RELAY_KEY',
  'EDGECA_VALIDATOR_KEY',
  'EDGECA_SIGNER_KEY',
  'EDGECA_SIGNER_CA',
] as const;

/** Fills `<NAME>` from the file `<NAME>_FILE` names, for each FILE_SETTINGS name not set inline. */
export function readFileSettings(
  env: Record<string, string | undefined>,
  readText: (path: string) => string,
): Record<string, string | undefined> {
  const out = { ...env };
  for (const name of FILE_SETTINGS) {
    const file = out[`${name}_FILE`];
    if (out[name] || !file) continue;
    try {
      out[name] = readText(file);
    } catch (e) {
      throw new Error(`${name}_FILE: cannot read ${file}: ${(e as Error).message}`);
    }
  }
  return out;
}

/**
 * Reads the edge settings from environment variables (or wrangler vars). The relay key is given
 * inline (EDGECA_RELAY_KEY, a JWK JSON) — file paths are resolved by the runtime adapter before this.
 */
export function edgeConfigFromEnv(env: Record<string, string | undefined>): EdgeConfig {
  const need = (k: string): string => {
    const v = env[k];
    if (!v) throw new Error(`${k} is not set`);
    return v;
  };
  let relayKeyJwk: Record<string, unknown>;
  try {
    relayKeyJwk = JSON.parse(need('EDGECA_RELAY_KEY'));
  } catch (e) {
    throw new Error(`EDGECA_RELAY_KEY is not a JWK in JSON: ${(e as Error).message}`);
  }
  const port = int('EDGECA_PORT', env.EDGECA_PORT, 14000);
  const cfg = defaultEdgeConfig({
    baseUrl: (env.EDGECA_BASE_URL ?? `https://127.0.0.1:${port}`).replace(/\/+$/, ''),
    dbUrl: env.EDGECA_DB_URL ?? 'file:.edgeca/dev/edge.db',
    signerUrl: parseUrlList('EDGECA_SIGNER_URL', env.EDGECA_SIGNER_URL ?? 'http://127.0.0.1:14100').join(','),
    relayKeyJwk,
    signerKeysJwk: signerKeys(env.EDGECA_SIGNER_KEY),
    http01Port: int('EDGECA_HTTP01_PORT', env.EDGECA_HTTP01_PORT, 80),
    tlsAlpnPort: int('EDGECA_TLSALPN01_PORT', env.EDGECA_TLSALPN01_PORT, 443),
    allowLoopback: bool(env.EDGECA_ALLOW_LOOPBACK, false),
    eabRequired: bool(env.EDGECA_EAB_REQUIRED, false),
    sqlStatementMetrics: bool(env.EDGECA_SQL_STATEMENT_METRICS, false),
    caaIdentities: (env.EDGECA_CAA_IDENTITIES ?? '').split(',').filter(Boolean),
  });
  // Resource limits: every one configurable, each with a safe default.
  const limit = (key: keyof EdgeConfig & string, name: string) => {
    (cfg as unknown as Record<string, number>)[key] = int(name, env[name], cfg[key] as number);
  };
  limit('maxBodyBytes', 'EDGECA_MAX_BODY_BYTES');
  limit('maxIdentifiersPerOrder', 'EDGECA_MAX_IDENTIFIERS_PER_ORDER');
  limit('maxPendingAuthzsPerAccount', 'EDGECA_MAX_PENDING_AUTHZS');
  limit('maxPendingOrdersPerAccount', 'EDGECA_MAX_PENDING_ORDERS');
  limit('nonceLifetimeSeconds', 'EDGECA_NONCE_LIFETIME_S');
  limit('orderLifetimeSeconds', 'EDGECA_ORDER_LIFETIME_S');
  limit('authzLifetimeSeconds', 'EDGECA_AUTHZ_LIFETIME_S');
  limit('relayTimeoutMs', 'EDGECA_RELAY_TIMEOUT_MS');
  limit('relayConnectTimeoutMs', 'EDGECA_RELAY_CONNECT_TIMEOUT_MS');
  limit('relayRetryAfterS', 'EDGECA_RELAY_RETRY_AFTER_S');
  if (cfg.relayConnectTimeoutMs === 0) throw new Error('EDGECA_RELAY_CONNECT_TIMEOUT_MS must be above 0');
  limit('headersTimeoutMs', 'EDGECA_HEADERS_TIMEOUT_MS');
  limit('requestTimeoutMs', 'EDGECA_REQUEST_TIMEOUT_MS');
  limit('nonceRejectPercent', 'EDGECA_NONCE_REJECT_PERCENT');
  limit('adminAuthFailuresPerMinute', 'EDGECA_ADMIN_AUTH_FAILURES_PER_MIN');
  if (cfg.nonceRejectPercent > 100) throw new Error('EDGECA_NONCE_REJECT_PERCENT must lie between 0 and 100');
  if (env.EDGECA_TRUSTED_PROXY_HEADER)
    cfg.trustedProxyHeader = trustedProxyHeader(env.EDGECA_TRUSTED_PROXY_HEADER);
  if (env.EDGECA_DB_AUTH_TOKEN) cfg.dbAuthToken = env.EDGECA_DB_AUTH_TOKEN;
  if (env.EDGECA_DNS_RESOLVER) cfg.dnsResolver = env.EDGECA_DNS_RESOLVER;
  if (env.EDGECA_TOS_URL) cfg.termsOfService = env.EDGECA_TOS_URL;
  if (env.EDGECA_WEBSITE) cfg.website = env.EDGECA_WEBSITE;
  if (env.EDGECA_VALIDATOR_KEY) cfg.validatorKeyJwk = JSON.parse(env.EDGECA_VALIDATOR_KEY);
  if (env.EDGECA_VALIDATOR_URL)
    cfg.validatorUrl = parseUrlList('EDGECA_VALIDATOR_URL', env.EDGECA_VALIDATOR_URL).join(',');
  if (env.EDGECA_SIGNER_CA) {
    if (!env.EDGECA_SIGNER_CA.includes('-----BEGIN CERTIFICATE-----'))
      throw new Error('EDGECA_SIGNER_CA(_FILE) holds no PEM CERTIFICATE');
    const plain = cfg.signerUrl.split(',').filter((u) => !u.startsWith('https://'));
    if (plain.length > 0) {
      throw new Error(
        `EDGECA_SIGNER_CA(_FILE) pins the signer's TLS CA, but ${plain.join(', ')} is not https://: the pin would protect nothing`,
      );
    }
    cfg.signerCaPem = env.EDGECA_SIGNER_CA;
  }
  if (env.EDGECA_VALIDATION_ROUTES)
    cfg.validationRoutes = parseValidationRoutes(env.EDGECA_VALIDATION_ROUTES);
  if (cfg.validatorUrl && !cfg.validatorKeyJwk) {
    throw new Error(
      'EDGECA_VALIDATOR_URL needs EDGECA_VALIDATOR_KEY(_FILE): the validator key the edge pins',
    );
  }
  if (!cfg.validatorUrl && cfg.validationRoutes.some((r) => r.route !== 'edge')) {
    throw new Error(
      'EDGECA_VALIDATION_ROUTES routes to the on-prem validator, but EDGECA_VALIDATOR_URL is not set',
    );
  }
  return cfg;
}
