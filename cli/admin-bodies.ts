// Request bodies and queries of `edgeca admin` built from its options: EAB keys, profiles, renew-now
// and the dns-persist-01 record (the webhook and incident commands have theirs in admin-webhooks.ts
// and admin-incident.ts).
import { AdminApiError, api } from './admin-api.ts';
import { type Conn, maxAccountsOption, parseDuration, parseExpiry } from './admin-format.ts';
import { csv, need, type Values } from './admin-options.ts';
import { integerValue, UsageError } from './args.ts';

/** EAB key create and update: the policy, profiles, expiry, pre-authorization and limits given. */
export function eabBody(v: Values): Record<string, unknown> {
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
export function persistRecordQuery(v: Values): string {
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
export function renewNowBody(v: Values): Record<string, unknown> {
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

/** profile set: the stored profile (when there is one) with the options given laid over it. */
export async function profileBody(conn: Conn, name: string, v: Values): Promise<Record<string, unknown>> {
  let b: Record<string, unknown> = {};
  try {
    const { name: _n, ...existing } = (await api(
      conn,
      'GET',
      `/profiles/${encodeURIComponent(name)}`,
    )) as Record<string, unknown>;
    b = existing;
  } catch (e) {
    if (!(e instanceof AdminApiError) || !/ 404 /.test(e.message)) throw e;
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
