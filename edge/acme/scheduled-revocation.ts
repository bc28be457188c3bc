// Scheduled revocation of replaced certificates ("renew now" with a deadline, or "revoke once
// replaced"). No process timer is needed: any request handler or tick on any runtime calls
// `runDueRevocations` — the renewalInfo route does after answering (ARI clients poll it), and the
// admin API's POST /admin/renewals/run is there for a cron (Workers Cron Trigger, systemd timer).
// Each revocation is claimed in the database first, so instances sharing it never revoke twice; a
// claim left by a crash or an absent signer expires after REVOKE_CLAIM_MS and is taken again.

import { revocationTime } from '../relay/signer-client.ts';
import type { EdgeServices } from '../services.ts';

export interface RevocationRun {
  revoked: string[];
  /** serials whose revocation waits for the signer (retried later) */
  deferred: string[];
  /** serials the signer refused for good, with its reason */
  failed: { serial: string; error: string }[];
}

/** Revokes up to `limit` certificates whose scheduled revocation is due. */
export async function runDueRevocations(
  svc: EdgeServices,
  opts: { now?: number; limit?: number } = {},
): Promise<RevocationRun> {
  const now = opts.now ?? Date.now();
  const store = svc.renewals;
  const out: RevocationRun = { revoked: [], deferred: [], failed: [] };
  for (const row of await store.due(now, opts.limit ?? 20)) {
    if (!(await store.claim(row.certificateId, now))) continue;
    const outcome = await svc.signer.revoke(row.serial, row.revokeReason);
    if (outcome.status === 'unavailable') {
      // the claim expires and the next run retries
      svc.log({ event: 'scheduled-revocation-deferred', serial: row.serial, detail: outcome.detail });
      out.deferred.push(row.serial);
      continue;
    }
    if (outcome.status === 'refused' && outcome.problem.kind !== 'alreadyRevoked') {
      svc.log({ event: 'scheduled-revocation-refused', serial: row.serial, detail: outcome.problem.message });
      await store.finish(row.certificateId, Date.now(), outcome.problem.message);
      out.failed.push({ serial: row.serial, error: outcome.problem.message });
      continue;
    }
    // the signer's time, which its CRL gives
    const at = revocationTime(outcome, Date.now());
    await svc.certificates.markRevoked(row.certificateId, row.revokeReason, at);
    await store.finish(row.certificateId, at);
    svc.log({ event: 'scheduled-revocation', serial: row.serial, reason: row.revokeReason });
    out.revoked.push(row.serial);
  }
  return out;
}

/** Minimum gap between two opportunistic runs started by this instance (claims make extra runs harmless). */
const OPPORTUNISTIC_GAP_MS = 5000;

/** Starts a run in the background (the runtime's waitUntil) unless this instance ran one just now. */
export function kickDueRevocations(svc: EdgeServices): void {
  const now = Date.now();
  if (now - svc.scheduledRevocation.lastRun < OPPORTUNISTIC_GAP_MS) return;
  svc.scheduledRevocation.lastRun = now;
  svc.runtime.waitUntil(
    runDueRevocations(svc, { now }).catch((e: unknown) =>
      svc.log({ event: 'scheduled-revocation-error', error: String(e) }),
    ),
  );
}
