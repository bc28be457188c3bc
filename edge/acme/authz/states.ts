// The states of an authorization and of its challenges, and the moves between them (RFC 8555
// §7.1.6). The repository applies each move as one guarded statement; the tables here say which
// moves exist, and the effective status adds what time alone changes (expiry) without a write.
import type { AuthzRow, ChallengeRow } from '../../storage/schema.ts';

export type AuthzStatus = AuthzRow['status'];
export type ChallengeStatus = ChallengeRow['status'];

/**
 * RFC 8555 §7.1.6: a pending authorization becomes valid or invalid by its challenge, deactivated by
 * its client (§7.5.2) or expired; a valid one may be deactivated, revoked or expire. The others are
 * final. Expiry is never written: effectiveAuthzStatus derives it from `expiresAt`.
 */
export const AUTHZ_TRANSITIONS: Readonly<Record<AuthzStatus, readonly AuthzStatus[]>> = {
  pending: ['valid', 'invalid', 'deactivated', 'expired'],
  valid: ['deactivated', 'expired', 'revoked'],
  invalid: [],
  deactivated: [],
  expired: [],
  revoked: [],
};

/** RFC 8555 §7.1.6: pending → processing when the client responds, then valid or invalid. */
export const CHALLENGE_TRANSITIONS: Readonly<Record<ChallengeStatus, readonly ChallengeStatus[]>> = {
  pending: ['processing'],
  processing: ['valid', 'invalid'],
  valid: [],
  invalid: [],
};

export function authzMayMove(from: AuthzStatus, to: AuthzStatus): boolean {
  return AUTHZ_TRANSITIONS[from].includes(to);
}

export function challengeMayMove(from: ChallengeStatus, to: ChallengeStatus): boolean {
  return CHALLENGE_TRANSITIONS[from].includes(to);
}

/** Status as the client must see it: a pending or valid authorization past its expiry is expired. */
export function effectiveAuthzStatus(a: AuthzRow, now: number): AuthzStatus {
  if ((a.status === 'pending' || a.status === 'valid') && a.expiresAt <= now) return 'expired';
  return a.status;
}
