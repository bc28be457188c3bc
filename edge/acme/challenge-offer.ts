// What an authorization offers beyond each challenge type's own rules (validation/registry.ts):
// an opt-in type (dns-persist-01) only where an admin enabled it for the order's profile or for the
// account's EAB key, and dns-persist-01 only while the CA has issuer domain names to put in it (its
// CAA identities, EDGECA_CAA_IDENTITIES): draft-ietf-acme-dns-persist-02 §3.1 requires 1 to 10.
import { isIssuerDomainName } from '../../validation/issue-value.ts';
import { OPT_IN_TYPES } from '../../validation/registry.ts';
import type { PersistIssuer } from '../../validation/types.ts';
import type { EdgeConfig } from '../config.ts';
import type { Linker } from '../linker.ts';

/** draft-ietf-acme-dns-persist-02 §3.1: "Servers MUST NOT send more than 10". */
const MAX_ISSUER_NAMES = 10;

/** The CA's configured CAA identities usable as issuer domain names: lowercase, no trailing dot, at most 10. */
export function issuerDomainNames(config: Pick<EdgeConfig, 'caaIdentities'>): string[] {
  const names = config.caaIdentities.map((n) => n.trim().toLowerCase().replace(/\.$/, ''));
  return [...new Set(names.filter(isIssuerDomainName))].slice(0, MAX_ISSUER_NAMES);
}

/**
 * The CA's side of dns-persist-01, or null while it has no issuer domain name (then the challenge
 * is never offered). The hashed-URI prefix hangs off the configured base URL, as the account URLs
 * do, so both stay stable while the base URL does (§4.5). The raw account URL of drafts -00/-01 is
 * accepted too: it is what deployed clients (lego 5, acme.sh 3.1.4) write.
 */
export function persistIssuer(
  config: Pick<EdgeConfig, 'caaIdentities'>,
  linker: Linker,
): PersistIssuer | null {
  const names = issuerDomainNames(config);
  if (names.length === 0) return null;
  return {
    issuerDomainNames: names,
    accountHashPrefix: `${linker.base}/acme/account-hash/`,
    acceptAccountUrl: true,
  };
}

/**
 * The opt-in challenge types offered: those enabled for the profile or the EAB key (either
 * suffices), less dns-persist-01 while the CA has no issuer domain name.
 */
export function optedInChallenges(
  config: Pick<EdgeConfig, 'caaIdentities'>,
  ...enabledBy: (readonly string[] | undefined)[]
): Set<string> {
  const out = new Set<string>();
  for (const list of enabledBy) for (const t of list ?? []) if (OPT_IN_TYPES.includes(t as never)) out.add(t);
  if (issuerDomainNames(config).length === 0) out.delete('dns-persist-01');
  return out;
}
