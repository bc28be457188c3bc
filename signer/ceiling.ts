// The signer's ceiling (invariant 2 in docs/architecture.md): whatever the edge asks for, the signer only signs
// what its own configuration allows. Pure and synchronous so every rule is table-tested; the first
// rule broken is returned, named, so refusals are audited and answered with the reason.

import {
  dnsNameUnder,
  identifierKey,
  ipInCidr,
  isWildcard,
  normalizeIdentifier,
  parseCidr,
  parseIp,
} from '../shared/identifiers.ts';
import { isLeafKeyType, LEAF_KEY_TYPES } from '../shared/key-types.ts';
import type { Identifier } from '../shared/problems.ts';
import type { Ceiling, LeafKeyType } from './config.ts';

/**
 * The ceiling's key types as configured, refused at start-up when one is not a leaf key type this
 * CA knows: a misspelt name would otherwise match no CSR, and the signer would refuse every request
 * for that type without saying why.
 */
export function checkCeilingKeyTypes(ceiling: Pick<Ceiling, 'keyTypes'>): void {
  const types: unknown = ceiling.keyTypes;
  if (!Array.isArray(types) || types.length === 0)
    throw new Error(`ceiling.keyTypes must list at least one of ${LEAF_KEY_TYPES.join(', ')}`);
  const unknown = types.filter((t) => !isLeafKeyType(t));
  if (unknown.length > 0)
    throw new Error(
      `ceiling.keyTypes names ${unknown.map((t) => JSON.stringify(t)).join(', ')}, not a leaf key type (one of ${LEAF_KEY_TYPES.join(', ')})`,
    );
}

/** The parts of a parsed CSR (shared/csr.ts `ParsedCsr`) the ceiling looks at. */
export interface CeilingCsr {
  keyType: LeafKeyType | 'unsupported';
  identifiers: Identifier[];
  commonName?: string;
  requestsCa: boolean;
  signatureValid: boolean;
  otherSans: string[];
}

export type CeilingRule =
  | 'csrSignature'
  | 'csrCa'
  | 'csrOtherSans'
  | 'csrCommonName'
  | 'csrIdentifiers'
  | 'identifiers'
  | 'keyType'
  | 'dnsSuffixes'
  | 'wildcards'
  | 'ipRanges'
  | 'profile'
  | 'validity'
  | 'notBefore'
  | 'profileLifetime'
  | 'maxLifetime';

export interface CeilingViolation {
  rule: CeilingRule;
  detail: string;
}

export interface CeilingRequest {
  identifiers: Identifier[];
  profile: string;
  notBefore: Date;
  notAfter: Date;
  csr: CeilingCsr;
}

/** A notBefore this far in the past is refused: backdating hides when a certificate was made. */
export const NOT_BEFORE_MAX_PAST_MS = 60_000;
/** A notBefore further ahead than this is absurd for ACME issuance (RFC 8555 §7.1.3 allows asking). */
export const NOT_BEFORE_MAX_FUTURE_MS = 7 * 24 * 3600_000;

export function checkCeiling(
  ceiling: Ceiling,
  req: CeilingRequest,
  now: Date = new Date(),
): CeilingViolation | null {
  const { csr } = req;
  if (!csr.signatureValid) return v('csrSignature', 'the CSR signature does not verify');
  if (csr.requestsCa) return v('csrCa', 'the CSR asks for a CA certificate (basicConstraints cA=true)');
  if (csr.otherSans.length > 0) {
    return v(
      'csrOtherSans',
      `the CSR has subjectAltName types other than dNSName/iPAddress: ${csr.otherSans.join(', ')}`,
    );
  }

  const requested = canonicalSet(req.identifiers);
  if (typeof requested === 'string') return v('identifiers', requested);
  if (requested.size === 0) return v('identifiers', 'the request names no identifier');
  const inCsr = canonicalSet(csr.identifiers);
  if (typeof inCsr === 'string') return v('csrIdentifiers', inCsr);
  if (csr.commonName !== undefined) {
    const cn = commonNameKey(csr.commonName);
    if (!cn || !inCsr.has(cn)) {
      return v('csrCommonName', `the CSR common name "${csr.commonName}" is not one of its subjectAltNames`);
    }
  }
  for (const key of inCsr.keys()) {
    if (!requested.has(key)) return v('csrIdentifiers', `the CSR names ${key}, which the request does not`);
  }
  for (const key of requested.keys()) {
    if (!inCsr.has(key)) return v('csrIdentifiers', `the request names ${key}, which the CSR does not`);
  }

  if (csr.keyType === 'unsupported' || !ceiling.keyTypes.includes(csr.keyType)) {
    return v(
      'keyType',
      `CSR key type ${csr.keyType} is not allowed (allowed: ${ceiling.keyTypes.join(', ')})`,
    );
  }

  const ranges = ceiling.ipRanges.map((r) => parseCidr(r));
  for (const id of requested.values()) {
    if (id.type === 'dns') {
      if (isWildcard(id) && !ceiling.allowWildcards)
        return v('wildcards', `${id.value}: wildcards are not allowed`);
      if (!ceiling.dnsSuffixes.some((s) => s === '.' || dnsNameUnder(id.value, s))) {
        return v('dnsSuffixes', `${id.value} is outside the allowed DNS suffixes`);
      }
    } else {
      const ip = parseIp(id.value);
      if (!ip || !ranges.some((r) => r !== null && ipInCidr(ip, r))) {
        return v('ipRanges', `${id.value} is outside the allowed IP ranges`);
      }
    }
  }

  const profile = Object.hasOwn(ceiling.profiles, req.profile) ? ceiling.profiles[req.profile] : undefined;
  if (!profile) return v('profile', `profile "${req.profile}" is not known to the signer`);

  const nb = req.notBefore.getTime();
  const na = req.notAfter.getTime();
  if (!Number.isFinite(nb) || !Number.isFinite(na))
    return v('validity', 'notBefore and notAfter must be dates');
  if (na <= nb) return v('validity', 'notAfter must be after notBefore');
  if (nb < now.getTime() - NOT_BEFORE_MAX_PAST_MS)
    return v('notBefore', 'notBefore is more than 1 minute in the past');
  if (nb > now.getTime() + NOT_BEFORE_MAX_FUTURE_MS)
    return v('notBefore', 'notBefore is more than 7 days ahead');
  const lifetimeS = (na - nb) / 1000;
  if (lifetimeS > profile.maxLifetimeSeconds) {
    return v(
      'profileLifetime',
      `lifetime ${lifetimeS}s exceeds profile "${req.profile}" maximum ${profile.maxLifetimeSeconds}s`,
    );
  }
  if (lifetimeS > ceiling.maxLifetimeSeconds) {
    return v(
      'maxLifetime',
      `lifetime ${lifetimeS}s exceeds the signer maximum ${ceiling.maxLifetimeSeconds}s`,
    );
  }
  return null;
}

function v(rule: CeilingRule, detail: string): CeilingViolation {
  return { rule, detail };
}

/** Canonical identifiers keyed by `type:value`, or the reason one is not an identifier. */
function canonicalSet(ids: Identifier[]): Map<string, Identifier> | string {
  const out = new Map<string, Identifier>();
  for (const raw of ids) {
    try {
      const id = normalizeIdentifier(raw);
      out.set(identifierKey(id), id);
    } catch (e) {
      return e instanceof Error ? e.message : 'invalid identifier';
    }
  }
  return out;
}

/** A CN is an IP address or a DNS name; its canonical key, or null when it is neither. */
function commonNameKey(cn: string): string | null {
  const ip = parseIp(cn);
  try {
    return identifierKey(normalizeIdentifier(ip ? { type: 'ip', value: cn } : { type: 'dns', value: cn }));
  } catch {
    return null;
  }
}
