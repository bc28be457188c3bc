// dns-01 (RFC 8555 §8.4): a TXT record at _acme-challenge.<name> must hold
// base64url(SHA-256(keyAuthorization)). Wildcards are validated at the base name (RFC 8555 §7.1.3).

import { b64uEncode, sha256 } from '../shared/encoding.ts';
import { AcmeProblem } from '../shared/problems.ts';
import { DnsError, type ValidationNet } from './net.ts';
import { Deadline } from './resolve.ts';
import { excerpt, invalid, valid } from './result.ts';
import type { Challenge, ChallengeInput, ValidationOptions, ValidationResult } from './types.ts';

export const dns01: Challenge<'dns-01'> = {
  type: 'dns-01',
  // RFC 8738 §7: not defined for IP identifiers. Wildcards included.
  offeredFor: (id) => id.type === 'dns',
  validate: validateDns01,
};

/** The value a client must publish for this key authorization. */
export async function dns01TxtValue(keyAuthorization: string): Promise<string> {
  return b64uEncode(await sha256(keyAuthorization));
}

export async function validateDns01(
  net: ValidationNet,
  input: ChallengeInput,
  opts: ValidationOptions,
): Promise<ValidationResult> {
  const id = input.identifier;
  if (id.type !== 'dns') {
    // RFC 8738 §7: dns-01 is not defined for IP identifiers.
    return invalid(
      new AcmeProblem('rejectedIdentifier', 'dns-01 cannot validate an IP address identifier'),
      id,
    );
  }
  const base = id.value.replace(/^\*\./, '');
  return checkTxtDigest(net, input, opts, base, `_acme-challenge.${base}`);
}

/**
 * The dns-01 check at a given record name, shared with dns-account-01 (which only names the record
 * differently): some TXT record at `name` must hold base64url(SHA-256(keyAuthorization)). No record
 * is `dns`, another value `incorrectResponse`; `note` is appended to both details.
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
  const deadline = new Deadline(opts.timeoutMs);
  let txts: string[];
  try {
    txts = await deadline.race(
      net.dns.resolveTxt(name),
      () => new DnsError('TIMEOUT', `DNS lookup of TXT ${name} timed out`),
    );
  } catch (err) {
    if (!(err instanceof DnsError)) throw err;
    const detail =
      err.code === 'NXDOMAIN' || err.code === 'NODATA'
        ? `No TXT record found at ${name}${note}`
        : `DNS problem: ${err.code} looking up TXT for ${name}${note}`;
    return invalid(new AcmeProblem('dns', detail), id, records);
  }
  const expected = await dns01TxtValue(input.keyAuthorization);
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
