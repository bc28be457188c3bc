// What the validators take and return, and the shape of one challenge type's module. Portable: no
// runtime-specific imports (invariant 4 in docs/architecture.md).
import type { AcmeProblem, Identifier } from '../shared/problems.ts';
import type { AddressPolicy } from './address-policy.ts';
import type { Capabilities, ValidationNet } from './net.ts';

/**
 * One ACME challenge type: its module exports one of these, and registry.ts lists it. The edge
 * offers it where `offeredFor` says, and validates it (or has the on-prem validator validate it)
 * with `validate`.
 */
export interface Challenge<T extends string = string> {
  /** the challenge type's name on the wire (RFC 8555 §8) */
  readonly type: T;
  /**
   * Whether it can prove control of `id` (as the order names it: "*.example.com" for a wildcard) for
   * a validator that can do `can`: the RFC's rules for wildcards and IP identifiers live here.
   */
  offeredFor(id: Identifier, can: Capabilities): boolean;
  /**
   * Offered only where an admin enabled it (for a profile or an EAB key): dns-persist-01, whose
   * standing record lets a leaked account key issue for as long as the record stands.
   */
  readonly optIn?: boolean;
  /** One attempt; a problem the client can act on is an `invalid` result. */
  validate(net: ValidationNet, input: ChallengeInput, opts: ValidationOptions): Promise<ValidationResult>;
}

/** One hop of a validation, shaped like Boulder's and Pebble's `validationRecord` entries. */
export interface ValidationRecord {
  /** http-01: the URL fetched at this hop */
  url?: string;
  /** the name (or IP text) that was resolved or connected to */
  hostname: string;
  /** port as text, as Boulder serialises it */
  port?: string;
  addressesResolved?: string[];
  addressUsed?: string;
}

export type ValidationResult =
  | { status: 'valid'; validationRecord?: ValidationRecord[] }
  | { status: 'invalid'; problem: AcmeProblem; validationRecord?: ValidationRecord[] };

/** What one challenge checks: the identifier (a wildcard's base name), the token and the key authorization. */
export interface ChallengeInput {
  identifier: Identifier;
  token: string;
  /** RFC 8555 §8.1: token || '.' || base64url(JWK thumbprint) */
  keyAuthorization: string;
  /**
   * The account's URL exactly as the CA sends it in `Location` (RFC 8555 §7.3): dns-account-01
   * derives its record name from it, dns-persist-01 binds its record to it. Absent: those two fail.
   */
  accountUrl?: string;
  /** the authorization is for a wildcard ("*." + identifier), RFC 8555 §7.1.4 */
  wildcard?: boolean;
  /** dns-persist-01: the CA's side of the binding; absent: that challenge fails */
  persist?: PersistIssuer;
}

/** What dns-persist-01 needs to know about the CA (draft-ietf-acme-dns-persist-02 §3.1, §3.2). */
export interface PersistIssuer {
  /** the names a record may name as its issuer: lowercase A-labels, no trailing dot, 1 to 10 */
  issuerDomainNames: string[];
  /** the CA's stable prefix of hashed account URIs, e.g. https://ca.example/acme/account-hash/ */
  accountHashPrefix: string;
  /**
   * Also accept the raw account URL as accounturi, the form of drafts -00 and -01 that every
   * deployed client writes; -02 no longer accepts it (§7.2.3 explains the substitution risk).
   */
  acceptAccountUrl?: boolean;
}

export interface ValidationOptions {
  /** port http-01 connects to first (EDGECA_HTTP01_PORT, default 80) */
  http01Port: number;
  /** port tls-alpn-01 connects to (default 443) */
  tlsAlpnPort: number;
  /** budget of one validation attempt, DNS and redirects included (default 5000) */
  timeoutMs: number;
  addressPolicy: AddressPolicy;
  /**
   * Where http-01 redirects may lead besides the address policy: why `target` (the redirect's host
   * as an identifier) is out of scope, or null when it may be followed. The on-prem validator holds
   * every hop to the scope it holds the identifier to (the CA's names and ranges); the edge sets none.
   */
  redirectScope?: (target: Identifier) => string | null;
}
