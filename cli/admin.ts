// `edgeca admin ...`: the admin CLI. `token create` writes the first admin token straight into the
// edge database (like `edgeca eab`); every other command drives the admin API over HTTP(S), so it
// works against a remote edge too. Human tables by default, --json for scripts.
import { api, connection } from './admin-api.ts';
import { eabBody, persistRecordQuery, profileBody, renewNowBody } from './admin-bodies.ts';
import { formatTable, HELP, parseDuration } from './admin-format.ts';
import { blockKeyBody, bulkRevokeBody, incidentExitCode } from './admin-incident.ts';
import { need, parse, query, type Values } from './admin-options.ts';
import { webhookCreateBody, webhookSettingsBody, webhookUpdateBody } from './admin-webhooks.ts';
import { integerValue, runCommand, UsageError } from './args.ts';

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
