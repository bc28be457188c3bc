// dns-account-01 (draft-ietf-acme-dns-account-label-03): dns-01 at a record name that carries a
// label derived from the account URL, _<label>._acme-challenge.<name>, so several accounts (several
// clusters, several clients) can validate one name at once, each with its own record or CNAME
// delegation, without overwriting one another. The TXT value is dns-01's (§3.2 step 1, RFC 8555
// §8.4). The draft says nothing about wildcards: as for dns-01, a wildcard is validated at its base
// name (RFC 8555 §7.1.3), as Boulder and Pebble do.

import { sha256 } from '../shared/encoding.ts';
import { AcmeProblem } from '../shared/problems.ts';
import { baseName, checkTxtDigest, forDnsNames, refuseNonDns } from './dns-txt.ts';
import type { ValidationNet } from './net.ts';
import { invalid } from './result.ts';
import type { Challenge, ChallengeInput, ValidationOptions, ValidationResult } from './types.ts';

export const dnsAccount01: Challenge<'dns-account-01'> = {
  type: 'dns-account-01',
  // §5.1 registers it for the "dns" identifier type only. Wildcards included, as for dns-01.
  offeredFor: forDnsNames,
  validate: validateDnsAccount01,
};

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** RFC 4648 §6 base32, lowercase, unpadded (the label's ten bytes never need padding). */
function base32(bytes: Uint8Array): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(acc << (5 - bits)) & 31];
  return out;
}

/**
 * §3.2 step 2: "_" || base32(SHA-256(accountUrl)[0:10]), over the URL's exact bytes as sent in
 * `Location` (§3.5: no normalization). Lowercase, as the draft's example and every implementation.
 */
export async function accountLabel(accountUrl: string): Promise<string> {
  return `_${base32((await sha256(accountUrl)).slice(0, 10))}`;
}

/** The name the TXT record must be published at, for an identifier's (base) name. */
export async function dnsAccount01Name(accountUrl: string, name: string): Promise<string> {
  return `${await accountLabel(accountUrl)}._acme-challenge.${baseName(name)}`;
}

export async function validateDnsAccount01(
  net: ValidationNet,
  input: ChallengeInput,
  opts: ValidationOptions,
): Promise<ValidationResult> {
  const id = input.identifier;
  const refused = refuseNonDns('dns-account-01', id);
  if (refused) return refused;
  if (!input.accountUrl) {
    // A caller's bug, not the client's: the label cannot be derived without the account URL.
    return invalid(
      new AcmeProblem('serverInternal', 'dns-account-01 validation was started without the account URL'),
      id,
    );
  }
  const base = baseName(id.value);
  const name = await dnsAccount01Name(input.accountUrl, base);
  // §3.4: a failure SHOULD name the account URL the record name was derived from.
  return checkTxtDigest(
    net,
    input,
    opts,
    base,
    name,
    ` (account URL used for the label: ${input.accountUrl})`,
  );
}
