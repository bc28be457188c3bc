// Reading an authorization (RFC 8555 §7.5) and deactivating it (§7.5.2). A read resumes a
// validation a process or isolate abandoned, so a client that polls only the authorization still
// sees it finish.
import { AcmeProblem } from '../../../shared/problems.ts';
import type { EdgeServices } from '../../services.ts';
import type { AccountRow, AuthzRow, ChallengeRow } from '../../storage/schema.ts';
import { ensureOwner, notFound } from '../respond.ts';
import { resumeStale } from './challenge.ts';
import { effectiveAuthzStatus } from './states.ts';

/**
 * RFC 8555 §7.5.2: pending or valid → deactivated (one guarded statement). Deactivating an
 * authorization that already is deactivated changes nothing and is no error; any other status is.
 */
export async function deactivateAuthz(svc: EdgeServices, authz: AuthzRow): Promise<void> {
  if (!(await svc.orders.deactivateAuthz(authz.id)) && authz.status !== 'deactivated') {
    throw new AcmeProblem(
      'malformed',
      `an authorization that is ${effectiveAuthzStatus(authz, Date.now())} cannot be deactivated`,
    );
  }
}

/**
 * A POST to an authorization: `null` (POST-as-GET) reads it, `{"status": "deactivated"}`
 * deactivates it, anything else is refused. Returns the authorization and its challenges as they
 * now stand.
 */
export async function readAuthz(
  svc: EdgeServices,
  account: AccountRow,
  id: string,
  payload: unknown,
): Promise<{ authz: AuthzRow; challenges: ChallengeRow[] }> {
  const authz = await svc.orders.getAuthz(id);
  if (!authz) throw notFound('this authorization');
  ensureOwner(authz.accountId, account, 'this authorization');
  if (payload !== null) {
    const p = payload as Record<string, unknown>;
    if (typeof p !== 'object' || p === null || p.status !== 'deactivated') {
      throw new AcmeProblem('malformed', 'an authorization may only be updated to status "deactivated"');
    }
    await deactivateAuthz(svc, authz);
  }
  let chals = await svc.orders.challengesOf(authz.id);
  await resumeStale(svc, authz, chals, account.thumbprint);
  const fresh = (await svc.orders.getAuthz(authz.id)) ?? authz;
  if (fresh.status !== authz.status) chals = await svc.orders.challengesOf(authz.id);
  return { authz: fresh, challenges: chals };
}
