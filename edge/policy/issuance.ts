// What an account may ask for, read from the database on every request (no cache, so an admin's
// change applies to the next request on every instance): the name policies of its three scopes,
// the EAB key it is bound to (expiry, revocation, allowed profiles, pre-authorization) and the
// profile an order is issued under. newOrder and newAuthz call these before anything is written.
import { isWildcard } from '../../shared/identifiers.ts';
import { AcmeProblem, type Identifier } from '../../shared/problems.ts';
import type { EdgeServices } from '../services.ts';
import type { AccountRow } from '../storage/schema.ts';
import type { EabSettings, Profile } from '../storage/settings.ts';
import { checkScopes, explicitlyAllowed, type NamePolicy, type PolicyScope } from './engine.ts';

export interface AccountContext {
  eabKid: string | null;
  eab: EabSettings;
  /** the EAB key's own policy, when it has one */
  eabPolicy?: NamePolicy;
  scopes: PolicyScope[];
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The account's policy scopes and EAB key; refuses an account whose key was revoked or expired. */
export async function accountContext(svc: EdgeServices, account: AccountRow): Promise<AccountContext> {
  const { settings } = await svc.stores();
  const kid = account.eabKid;
  const wanted = ['global', ...(kid ? [`eab:${kid}`] : []), `account:${account.id}`];
  const found = await settings.policiesOf(wanted);
  const label = (scope: string) =>
    scope === 'global' ? 'global' : scope.startsWith('eab:') ? `EAB key ${kid}` : 'account';
  const ctx: AccountContext = {
    eabKid: kid,
    eab: { profiles: null, expiresAt: null, preAuthorize: false },
    scopes: found.map((f) => ({ label: label(f.scope), policy: f.policy })),
  };
  const eabPolicy = found.find((f) => f.scope === `eab:${kid}`)?.policy;
  if (eabPolicy) ctx.eabPolicy = eabPolicy;
  if (kid) {
    const key = await svc.eab.get(kid);
    if (key?.revokedAt) {
      throw new AcmeProblem(
        'unauthorized',
        `the external account key ${kid} this account is bound to was revoked on ${iso(key.revokedAt)}`,
      );
    }
    ctx.eab = await settings.eabSettings(kid);
    if (ctx.eab.expiresAt !== null && ctx.eab.expiresAt <= Date.now()) {
      throw new AcmeProblem(
        'unauthorized',
        `the external account key ${kid} this account is bound to expired on ${iso(ctx.eab.expiresAt)}`,
      );
    }
  }
  return ctx;
}

/** The profile an order is issued under (draft-ietf-acme-profiles): unknown or not allowed → invalidProfile. */
export async function resolveProfile(
  svc: EdgeServices,
  ctx: AccountContext,
  requested: string | undefined,
): Promise<Profile> {
  const { settings } = await svc.stores();
  const name = requested ?? (await settings.defaultProfile());
  const profile = name === undefined ? undefined : await settings.profile(name);
  const allowed = (p: string) => ctx.eab.profiles === null || ctx.eab.profiles.includes(p);
  if (!profile || name === undefined) {
    const offered = (await settings.profiles()).map((p) => p.name).filter(allowed);
    const what =
      requested === undefined
        ? `the default profile "${name ?? ''}" does not exist`
        : `unknown profile "${requested}"`;
    throw new AcmeProblem(
      'invalidProfile',
      `${what}; profiles offered to this account: ${offered.join(', ') || 'none'}`,
    );
  }
  if (!allowed(profile.name)) {
    throw new AcmeProblem(
      'invalidProfile',
      `profile "${profile.name}" is not allowed for accounts of external account key ${ctx.eabKid}; allowed: ${(ctx.eab.profiles ?? []).join(', ') || 'none'}`,
    );
  }
  return profile;
}

/**
 * Every identifier against the profile's identifier rules and the policies of every scope. Refusals
 * are rejectedIdentifier, one subproblem per identifier when several fail (RFC 8555 §6.7.1).
 */
export function checkIdentifiers(ids: Identifier[], ctx: AccountContext, profile?: Profile): void {
  const problems: AcmeProblem[] = [];
  for (const id of ids) {
    let reason: string | undefined;
    if (profile && !profile.identifierTypes.includes(id.type)) {
      reason = `profile "${profile.name}" does not issue for ${id.type} identifiers`;
    } else if (profile && isWildcard(id) && !profile.allowWildcards) {
      reason = `profile "${profile.name}" does not issue wildcard certificates`;
    } else {
      const v = checkScopes(id, ctx.scopes);
      if (!v.allowed) reason = v.reason;
    }
    if (reason) {
      problems.push(
        new AcmeProblem('rejectedIdentifier', `${id.value} is refused by ${reason}`, { identifier: id }),
      );
    }
  }
  if (problems.length > 0) {
    throw AcmeProblem.combine(
      problems,
      'rejectedIdentifier',
      `${problems.length} identifier(s) are refused by this CA's policy`,
    );
  }
}

/** Pre-authorized: the account's EAB key turns it on and its own allow list names the identifier. */
export function preAuthorized(id: Identifier, ctx: AccountContext): boolean {
  return ctx.eab.preAuthorize && ctx.eabPolicy !== undefined && explicitlyAllowed(id, ctx.eabPolicy);
}
