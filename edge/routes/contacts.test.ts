// mailto: contacts at the size limits of an email address (RFC 5321 §4.5.3.1): 254 octets for the
// address and 64 for the local part are accepted, one more is invalidContact.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AcmeProblem } from '../../shared/problems.ts';
import { parseContacts } from './account.ts';

/** local@domain.test of exactly `total` octets with a local part of `local` octets (labels ≤ 63). */
function address(local: number, total: number): string {
  const labels: string[] = [];
  let left = total - local - 1 - '.test'.length;
  while (left > 0) {
    const n = Math.min(63, left - (labels.length ? 1 : 0));
    labels.push('d'.repeat(n));
    left -= n + (labels.length > 1 ? 1 : 0);
  }
  return `${'l'.repeat(local)}@${labels.join('.')}.test`;
}

const refused = (c: string, detail: RegExp) =>
  assert.throws(
    () => parseContacts([`mailto:${c}`]),
    (e: unknown) => e instanceof AcmeProblem && e.kind === 'invalidContact' && detail.test(e.message),
  );

describe('mailto contact size', () => {
  it('accepts an address of 254 octets with a local part of 64', () => {
    const a = address(64, 254);
    assert.equal(a.length, 254);
    assert.deepEqual(parseContacts([`mailto:${a}`]), [`mailto:${a}`]);
  });
  it('refuses an address of 255 octets', () => {
    const a = address(20, 255);
    assert.equal(a.length, 255);
    refused(a, /255 octets/);
  });
  it('refuses a local part of 65 octets', () => refused(address(65, 100), /local part of 65 octets/));
});
