// Bulk revocation for incidents: the certificates a selector names (account, key, name pattern,
// issuance time window — combined, all must match) are revoked one by one through the signer, which
// re-signs its CRL on each. A call is bounded (at most BULK_REVOKE_MAX certificates and
// TIME_BUDGET_MS); what it leaves is reported and the same request run again finishes it, because
// only live, unrevoked certificates are ever selected. A signer that goes away stops the run: what
// was revoked stays revoked. With reason keyCompromise the keys of the selected certificates (and
// a key named by the selector) are blocked before the first revocation, and the accounts using them
// deactivated (edge/acme/block-keys.ts).
import type { Identifier } from '../../shared/problems.ts';
import { blockKeys } from '../acme/block-keys.ts';
import { compromisedCertificateKey, KEY_COMPROMISE } from '../acme/compromised-keys.ts';
import { revocationTime } from '../relay/signer-client.ts';
import type { EdgeServices } from '../services.ts';
import type { BlockedKeyRow } from '../storage/blocked-keys.ts';
import { type CertificateFilter, createCertificateSelection } from '../storage/certificate-selection.ts';
import type { CertificateRow } from '../storage/schema.ts';
import { AdminError } from './http.ts';
import { matchesPattern } from './name-pattern.ts';

/** Most certificates one call revokes (each is one signer call and one CRL signature). */
export const BULK_REVOKE_MAX = 200;
/** A call starts no new revocation after this long, so an HTTP client waiting for it does not time out. */
export const TIME_BUDGET_MS = 20_000;
/** Serials listed in an answer (counts are always complete). */
export const MAX_LISTED = 1000;
const MAX_SCANNED = 500_000;
const PAGE = 500;

/** RFC 5280 §5.3.1 reasons an operator may give for a leaf (the signer accepts these too). */
export const BULK_REASONS: ReadonlyMap<number, string> = new Map([
  [0, 'unspecified'],
  [1, 'keyCompromise'],
  [3, 'affiliationChanged'],
  [4, 'superseded'],
  [5, 'cessationOfOperation'],
  [9, 'privilegeWithdrawn'],
]);

export interface BulkSelector extends CertificateFilter {
  pattern?: string;
}

/** The selector as text, for the change log's target and the answers. */
export function selectorText(s: BulkSelector): string {
  const parts: string[] = [];
  if (s.accountId !== undefined) parts.push(`account=${s.accountId}`);
  if (s.spkiSha256 !== undefined) parts.push(`spki=${s.spkiSha256}`);
  if (s.pattern !== undefined) parts.push(`pattern=${s.pattern}`);
  if (s.issuedFrom !== undefined) parts.push(`issuedAfter=${new Date(s.issuedFrom).toISOString()}`);
  if (s.issuedUntil !== undefined) parts.push(`issuedBefore=${new Date(s.issuedUntil).toISOString()}`);
  return parts.join(',');
}

export interface Selection {
  /** the certificates this call takes, by id, at most `limit` */
  take: CertificateRow[];
  /** serials of every matching certificate, by id (at most MAX_LISTED kept) */
  allSerials: string[];
  /** how many match in all */
  matched: number;
}

/** Every live certificate matching the selector; the first `limit` of them in full. */
export async function selectCertificates(
  svc: EdgeServices,
  s: BulkSelector,
  now: number,
  limit: number,
): Promise<Selection> {
  const q = createCertificateSelection(svc.database.db);
  const out: Selection = { take: [], allSerials: [], matched: 0 };
  let after = '';
  for (let scanned = 0; scanned < MAX_SCANNED; scanned += PAGE) {
    const page = await q.live(s, now, after, PAGE);
    for (const cert of page) {
      if (s.pattern !== undefined && !matchesPattern(cert, s.pattern)) continue;
      out.matched++;
      if (out.take.length < limit) out.take.push(cert);
      if (out.allSerials.length < MAX_LISTED) out.allSerials.push(cert.serial);
    }
    if (page.length < PAGE) return out;
    after = page[page.length - 1]!.id;
  }
  throw new AdminError(
    'conflict',
    `more than ${MAX_SCANNED} live certificates to scan; narrow the selector with account, spkiSha256 or an issuance window`,
  );
}

export type Outcome = 'revoked' | 'alreadyRevoked' | 'failed' | 'notAttempted';

export interface SerialResult {
  serial: string;
  identifiers: string[];
  outcome: Outcome;
  detail?: string;
}

export interface RunResult {
  results: SerialResult[];
  blockedKeys: string[];
  /** accounts deactivated because their key was among the blocked ones */
  deactivatedAccounts: string[];
  /** accounts from before key digests were kept that the block did not check (checked at their next request) */
  accountsUnchecked: number;
  stoppedBecause?: string;
}

const namesOf = (cert: CertificateRow) => (JSON.parse(cert.identifiers) as Identifier[]).map((i) => i.value);

/** Revokes the certificates in order; stops at a signer outage, an internal error or the time budget. */
export async function revokeSelected(
  svc: EdgeServices,
  certs: CertificateRow[],
  reason: number,
  opts: { rid: string; tokenId: string; selectorKey?: string },
): Promise<RunResult> {
  const started = Date.now();
  const blocked: BlockedKeyRow[] = [];
  let accounts = { deactivatedAccounts: [] as string[], accountsUnchecked: 0 };
  if (reason === KEY_COMPROMISE) {
    const note = 'bulk revocation with reason keyCompromise';
    if (opts.selectorKey)
      blocked.push({
        spkiSha256: opts.selectorKey,
        source: 'admin-bulk-revoke',
        serial: null,
        accountId: null,
        note,
        createdAt: started,
      });
    for (const cert of certs)
      blocked.push(
        await compromisedCertificateKey(cert.chainPem, 'admin-bulk-revoke', cert.serial, null, note),
      );
    accounts = await blockKeys(svc, blocked, { tokenId: opts.tokenId });
  }
  const results: SerialResult[] = certs.map((cert) => ({
    serial: cert.serial,
    identifiers: namesOf(cert),
    outcome: 'notAttempted',
  }));
  const out: RunResult = {
    results,
    blockedKeys: [...new Set(blocked.map((b) => b.spkiSha256))],
    ...accounts,
  };
  for (const [i, cert] of certs.entries()) {
    const r = results[i]!;
    if (Date.now() - started > TIME_BUDGET_MS) {
      out.stoppedBecause = `the time budget of ${TIME_BUDGET_MS / 1000} s per call was spent`;
      break;
    }
    try {
      const outcome = await svc.signer.revoke(cert.serial, reason, opts.rid);
      if (outcome.status === 'unavailable') {
        r.detail = outcome.detail;
        out.stoppedBecause = `the signer is unavailable: ${outcome.detail}`;
        break;
      }
      if (outcome.status === 'refused' && outcome.problem.kind !== 'alreadyRevoked') {
        r.outcome = 'failed';
        r.detail = outcome.problem.message;
        continue;
      }
      // Revoked by the signer before (a run that stopped between the signer and this database):
      // recorded here as well, and not an error.
      await svc.certificates.markRevoked(cert.id, reason, revocationTime(outcome, Date.now()));
      r.outcome = outcome.status === 'revoked' ? 'revoked' : 'alreadyRevoked';
    } catch (e) {
      svc.log({ event: 'bulk-revoke-error', serial: cert.serial, error: String(e) });
      r.outcome = 'failed';
      r.detail = 'internal error (see the edge log)';
      out.stoppedBecause = 'an internal error stopped the run; run it again';
      break;
    }
  }
  return out;
}
