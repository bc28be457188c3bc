// Edge deployment settings: URLs, keys, ports, resolver. They come from the environment (Node, Deno)
// or wrangler vars (Workers); admins' run-time settings live in the database instead (invariant 6 in docs/architecture.md).
// Each one is a row of edge/settings.ts, read through it (type, default); this file adds what a
// row cannot say: how settings combine, and the checks of their contents.
import { parseSignerKeys } from './relay/answer.ts';
import { parseValidationRoutes, type RouteRule } from './relay/validation-routes.ts';
import { type EdgeSettingName, FILE_SETTINGS, KEYED_SETTINGS, readSetting } from './settings.ts';

export interface ProfileConfig {
  description: string;
  /** validity of certificates issued under this profile */
  validitySeconds: number;
}

export interface EdgeConfig {
  /** where the edge on Node and Deno listens, and its TLS files (HTTPS when both are set); Workers: the platform's */
  listen: EdgeListen;
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
  /**
   * tests only: webhooks may target http:// URLs and loopback addresses (a receiver on 127.0.0.1);
   * link-local and metadata addresses stay refused
   */
  webhookTestTargets: boolean;
  eabRequired: boolean;
  termsOfService?: string;
  website?: string;
  caaIdentities: string[];
  profiles: Record<string, ProfileConfig>;
  defaultProfile: string;
  /** seconds an account read by `kid` is reused by this process (edge/storage/account-cache.ts) */
  accountCacheSeconds: number;
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
  /** days an expired order without a certificate, or an authorization, is kept past its expiry */
  expiredRetentionDays: number;
  /** days a certificate row (and its order) is kept past the certificate's notAfter */
  certificateRetentionDays: number;
  /** days an admin change-log row is kept */
  changeLogRetentionDays: number;
  /** days an event (and its webhook deliveries) is kept */
  eventRetentionDays: number;
  /** Node/Deno: seconds between two purge runs (0: no timer; a Workers cron runs it there) */
  purgeIntervalSeconds: number;
}

export const DEFAULT_PROFILES: Record<string, ProfileConfig> = {
  default: {
    description: 'Short-lived TLS server and client certificate (24 hours)',
    validitySeconds: 86_400,
  },
  tlsserver: { description: 'TLS server certificate, 7 days', validitySeconds: 7 * 86_400 },
  tlsclient: { description: 'TLS client certificate, 24 hours', validitySeconds: 86_400 },
};

type KeysOf<T, V> = { [K in keyof T]-?: T[K] extends V ? K : never }[keyof T];
type KeyedRow = (typeof KEYED_SETTINGS)[number];
/**
 * Each keyed row of the settings table (edge/settings.ts, which does not import this file) names an
 * EdgeConfig field of its own type: a wrong name or type fails the typecheck here.
 */
export type SettingKeysCheck = [
  Extract<KeyedRow, { type: 'int' }>['key'] extends KeysOf<EdgeConfig, number> ? true : never,
  Extract<KeyedRow, { type: 'bool' }>['key'] extends KeysOf<EdgeConfig, boolean> ? true : never,
];
export const SETTING_KEYS_CHECKED: SettingKeysCheck = [true, true];

/** The defaults of the EdgeConfig fields a setting sets directly: the rows' defaults. */
function settingDefaults(): Record<string, number | boolean> {
  return Object.fromEntries(KEYED_SETTINGS.map((s) => [s.key, s.default]));
}

/** EDGECA_HOST, EDGECA_PORT, EDGECA_TLS_CERT_FILE, EDGECA_TLS_KEY_FILE */
export interface EdgeListen {
  host: string;
  port: number;
  tlsCertFile?: string;
  tlsKeyFile?: string;
}

export function defaultEdgeConfig(
  over: Partial<EdgeConfig> & Pick<EdgeConfig, 'baseUrl' | 'dbUrl' | 'signerUrl' | 'relayKeyJwk'>,
): EdgeConfig {
  return {
    listen: { host: '127.0.0.1', port: 14000 },
    ...(settingDefaults() as Pick<EdgeConfig, (typeof KEYED_SETTINGS)[number]['key']>),
    caaIdentities: [],
    profiles: DEFAULT_PROFILES,
    defaultProfile: 'default',
    signerKeysJwk: [],
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

export { FILE_SETTINGS };

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
  const get = <N extends EdgeSettingName>(name: N) => readSetting(env, name);
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
  const port = get('EDGECA_PORT');
  // Each keyed row's type is its field's (settings.ts checks `key` against EdgeConfig), which
  // Object.fromEntries cannot carry: hence the cast.
  const keyed = Object.fromEntries(KEYED_SETTINGS.map((s) => [s.key, readSetting(env, s.name)])) as unknown;
  const cfg = defaultEdgeConfig({
    ...(keyed as Pick<EdgeConfig, (typeof KEYED_SETTINGS)[number]['key']>),
    baseUrl: (get('EDGECA_BASE_URL') ?? `https://127.0.0.1:${port}`).replace(/\/+$/, ''),
    dbUrl: get('EDGECA_DB_URL'),
    signerUrl: parseUrlList('EDGECA_SIGNER_URL', get('EDGECA_SIGNER_URL')).join(','),
    relayKeyJwk,
    signerKeysJwk: signerKeys(get('EDGECA_SIGNER_KEY')),
    caaIdentities: (get('EDGECA_CAA_IDENTITIES') ?? '').split(',').filter(Boolean),
    listen: {
      host: get('EDGECA_HOST') ?? '127.0.0.1',
      port,
      ...(get('EDGECA_TLS_CERT_FILE') ? { tlsCertFile: get('EDGECA_TLS_CERT_FILE') as string } : {}),
      ...(get('EDGECA_TLS_KEY_FILE') ? { tlsKeyFile: get('EDGECA_TLS_KEY_FILE') as string } : {}),
    },
  });
  if (cfg.relayConnectTimeoutMs === 0) throw new Error('EDGECA_RELAY_CONNECT_TIMEOUT_MS must be above 0');
  if (cfg.nonceRejectPercent > 100) throw new Error('EDGECA_NONCE_REJECT_PERCENT must lie between 0 and 100');
  const proxyHeader = get('EDGECA_TRUSTED_PROXY_HEADER');
  if (proxyHeader) cfg.trustedProxyHeader = trustedProxyHeader(proxyHeader);
  const dbAuthToken = get('EDGECA_DB_AUTH_TOKEN');
  if (dbAuthToken) cfg.dbAuthToken = dbAuthToken;
  const dnsResolver = get('EDGECA_DNS_RESOLVER');
  if (dnsResolver) cfg.dnsResolver = dnsResolver;
  const tos = get('EDGECA_TOS_URL');
  if (tos) cfg.termsOfService = tos;
  const website = get('EDGECA_WEBSITE');
  if (website) cfg.website = website;
  const validatorKey = get('EDGECA_VALIDATOR_KEY');
  if (validatorKey) cfg.validatorKeyJwk = JSON.parse(validatorKey);
  const validatorUrl = get('EDGECA_VALIDATOR_URL');
  if (validatorUrl) cfg.validatorUrl = parseUrlList('EDGECA_VALIDATOR_URL', validatorUrl).join(',');
  const signerCa = get('EDGECA_SIGNER_CA');
  if (signerCa) {
    if (!signerCa.includes('-----BEGIN CERTIFICATE-----'))
      throw new Error('EDGECA_SIGNER_CA(_FILE) holds no PEM CERTIFICATE');
    const plain = cfg.signerUrl.split(',').filter((u) => !u.startsWith('https://'));
    if (plain.length > 0) {
      throw new Error(
        `EDGECA_SIGNER_CA(_FILE) pins the signer's TLS CA, but ${plain.join(', ')} is not https://: the pin would protect nothing`,
      );
    }
    cfg.signerCaPem = signerCa;
  }
  const routes = get('EDGECA_VALIDATION_ROUTES');
  if (routes) cfg.validationRoutes = parseValidationRoutes(routes);
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
