// What the TXT-record challenges share (dns-01, dns-account-01, dns-persist-01): they validate DNS
// names only, a wildcard at its base name (RFC 8555 §7.1.3), and read the TXT records at one name
// within the attempt's deadline. dns-01 and dns-account-01 also share the record's value and its
// check (RFC 8555 §8.4), which differ only in the name looked at.

import { b64uEncode, sha256 } from '../shared/encoding.ts';
import { AcmeProblem, type Identifier } from '../shared/problems.ts';
import { DnsError, type ValidationNet } from './net.ts';
import { Deadline } from './resolve.ts';
import { excerpt, invalid, valid } from './result.ts';
import type { ChallengeInput, ValidationOptions, ValidationResult } from './types.ts';

/** Offered for DNS identifiers, wildcards included; none of them is defined for IP addresses. */
export const forDnsNames = (id: Identifier): boolean => id.type === 'dns';

/**
 * The refusal of an identifier that is not a DNS name (RFC 8738 §7 for dns-01; the drafts of
 * dns-account-01 and dns-persist-01 register them for "dns" only), or null for a DNS name.
 */
export function refuseNonDns(challenge: string, id: Identifier): ValidationResult | null {
  if (id.type === 'dns') return null;
  return invalid(
    new AcmeProblem('rejectedIdentifier', `${challenge} cannot validate an IP address identifier`),
    id,
  );
}

/** The name a wildcard is validated at (RFC 8555 §7.1.3): the identifier without its "*.". */
export function baseName(name: string): string {
  return name.replace(/^\*\./, '');
}

/** What a TXT lookup found: the records, no record (NXDOMAIN, NODATA), or a DNS failure. */
export type TxtLookup =
  | { status: 'found'; txts: string[] }
  | { status: 'absent' }
  | { status: 'failed'; code: DnsError['code'] };

/** The TXT records at `name`, the lookup bounded by `timeoutMs` (a timeout fails as TIMEOUT). */
export async function lookupTxt(net: ValidationNet, name: string, timeoutMs: number): Promise<TxtLookup> {
  try {
    const txts = await new Deadline(timeoutMs).race(
      net.dns.resolveTxt(name),
      () => new DnsError('TIMEOUT', `DNS lookup of TXT ${name} timed out`),
    );
    return { status: 'found', txts };
  } catch (err) {
    if (!(err instanceof DnsError)) throw err;
    return err.code === 'NXDOMAIN' || err.code === 'NODATA'
      ? { status: 'absent' }
      : { status: 'failed', code: err.code };
  }
}

/** The detail of a `dns` problem for a TXT lookup that failed; `note` is appended. */
export function lookupFailure(name: string, code: DnsError['code'], note = ''): string {
  return `DNS problem: ${code} looking up TXT for ${name}${note}`;
}

/** RFC 8555 §8.4: the TXT value for a key authorization, base64url(SHA-256(keyAuthorization)). */
export async function keyAuthorizationDigest(keyAuthorization: string): Promise<string> {
  return b64uEncode(await sha256(keyAuthorization));
}

/**
 * The dns-01 check at a given record name (dns-account-01 only names the record differently): some
 * TXT record at `name` must hold the key authorization's digest. No record, or a failed lookup, is
 * `dns`; other values only, `incorrectResponse`; `note` is appended to each detail.
 */
export async function checkTxtDigest(
  net: ValidationNet,
  input: ChallengeInput,
  opts: ValidationOptions,
  base: string,
  name: string,
  note = '',
): Promise<ValidationResult> {
  const id = input.identifier;
  const records = [{ hostname: base }];
  const found = await lookupTxt(net, name, opts.timeoutMs);
  if (found.status !== 'found') {
    const detail =
      found.status === 'absent'
        ? `No TXT record found at ${name}${note}`
        : lookupFailure(name, found.code, note);
    return invalid(new AcmeProblem('dns', detail), id, records);
  }
  const { txts } = found;
  const expected = await keyAuthorizationDigest(input.keyAuthorization);
  if (txts.some((t) => t === expected)) return valid(records);
  const first = txts[0] ?? '';
  const more = txts.length > 1 ? ` (and ${txts.length - 1} more)` : '';
  return invalid(
    new AcmeProblem(
      'incorrectResponse',
      `Incorrect TXT record ${excerpt(first, 64)}${more} found at ${name}: ${txts.length} record(s) seen, none matched${note}`,
    ),
    id,
    records,
  );
}
