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
  const found = await svc.orders.authzWithChallenges(id);
  if (!found) throw notFound('this authorization');
  const { authz } = found;
  ensureOwner(authz.accountId, account, 'this authorization');
  if (payload !== null) {
    const p = payload as Record<string, unknown>;
    if (typeof p !== 'object' || p === null || p.status !== 'deactivated') {
      throw new AcmeProblem('malformed', 'an authorization may only be updated to status "deactivated"');
    }
    await deactivateAuthz(svc, authz);
    const fresh = (await svc.orders.getAuthz(authz.id)) ?? authz;
    return { authz: fresh, challenges: await svc.orders.challengesOf(authz.id) };
  }
  // A read: the authorization and its challenges as one query read them. A resumed attempt
  // changes only its challenge's attempt time, which the wire form does not show.
  await resumeStale(svc, authz, found.challenges, account.thumbprint);
  return found;
}
