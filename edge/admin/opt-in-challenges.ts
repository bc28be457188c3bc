// The `optInChallenges` field of profiles and EAB keys: the opt-in challenge types
// (validation/registry.ts OPT_IN_TYPES, today dns-persist-01) offered only where an admin enabled
// them, checked from a request body and described in the OpenAPI schemas.
import { OPT_IN_TYPES } from '../../validation/registry.ts';
import { bad } from './http.ts';

/** The `optInChallenges` field of the profile and EAB key schemas. */
export const OPT_IN_SCHEMA = {
  type: 'array',
  items: { type: 'string', enum: [...OPT_IN_TYPES] },
  description:
    'challenge types offered only where enabled (default: none); dns-persist-01 needs EDGECA_CAA_IDENTITIES',
};

/** `optInChallenges` of a profile or EAB key body: an array (empty: none) of OPT_IN_TYPES; undefined when absent. */
export function optInField(o: Record<string, unknown>): string[] | undefined {
  const v = o.optInChallenges;
  if (v === undefined) return undefined;
  const choices = OPT_IN_TYPES.join(', ');
  if (!Array.isArray(v)) throw bad('optInChallenges', `must be an array of ${choices} (empty: none)`);
  for (const x of v) {
    if (!OPT_IN_TYPES.includes(x as never)) {
      throw bad('optInChallenges', `${JSON.stringify(x)} is not an opt-in challenge type (${choices})`);
    }
  }
  return [...new Set(v as string[])];
}
