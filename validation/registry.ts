// Every challenge type edgeca knows, listed once. The rest derives from this list: the type names
// (ChallengeType, the edge database's column), what the edge offers for an identifier, where a
// challenge is validated, and what the on-prem validator accepts. A new challenge type is a module
// exporting a Challenge, added here.
import type { Identifier } from '../shared/problems.ts';
import { dns01 } from './dns-01.ts';
import { dnsAccount01 } from './dns-account-01.ts';
import { dnsPersist01 } from './dns-persist-01.ts';
import { http01 } from './http-01.ts';
import type { Capabilities } from './net.ts';
import { tlsAlpn01 } from './tls-alpn-01.ts';
import type { Challenge } from './types.ts';

/** In the order an authorization lists them to the client. */
export const CHALLENGES = [http01, dns01, tlsAlpn01, dnsAccount01, dnsPersist01] as const;

export type ChallengeType = (typeof CHALLENGES)[number]['type'];

/** The type names, as the non-empty tuple a database enum column wants. */
export const CHALLENGE_TYPES = CHALLENGES.map((c) => c.type) as [ChallengeType, ...ChallengeType[]];

const BY_TYPE: ReadonlyMap<string, Challenge<ChallengeType>> = new Map(CHALLENGES.map((c) => [c.type, c]));

export function isChallengeType(type: unknown): type is ChallengeType {
  return typeof type === 'string' && BY_TYPE.has(type);
}

/** The challenge of that type; undefined for a name edgeca does not know. */
export function challengeOf(type: string): Challenge<ChallengeType> | undefined {
  return BY_TYPE.get(type);
}

/**
 * The types that can be offered for `id` to a validator that can do `can`, in CHALLENGES order;
 * an opt-in type only when it is in `optedIn`.
 */
export function offeredTypes(
  id: Identifier,
  can: Capabilities,
  optedIn: ReadonlySet<string> = new Set(),
): ChallengeType[] {
  return CHALLENGES.filter((c) => (!c.optIn || optedIn.has(c.type)) && c.offeredFor(id, can)).map(
    (c) => c.type,
  );
}

/** The types offered only where an admin enabled them (Challenge.optIn). */
export const OPT_IN_TYPES: ChallengeType[] = CHALLENGES.filter((c) => 'optIn' in c && c.optIn).map(
  (c) => c.type,
);
