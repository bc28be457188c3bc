// The authorization's and challenge's transition tables (RFC 8555 §7.1.6): every move each allows,
// a move refused from each state, and the effective status that expiry alone changes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuthzRow } from '../../storage/schema.ts';
import {
  AUTHZ_TRANSITIONS,
  type AuthzStatus,
  authzMayMove,
  CHALLENGE_TRANSITIONS,
  type ChallengeStatus,
  challengeMayMove,
  effectiveAuthzStatus,
} from './states.ts';

const AUTHZ_ALLOWED: [AuthzStatus, AuthzStatus][] = [
  ['pending', 'valid'],
  ['pending', 'invalid'],
  ['pending', 'deactivated'],
  ['pending', 'expired'],
  ['valid', 'deactivated'],
  ['valid', 'expired'],
  ['valid', 'revoked'],
];
const AUTHZ_REFUSED: [AuthzStatus, AuthzStatus][] = [
  ['pending', 'revoked'],
  ['valid', 'pending'],
  ['invalid', 'valid'],
  ['deactivated', 'valid'],
  ['expired', 'valid'],
  ['revoked', 'valid'],
];
const AUTHZ_STATES: AuthzStatus[] = ['pending', 'valid', 'invalid', 'deactivated', 'expired', 'revoked'];

const CHALLENGE_ALLOWED: [ChallengeStatus, ChallengeStatus][] = [
  ['pending', 'processing'],
  ['processing', 'valid'],
  ['processing', 'invalid'],
];
const CHALLENGE_REFUSED: [ChallengeStatus, ChallengeStatus][] = [
  ['pending', 'valid'],
  ['processing', 'pending'],
  ['valid', 'invalid'],
  ['invalid', 'processing'],
];
const CHALLENGE_STATES: ChallengeStatus[] = ['pending', 'processing', 'valid', 'invalid'];

const pairs = <S extends string>(table: Readonly<Record<S, readonly S[]>>, states: S[]) =>
  states.flatMap((from) => table[from].map((to) => `${from}→${to}`)).sort();

describe('authorization transitions', () => {
  for (const [from, to] of AUTHZ_ALLOWED) {
    it(`allows ${from} → ${to}`, () => assert.equal(authzMayMove(from, to), true));
  }
  for (const [from, to] of AUTHZ_REFUSED) {
    it(`refuses ${from} → ${to}`, () => assert.equal(authzMayMove(from, to), false));
  }
  it('allows exactly the listed moves', () => {
    assert.deepEqual(
      pairs(AUTHZ_TRANSITIONS, AUTHZ_STATES),
      AUTHZ_ALLOWED.map(([f, t]) => `${f}→${t}`).sort(),
    );
  });
});

describe('challenge transitions', () => {
  for (const [from, to] of CHALLENGE_ALLOWED) {
    it(`allows ${from} → ${to}`, () => assert.equal(challengeMayMove(from, to), true));
  }
  for (const [from, to] of CHALLENGE_REFUSED) {
    it(`refuses ${from} → ${to}`, () => assert.equal(challengeMayMove(from, to), false));
  }
  it('allows exactly the listed moves', () => {
    assert.deepEqual(
      pairs(CHALLENGE_TRANSITIONS, CHALLENGE_STATES),
      CHALLENGE_ALLOWED.map(([f, t]) => `${f}→${t}`).sort(),
    );
  });
});

describe('effective authorization status', () => {
  const row = (status: AuthzStatus, expiresAt: number): AuthzRow => ({
    id: 'a1',
    accountId: 'acc',
    identifierType: 'dns',
    identifierValue: 'x.test',
    wildcard: false,
    status,
    expiresAt,
    createdAt: 0,
  });
  it('reports a pending or valid authorization past its expiry as expired', () => {
    assert.equal(effectiveAuthzStatus(row('pending', 1000), 1000), 'expired');
    assert.equal(effectiveAuthzStatus(row('valid', 1000), 2000), 'expired');
  });
  it('reports a pending or valid authorization before its expiry as stored', () => {
    assert.equal(effectiveAuthzStatus(row('pending', 1000), 999), 'pending');
    assert.equal(effectiveAuthzStatus(row('valid', 1000), 999), 'valid');
  });
  it('leaves a final status as it is after expiry', () => {
    for (const s of ['invalid', 'deactivated', 'revoked'] as const)
      assert.equal(effectiveAuthzStatus(row(s, 1000), 2000), s);
  });
});
