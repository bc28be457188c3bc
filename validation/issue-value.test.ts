import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isIssuerDomainName, parseIssueValue } from './issue-value.ts';

const URI = 'https://ca.example/account-hash/sha-256/5SQm7n6tPh2-PlLbCKGnViTXX5z19SCN4cPGQHSk-kw';

describe('parseIssueValue (RFC 8659 §4.2)', () => {
  const ok: Array<[string, string, Record<string, string>]> = [
    [`authority.example; accounturi=${URI}`, 'authority.example', { accounturi: URI }],
    ['authority.example;accounturi=X', 'authority.example', { accounturi: 'X' }],
    [' \tAuthority.Example ; ACCOUNTURI = X ', 'authority.example', { accounturi: 'X' }],
    ['authority.example; accounturi=X; foo=bar', 'authority.example', { accounturi: 'X', foo: 'bar' }],
    [
      'authority.example; accounturi=X; policy=WildCard',
      'authority.example',
      { accounturi: 'X', policy: 'WildCard' },
    ],
    ['authority.example; persistUntil=1721952000', 'authority.example', { persistuntil: '1721952000' }],
    // a value may hold "=" (split on the first), and may be empty
    ['a.example; k=a=b; e=', 'a.example', { k: 'a=b', e: '' }],
    // a lone trailing ";" is grammatical
    ['authority.example;', 'authority.example', {}],
    ['authority.example', 'authority.example', {}],
    // the draft's normalization drops a trailing dot
    ['authority.example.; accounturi=X', 'authority.example', { accounturi: 'X' }],
  ];
  for (const [text, issuer, params] of ok) {
    it(`reads ${JSON.stringify(text)}`, () => {
      const r = parseIssueValue(text);
      assert.ok(r.ok, r.ok ? '' : r.error);
      assert.equal(r.value.issuer, issuer);
      assert.deepEqual(Object.fromEntries(r.value.params), params);
    });
  }

  const bad: Array<[string, string | null, RegExp]> = [
    ['authority.example; accounturi=X; accounturi=Y', 'authority.example', /accounturi is given twice/],
    ['authority.example; Foo=1; foo=2', 'authority.example', /given twice/],
    ['authority.example; accounturi=X;', 'authority.example', /empty parameter/],
    ['authority.example; a=b;; c=d', 'authority.example', /empty parameter/],
    ['authority.example; accounturi=a b', 'authority.example', /"accounturi=a b" is not tag=value/],
    ['authority.example; garbage', 'authority.example', /"garbage" is not tag=value/],
    ['authority.example; -x=1', 'authority.example', /not tag=value/],
    ['authority.example; k=é', 'authority.example', /not tag=value/],
    ['; accounturi=X', null, /names no issuer/],
    ['', null, /names no issuer/],
    ['-bad.example; a=b', null, /is not a domain name/],
    ['under_score.example; a=b', null, /is not a domain name/],
  ];
  for (const [text, issuer, error] of bad) {
    it(`refuses ${JSON.stringify(text)}`, () => {
      const r = parseIssueValue(text);
      assert.equal(r.ok, false);
      if (r.ok) return;
      assert.equal(r.issuer, issuer);
      assert.match(r.error, error);
    });
  }
});

describe('isIssuerDomainName (draft-ietf-acme-dns-persist-02 §3.1)', () => {
  it('takes lowercase LDH names without a trailing dot', () => {
    for (const n of ['ca.example', 'xn--fsqu00a.xn--0zwm56d', 'a', 'ca-1.internal'])
      assert.ok(isIssuerDomainName(n), n);
  });
  it('refuses uppercase, trailing dots, underscores, empty labels and overlong names', () => {
    for (const n of [
      'CA.example',
      'ca.example.',
      '_ca.example',
      'ca..example',
      '',
      `${'a'.repeat(63)}.`.repeat(4) + 'aa',
    ]) {
      assert.equal(isIssuerDomainName(n), false, n);
    }
  });
});
