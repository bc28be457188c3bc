// `edgeca admin ...`: the admin CLI. `token create` writes the first admin token straight into the
// edge database (like `edgeca eab`); every other command drives the admin API over HTTP(S), so it
// works against a remote edge too. Human tables by default, --json for scripts.
import { existsSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import {
  type Conn,
  formatTable,
  HELP,
  maxAccountsOption,
  parseDuration,
  parseExpiry,
} from './admin-format.ts';
import { blockKeyBody, bulkRevokeBody, incidentExitCode } from './admin-incident.ts';
import { adminToken } from './admin-token.ts';
import { webhookCreateBody, webhookSettingsBody, webhookUpdateBody } from './admin-webhooks.ts';
import { integerValue, parseCommandLine, runCommand, UsageError } from './args.ts';

const ENDPOINTS = '.edgeca/dev/endpoints.json';

class CliError extends Error {}

function connection(v: {
  url?: string | undefined;
  token?: string | undefined;
  'token-file'?: string | undefined;
  'ca-file'?: string | undefined;
}): Conn {
  let dev: { adminUrl?: string; tlsCaFile?: string } = {};
  if (existsSync(ENDPOINTS)) dev = JSON.parse(readFileSync(ENDPOINTS, 'utf8'));
  const url = v.url ?? process.env.EDGECA_ADMIN_URL ?? dev.adminUrl;
  if (!url)
    throw new UsageError(
      'no admin URL: pass --url https://edge/admin or set EDGECA_ADMIN_URL (npm start writes one to .edgeca/dev/endpoints.json)',
    );
  const token = adminToken(v, (line) => process.stderr.write(`edgeca admin: ${line}\n`));
  if (!token)
    throw new UsageError(
      'no admin token: pass --token-file FILE or set EDGECA_ADMIN_TOKEN_FILE (make the first one with `edgeca admin token create --scope write`)',
    );
  const caFile = v['ca-file'] ?? process.env.EDGECA_ADMIN_CA_FILE ?? dev.tlsCaFile;
  return {
    url: url.replace(/\/+$/, ''),
    token,
    ...(caFile && existsSync(caFile) ? { ca: readFileSync(caFile) } : {}),
  };
}

async function api(conn: Conn, method: string, path: string, body?: unknown): Promise<unknown> {
  const u = new URL(conn.url + path);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(
      u,
      {
        method,
        headers: {
          authorization: `Bearer ${conn.token}`,
          ...(payload ? { 'content-type': 'application/json' } : {}),
        },
        ...(conn.ca ? { ca: conn.ca } : {}),
        timeout: 30_000,
      },
      (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () =>
          resolve({ status: r.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out after 30 s')));
    req.on('error', reject);
    req.end(payload);
  }).catch((e: Error) => {
    throw new CliError(
      `cannot reach ${conn.url}: ${e.message} (is the edge running? check --url / EDGECA_ADMIN_URL and --ca-file)`,
    );
  });
  const doc = res.text ? JSON.parse(res.text) : undefined;
  if (res.status >= 400) {
    const detail = doc?.detail ?? res.text;
    const hint =
      res.status === 401
        ? ' — create a token with `edgeca admin token create --scope write` and pass it with --token-file or EDGECA_ADMIN_TOKEN_FILE'
        : res.status === 403
          ? ' — use a token with the write scope'
          : '';
    throw new CliError(`${method} ${path}: ${res.status} ${detail}${hint}`);
  }
  return doc;
}

const csv = (v: string | undefined) =>
  v === undefined
    ? undefined
    : v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);

function need(v: string | undefined, what: string): string {
  if (!v) throw new UsageError(`name the ${what}`);
  return v;
}

type Values = ReturnType<typeof parse>['values'];

function parse(args: string[]) {
  return parseCommandLine(args, {
    url: { type: 'string' },
    token: { type: 'string' },
    'token-file': { type: 'string' },
    'ca-file': { type: 'string' },
    db: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
    scope: { type: 'string' },
    name: { type: 'string' },
    allow: { type: 'string', multiple: true },
    deny: { type: 'string', multiple: true },
    profiles: { type: 'string' },
    'all-profiles': { type: 'boolean' },
    expires: { type: 'string' },
    'pre-authorize': { type: 'boolean' },
    'no-pre-authorize': { type: 'boolean' },
    'max-accounts': { type: 'string' },
    description: { type: 'string' },
    validity: { type: 'string' },
    'key-types': { type: 'string' },
    ekus: { type: 'string' },
    identifiers: { type: 'string' },
    wildcards: { type: 'boolean' },
    'no-wildcards': { type: 'boolean' },
    'signer-profile': { type: 'string' },
    count: { type: 'string' },
    window: { type: 'string' },
    account: { type: 'string' },
    eab: { type: 'string' },
    identifier: { type: 'string' },
    serial: { type: 'string' },
    status: { type: 'string' },
    reason: { type: 'string' },
    limit: { type: 'string' },
    issuer: { type: 'string' },
    pattern: { type: 'string' },
    'revoke-when-replaced': { type: 'boolean' },
    'revoke-at': { type: 'string' },
    explanation: { type: 'string' },
    'dry-run': { type: 'boolean' },
    spki: { type: 'string' },
    'issued-after': { type: 'string' },
    'issued-before': { type: 'string' },
    'jwk-file': { type: 'string' },
    'pem-file': { type: 'string' },
    note: { type: 'string' },
    target: { type: 'string' },
    events: { type: 'string' },
    enable: { type: 'boolean' },
    disable: { type: 'boolean' },
    type: { type: 'string' },
    'allow-private': { type: 'string' },
    'expiry-share': { type: 'string' },
    interval: { type: 'string' },
    'opt-in-challenges': { type: 'string' },
    wildcard: { type: 'boolean' },
    'persist-until': { type: 'string' },
  });
}

function query(v: Values, map: Record<string, keyof Values>): string {
  const q = new URLSearchParams();
  for (const [k, opt] of Object.entries(map)) {
    const x = v[opt];
    if (typeof x === 'string') q.set(k, x);
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

function eabBody(v: Values): Record<string, unknown> {
  const b: Record<string, unknown> = {};
  if (v.allow || v.deny) b.policy = { allow: v.allow ?? [], deny: v.deny ?? [] };
  if (v.profiles !== undefined) b.profiles = csv(v.profiles);
  if (v['all-profiles']) b.profiles = null;
  if (v.expires !== undefined) b.expiresAt = parseExpiry(v.expires);
  if (v['pre-authorize']) b.preAuthorize = true;
  if (v['no-pre-authorize']) b.preAuthorize = false;
  const max = maxAccountsOption(v['max-accounts']);
  if (max !== undefined) b.maxAccounts = max;
  const optIn = optInOption(v);
  if (optIn !== undefined) b.optInChallenges = optIn;
  return b;
}

/** --opt-in-challenges a,b or "none" (the empty list). */
function optInOption(v: Values): string[] | undefined {
  const o = v['opt-in-challenges'];
  if (o === undefined) return undefined;
  return o === 'none' ? [] : csv(o);
}

/** dns-persist-record: the query; --persist-until as a date, a duration from now, or UNIX seconds. */
function persistRecordQuery(v: Values): string {
  const q = new URLSearchParams({
    account: need(v.account, '--account'),
    name: need(v.name, '--name'),
  });
  if (v.wildcard) q.set('wildcard', 'true');
  const until = v['persist-until'];
  if (until !== undefined) {
    const when = /^\d{9,12}$/.test(until) ? null : parseExpiry(until);
    if (when === null && !/^\d{9,12}$/.test(until)) {
      throw new UsageError('--persist-until must be a date, a duration (90d) or UNIX seconds');
    }
    const unix = when === null ? Number(until) : Math.floor(Date.parse(when) / 1000);
    q.set('persistUntil', String(unix));
  }
  return `?${q}`;
}

/** Renew now — one selector, then what happens to the replaced certificates. */
function renewNowBody(v: Values): Record<string, unknown> {
  const b: Record<string, unknown> = {};
  if (v.serial !== undefined) b.serial = v.serial;
  if (v.issuer !== undefined) b.issuer = v.issuer;
  if (v.pattern !== undefined) b.pattern = v.pattern;
  if (Object.keys(b).length !== 1)
    throw new UsageError('renew-now needs one of --serial, --issuer or --pattern');
  if (v['revoke-when-replaced']) b.revokeWhenReplaced = true;
  if (v['revoke-at'] !== undefined) b.revokeAt = parseExpiry(v['revoke-at']);
  if (v.reason !== undefined) b.revokeReason = integerValue(v.reason, 'reason', 0, 10);
  if (v.explanation !== undefined) b.explanationUrl = v.explanation;
  if (v['dry-run']) b.dryRun = true;
  return b;
}

async function profileBody(conn: Conn, name: string, v: Values): Promise<Record<string, unknown>> {
  let b: Record<string, unknown> = {};
  try {
    const { name: _n, ...existing } = (await api(
      conn,
      'GET',
      `/profiles/${encodeURIComponent(name)}`,
    )) as Record<string, unknown>;
    b = existing;
  } catch (e) {
    if (!(e instanceof CliError) || !/ 404 /.test(e.message)) throw e;
  }
  if (v.description !== undefined) b.description = v.description;
  if (v.validity !== undefined) b.validitySeconds = parseDuration(v.validity, '--validity');
  if (v['key-types'] !== undefined) b.keyTypes = csv(v['key-types']);
  if (v.ekus !== undefined) b.ekus = csv(v.ekus);
  if (v.identifiers !== undefined) b.identifierTypes = csv(v.identifiers);
  if (v.wildcards) b.allowWildcards = true;
  if (v['no-wildcards']) b.allowWildcards = false;
  if (v['signer-profile'] !== undefined) b.signerProfile = v['signer-profile'];
  const optIn = optInOption(v);
  if (optIn !== undefined) b.optInChallenges = optIn;
  if (b.validitySeconds === undefined) throw new UsageError('a new profile needs --validity (e.g. 24h, 7d)');
  return b;
}

async function tokenCreate(v: Values): Promise<number> {
  const scope = v.scope ?? 'read';
  if (scope !== 'read' && scope !== 'write') throw new UsageError('--scope must be read or write');
  // Loaded here: the other commands only talk HTTP and need no database code.
  const { openEdgeDb } = await import('./edge-db.ts');
  const { createAdminStore } = await import('../edge/storage/admin.ts');
  const edgeDb = await openEdgeDb(v.db, (line) => process.stderr.write(`edgeca admin: ${line}\n`));
  try {
    const store = createAdminStore(edgeDb.db);
    const t = await store.newToken(v.name ?? '', scope);
    await store.commit([t.stmt], {
      tokenId: 'cli',
      action: 'token.create',
      target: `token:${t.row.id}`,
      before: null,
      after: t.row,
    });
    if (v.json) process.stdout.write(`${JSON.stringify({ id: t.row.id, scope, token: t.token })}\n`);
    else
      process.stdout.write(
        `id:    ${t.row.id}\nscope: ${scope}\ntoken: ${t.token}\n(the token is shown only now; keep it in a file only you can read and pass --token-file FILE,\n or set EDGECA_ADMIN_TOKEN_FILE=FILE)\n`,
      );
    return 0;
  } finally {
    edgeDb.close();
  }
}

async function run(positionals: string[], v: Values): Promise<unknown> {
  const [area, cmd, arg] = positionals;
  const e = encodeURIComponent;
  const conn = () => connection(v);
  const scopeOf = () => (v.account ? `account:${v.account}` : v.eab ? `eab:${v.eab}` : undefined);
  switch (`${area} ${cmd ?? ''}`.trim()) {
    case 'token list':
      return api(conn(), 'GET', '/tokens');
    case 'token revoke':
      return api(conn(), 'POST', `/tokens/${e(need(arg, 'token id'))}/revoke`);
    case 'policy list':
      return api(conn(), 'GET', '/policies');
    case 'policy show':
      return api(conn(), 'GET', `/policies/${e(arg ?? 'global')}`);
    case 'policy set':
      return api(conn(), 'PUT', `/policies/${e(need(arg, 'scope (global, eab:<kid>, account:<id>)'))}`, {
        allow: v.allow ?? [],
        deny: v.deny ?? [],
      });
    case 'policy delete':
      return api(conn(), 'DELETE', `/policies/${e(need(arg, 'scope'))}`);
    case 'profile list':
      return api(conn(), 'GET', '/profiles');
    case 'profile show':
      return api(conn(), 'GET', `/profiles/${e(need(arg, 'profile'))}`);
    case 'profile set': {
      const c = conn();
      return api(c, 'PUT', `/profiles/${e(need(arg, 'profile'))}`, await profileBody(c, arg!, v));
    }
    case 'profile delete':
      return api(conn(), 'DELETE', `/profiles/${e(need(arg, 'profile'))}`);
    case 'profile default':
      return api(conn(), 'PUT', '/default-profile', { name: need(arg, 'profile') });
    case 'eab create':
      return api(conn(), 'POST', '/eab-keys', { ...(v.name ? { name: v.name } : {}), ...eabBody(v) });
    case 'eab list':
      return api(conn(), 'GET', '/eab-keys');
    case 'eab show':
      return api(conn(), 'GET', `/eab-keys/${e(need(arg, 'EAB key id'))}`);
    case 'eab update':
      return api(conn(), 'PATCH', `/eab-keys/${e(need(arg, 'EAB key id'))}`, eabBody(v));
    case 'eab revoke':
      return api(conn(), 'POST', `/eab-keys/${e(need(arg, 'EAB key id'))}/revoke`);
    case 'ratelimit list':
      return api(conn(), 'GET', '/rate-limits');
    case 'ratelimit set': {
      const name = need(arg, 'rate limit');
      const body = {
        count: integerValue(need(v.count, '--count'), 'count', 0, 1_000_000_000),
        windowSeconds: parseDuration(need(v.window, '--window'), '--window'),
      };
      const s = scopeOf();
      return api(
        conn(),
        'PUT',
        s ? `/rate-limits/${e(name)}/overrides/${e(s)}` : `/rate-limits/${e(name)}`,
        body,
      );
    }
    case 'ratelimit delete': {
      const name = need(arg, 'rate limit');
      const s = scopeOf();
      return api(
        conn(),
        'DELETE',
        s ? `/rate-limits/${e(name)}/overrides/${e(s)}` : `/rate-limits/${e(name)}`,
      );
    }
    case 'account list':
      return api(conn(), 'GET', `/accounts${query(v, { eab: 'eab', status: 'status', limit: 'limit' })}`);
    case 'account deactivate':
      return api(conn(), 'POST', `/accounts/${e(need(arg, 'account id'))}/deactivate`);
    case 'order list':
      return api(
        conn(),
        'GET',
        `/orders${query(v, { account: 'account', status: 'status', identifier: 'identifier', limit: 'limit' })}`,
      );
    case 'cert list':
      return api(
        conn(),
        'GET',
        `/certificates${query(v, { account: 'account', serial: 'serial', identifier: 'identifier', limit: 'limit' })}`,
      );
    case 'cert revoke':
      return api(conn(), 'POST', `/certificates/${e(need(arg, 'serial'))}/revoke`, {
        reason: integerValue(v.reason, 'reason', 0, 10) ?? 0,
      });
    case 'renew-now':
      return api(conn(), 'POST', '/renew-now', renewNowBody(v));
    case 'renewals list':
      return api(conn(), 'GET', `/renewals${query(v, { limit: 'limit' })}`);
    case 'renewals show':
      return api(conn(), 'GET', `/renewals/${e(need(arg, 'serial'))}`);
    case 'renewals run':
      return api(conn(), 'POST', '/renewals/run');
    case 'revoke-bulk':
      return api(conn(), 'POST', '/bulk-revoke', bulkRevokeBody(v));
    case 'blocked-keys list':
      return api(conn(), 'GET', `/blocked-keys${query(v, { limit: 'limit' })}`);
    case 'blocked-keys show':
      return api(conn(), 'GET', `/blocked-keys/${e(need(arg, 'key hash (SPKI SHA-256)'))}`);
    case 'blocked-keys add':
      return api(conn(), 'POST', '/blocked-keys', blockKeyBody(v));
    case 'blocked-keys remove':
      return api(conn(), 'DELETE', `/blocked-keys/${e(need(arg, 'key hash (SPKI SHA-256)'))}`);
    case 'events':
    case 'events list':
      return api(conn(), 'GET', `/events${query(v, { type: 'type', limit: 'limit' })}`);
    case 'webhook list':
      return api(conn(), 'GET', '/webhooks');
    case 'webhook show':
      return api(conn(), 'GET', `/webhooks/${e(need(arg, 'webhook id'))}${query(v, { limit: 'limit' })}`);
    case 'webhook create':
      return api(conn(), 'POST', '/webhooks', webhookCreateBody(v));
    case 'webhook update':
      return api(conn(), 'PATCH', `/webhooks/${e(need(arg, 'webhook id'))}`, webhookUpdateBody(v));
    case 'webhook delete':
      return api(conn(), 'DELETE', `/webhooks/${e(need(arg, 'webhook id'))}`);
    case 'webhook run':
      return api(conn(), 'POST', '/webhooks/run');
    case 'webhook settings':
      if (arg === 'set') return api(conn(), 'PUT', '/webhook-settings', webhookSettingsBody(v));
      return api(conn(), 'GET', '/webhook-settings');
    case 'dns-persist-record':
      return api(conn(), 'GET', `/dns-persist-record${persistRecordQuery(v)}`);
    case 'preauth list':
      return api(conn(), 'GET', '/preauthorizations');
    case 'changes':
    case 'changes list':
      return api(conn(), 'GET', `/changes${query(v, { limit: 'limit' })}`);
  }
  throw new UsageError(`unknown command "${positionals.join(' ')}"`);
}

export function main(args: string[]): Promise<number> {
  return runCommand('edgeca admin', HELP, async () => {
    const { positionals, values } = parse(args);
    if (values.help || positionals.length === 0) {
      process.stdout.write(HELP);
      return 0;
    }
    if (positionals[0] === 'token' && positionals[1] === 'create') return await tokenCreate(values);
    const out = await run(positionals, values);
    if (values.json) process.stdout.write(`${JSON.stringify(out ?? null)}\n`);
    else process.stdout.write(formatTable(positionals, out));
    return incidentExitCode(positionals, out);
  });
}
