// dns-01 (RFC 8555 §8.4): a TXT record at _acme-challenge.<name> must hold
// base64url(SHA-256(keyAuthorization)). Wildcards are validated at the base name (RFC 8555 §7.1.3).

import { baseName, checkTxtDigest, forDnsNames, keyAuthorizationDigest, refuseNonDns } from './dns-txt.ts';
import type { ValidationNet } from './net.ts';
import type { Challenge, ChallengeInput, ValidationOptions, ValidationResult } from './types.ts';

export const dns01: Challenge<'dns-01'> = {
  type: 'dns-01',
  // RFC 8738 §7: not defined for IP identifiers. Wildcards included.
  offeredFor: forDnsNames,
  validate: validateDns01,
};

/** The value a client must publish for this key authorization. */
export const dns01TxtValue = keyAuthorizationDigest;

export async function validateDns01(
  net: ValidationNet,
  input: ChallengeInput,
  opts: ValidationOptions,
): Promise<ValidationResult> {
  const refused = refuseNonDns('dns-01', input.identifier);
  if (refused) return refused;
  const base = baseName(input.identifier.value);
  return checkTxtDigest(net, input, opts, base, `_acme-challenge.${base}`);
}
