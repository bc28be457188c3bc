// The expiry watch: a certificate with less than `expiryWarnShare` of its lifetime left, not
// revoked, and no newer unrevoked certificate of the same account for the same set of names, is
// reported once (certificate.expiring). With 24-hour certificates a client that silently stopped
// renewing is an outage the next day; this is the event that says so while there is time.
import { canonicalIdentifiers, identifierKey } from '../../shared/identifiers.ts';
import type { Identifier } from '../../shared/problems.ts';
import type { EdgeServices } from '../services.ts';
import type { ExpiringCandidate } from '../storage/events.ts';

/** The set of names a certificate covers, as one comparable string. */
export function namesKey(identifiersJson: string): string {
  const ids = JSON.parse(identifiersJson) as Identifier[];
  return canonicalIdentifiers(ids).map(identifierKey).join(' ');
}

/** Reports the certificates now expiring unreplaced; returns how many it reported. */
export async function runExpiryWatch(
  svc: EdgeServices,
  opts: { now: number; share: number; limit?: number },
): Promise<number> {
  const repo = svc.events;
  const candidates = await repo.expiringCandidates(opts.now, opts.share, opts.limit ?? 200);
  let reported = 0;
  for (const c of candidates) {
    if (await isReplaced(svc, c)) continue;
    const recorded = await repo.record({
      id: `evt_exp_${c.id}`,
      type: 'certificate.expiring',
      at: opts.now,
      data: {
        certificateId: c.id,
        serial: c.serial,
        accountId: c.accountId,
        identifiers: JSON.parse(c.identifiers) as unknown,
        notBefore: new Date(c.notBefore).toISOString(),
        notAfter: new Date(c.notAfter).toISOString(),
        lifetimeLeft: Math.round(((c.notAfter - opts.now) / (c.notAfter - c.notBefore)) * 1000) / 1000,
      },
    });
    if (recorded) reported++;
  }
  return reported;
}

async function isReplaced(svc: EdgeServices, c: ExpiringCandidate): Promise<boolean> {
  const key = namesKey(c.identifiers);
  const newer = await svc.events.newerOfAccount(c.accountId, c.notBefore);
  return newer.some((n) => n.id !== c.id && namesKey(n.identifiers) === key);
}
