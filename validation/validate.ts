// Entry point of challenge validation, for the edge's validation job and the on-prem validator: one
// call per challenge attempt, dispatching by type (registry.ts). It never throws: whatever goes
// wrong becomes an `invalid` result with an ACME problem the client can act on (no internal causes
// leak, RFC 8555 §6.7).

import { AcmeProblem } from '../shared/problems.ts';
import { DEFAULT_ADDRESS_POLICY } from './address-policy.ts';
import { ConnectError, DnsError, type ValidationNet } from './net.ts';
import { type ChallengeType, challengeOf } from './registry.ts';
import { invalid } from './result.ts';
import type { ChallengeInput, ValidationOptions, ValidationResult } from './types.ts';

/** One challenge to validate: its type, and what that type checks. */
export interface ValidationInput extends ChallengeInput {
  type: ChallengeType;
}

/** RFC 8555 §8.1: keyAuthorization = token || '.' || base64url(Thumbprint(accountKey)). */
export function keyAuthorization(token: string, accountJwkThumbprint: string): string {
  return `${token}.${accountJwkThumbprint}`;
}

/** Defaults for anything not given: http-01 on 80, tls-alpn-01 on 443, 5 s per attempt. */
export function validationOptions(overrides: Partial<ValidationOptions> = {}): ValidationOptions {
  return {
    http01Port: overrides.http01Port ?? 80,
    tlsAlpnPort: overrides.tlsAlpnPort ?? 443,
    timeoutMs: overrides.timeoutMs ?? 5000,
    addressPolicy: overrides.addressPolicy ?? DEFAULT_ADDRESS_POLICY,
    ...(overrides.redirectScope ? { redirectScope: overrides.redirectScope } : {}),
  };
}

export async function validateChallenge(
  net: ValidationNet,
  input: ValidationInput,
  opts: ValidationOptions,
): Promise<ValidationResult> {
  try {
    const challenge = challengeOf(input.type);
    if (!challenge) {
      return invalid(
        new AcmeProblem('malformed', `unknown challenge type ${JSON.stringify(input.type as unknown)}`),
        input.identifier,
      );
    }
    return await challenge.validate(net, input, opts);
  } catch (err) {
    return invalid(unexpectedProblem(err, input), input.identifier);
  }
}

function unexpectedProblem(err: unknown, input: ValidationInput): AcmeProblem {
  if (err instanceof AcmeProblem) return err;
  if (err instanceof DnsError)
    return new AcmeProblem('dns', `DNS problem: ${err.code} during ${input.type} validation`);
  if (err instanceof ConnectError)
    return new AcmeProblem('connection', `${input.type} validation failed: ${err.message}`);
  // An unexpected error is ours, not the client's; say so without leaking its details.
  return new AcmeProblem(
    'connection',
    `${input.type} validation of ${input.identifier.value} could not be completed`,
  );
}
