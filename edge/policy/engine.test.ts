// The policy engine's table: each row names the outcome, the identifier, the scopes and the verdict.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Identifier } from '../../shared/problems.ts';
import { checkScopes, explicitlyAllowed, type NamePolicy, parsePolicy, parseRule } from './engine.ts';

const dns = (value: string): Identifier => ({ type: 'dns', value });
const ip = (value: string): Identifier => ({ type: 'ip', value });
const P = (allow: string[] = [], deny: string[] = []): NamePolicy => ({ allow, deny });

type Row = [name: string, id: Identifier, scopes: NamePolicy[], allowed: boolean, reason?: RegExp];

const TABLE: Row[] = [
  ['allows anything under an empty global policy', dns('a.example.internal'), [P()], true],
  ['allows an IP under an empty global policy', ip('10.0.0.1'), [P()], true],
  ['allows an exact name matched exactly', dns('a.example.internal'), [P(['a.example.internal'])], true],
  [
    'refuses a sibling of an exact name',
    dns('b.example.internal'),
    [P(['a.example.internal'])],
    false,
    /no.*allow/,
  ],
  ['refuses a child of an exact name', dns('x.a.example.internal'), [P(['a.example.internal'])], false],
  [
    'refuses a wildcard identifier by an exact rule',
    dns('*.a.example.internal'),
    [P(['a.example.internal'])],
    false,
  ],
  ['allows one label under a wildcard rule', dns('a.example.internal'), [P(['*.example.internal'])], true],
  [
    'refuses two labels under a wildcard rule',
    dns('x.a.example.internal'),
    [P(['*.example.internal'])],
    false,
  ],
  ['refuses the apex under a wildcard rule', dns('example.internal'), [P(['*.example.internal'])], false],
  [
    'allows the same wildcard identifier under a wildcard rule',
    dns('*.example.internal'),
    [P(['*.example.internal'])],
    true,
  ],
  [
    'refuses a deeper wildcard under a wildcard rule',
    dns('*.a.example.internal'),
    [P(['*.example.internal'])],
    false,
  ],
  ['allows any depth under a suffix rule', dns('x.y.z.example.internal'), [P(['.example.internal'])], true],
  ['refuses the apex under a suffix rule', dns('example.internal'), [P(['.example.internal'])], false],
  [
    'allows a wildcard identifier under a suffix rule',
    dns('*.a.example.internal'),
    [P(['.example.internal'])],
    true,
  ],
  ['allows the wildcard of the suffix itself', dns('*.example.internal'), [P(['.example.internal'])], true],
  [
    'refuses a name that only ends with the suffix text',
    dns('badexample.internal'),
    [P(['.example.internal'])],
    false,
  ],
  [
    'refuses a name whose suffix is only a prefix match',
    dns('a.example.internal.evil'),
    [P(['.example.internal'])],
    false,
  ],
  ['allows an IPv4 inside a CIDR', ip('10.1.2.3'), [P(['10.0.0.0/8'])], true],
  ['refuses an IPv4 outside a CIDR', ip('11.1.2.3'), [P(['10.0.0.0/8'])], false],
  ['allows the one IPv4 of a bare address rule', ip('192.0.2.7'), [P(['192.0.2.7'])], true],
  ['refuses the neighbour of a bare address rule', ip('192.0.2.8'), [P(['192.0.2.7'])], false],
  ['allows an IPv6 inside a CIDR', ip('fd00::1'), [P(['fd00::/8'])], true],
  ['refuses an IPv6 outside a CIDR', ip('2001:db8::1'), [P(['fd00::/8'])], false],
  ['refuses an IPv4 against an IPv6 range', ip('10.0.0.1'), [P(['::/0'])], false],
  ['refuses an IP when the allow list has only DNS rules', ip('10.0.0.1'), [P(['.example.internal'])], false],
  [
    'refuses a DNS name when the allow list has only CIDRs',
    dns('a.example.internal'),
    [P(['10.0.0.0/8'])],
    false,
  ],
  [
    'refuses an exact name on the deny list',
    dns('a.example.internal'),
    [P([], ['a.example.internal'])],
    false,
    /denied by rule "a\.example\.internal"/,
  ],
  [
    'lets deny win over an allow of the same name',
    dns('a.example.internal'),
    [P(['a.example.internal'], ['a.example.internal'])],
    false,
    /denied/,
  ],
  [
    'lets a deny suffix win over an allow suffix',
    dns('db.prod.example.internal'),
    [P(['.example.internal'], ['.prod.example.internal'])],
    false,
  ],
  [
    'allows a name beside a denied subtree',
    dns('db.dev.example.internal'),
    [P(['.example.internal'], ['.prod.example.internal'])],
    true,
  ],
  [
    'refuses a wildcard covering a denied name',
    dns('*.example.internal'),
    [P(['.example.internal'], ['secret.example.internal'])],
    false,
    /secret/,
  ],
  [
    'allows a wildcard when the denied name is deeper',
    dns('*.example.internal'),
    [P(['.example.internal'], ['x.secret.example.internal'])],
    true,
  ],
  ['refuses a wildcard under a denied suffix', dns('*.a.prod.internal'), [P([], ['.prod.internal'])], false],
  [
    'refuses a wildcard matching a denied wildcard',
    dns('*.example.internal'),
    [P([], ['*.example.internal'])],
    false,
  ],
  [
    'refuses a name one label under a denied wildcard',
    dns('a.example.internal'),
    [P([], ['*.example.internal'])],
    false,
  ],
  [
    'allows a deeper name beside a denied wildcard',
    dns('a.b.example.internal'),
    [P([], ['*.example.internal'])],
    true,
  ],
  [
    'refuses an IP in a denied range though a wider range is allowed',
    ip('10.9.0.1'),
    [P(['10.0.0.0/8'], ['10.9.0.0/16'])],
    false,
  ],
  [
    'allows an IP in the allowed range beside the denied one',
    ip('10.8.0.1'),
    [P(['10.0.0.0/8'], ['10.9.0.0/16'])],
    true,
  ],
  [
    'refuses what the global scope denies though the key allows it',
    dns('a.example.internal'),
    [P([], ['a.example.internal']), P(['.example.internal'])],
    false,
    /global/,
  ],
  [
    'refuses what the key scope does not allow though global does',
    dns('b.other.internal'),
    [P(['.internal']), P(['.example.internal'])],
    false,
    /EAB key/,
  ],
  [
    'allows what every scope allows',
    dns('b.example.internal'),
    [P(['.internal']), P(['.example.internal']), P(['*.example.internal'])],
    true,
  ],
  [
    'refuses what only the account scope denies',
    dns('b.example.internal'),
    [P(), P(['.example.internal']), P([], ['b.example.internal'])],
    false,
    /account/,
  ],
  [
    'cannot widen: a key allow outside the global allow is refused',
    dns('a.other.internal'),
    [P(['.example.internal']), P(['.other.internal'])],
    false,
    /global/,
  ],
  ['allows under no scopes at all', dns('anything.internal'), [], true],
  [
    'refuses an IPv4-mapped address in a denied IPv4 range',
    ip('::ffff:a01:203'),
    [P([], ['10.1.2.0/24'])],
    false,
    /10\.1\.2\.0\/24/,
  ],
  [
    'refuses an IPv4 address in a denied range written in IPv4-mapped form',
    ip('10.1.2.3'),
    [P([], ['::ffff:10.1.2.0/120'])],
    false,
    /10\.1\.2\.0\/24/,
  ],
];

const LABELS = ['global', 'EAB key k1', 'account a1'];

describe('policy engine: identifiers against scopes', () => {
  assert.ok(TABLE.length >= 40, 'at least 40 cases');
  for (const [name, id, policies, allowed, reason] of TABLE) {
    it(name, () => {
      const v = checkScopes(
        id,
        policies.map((policy, i) => ({ label: LABELS[i] ?? `scope ${i}`, policy })),
      );
      assert.equal(v.allowed, allowed, JSON.stringify(v));
      if (reason && !v.allowed) assert.match(v.reason, reason);
    });
  }
});

describe('policy engine: rules and policies as admins write them', () => {
  const GOOD: [string, string][] = [
    ['Host.Example.Internal', 'host.example.internal'],
    ['*.example.internal', '*.example.internal'],
    ['.example.internal', '.example.internal'],
    ['10.1.2.3/8', '10.1.2.3/8'],
    ['10.0.0.1', '10.0.0.1/32'],
    ['FD00::/8', 'fd00::/8'],
    ['::ffff:10.1.2.0/120', '10.1.2.0/24'],
    ['::ffff:10.1.2.3', '10.1.2.3/32'],
  ];
  for (const [text, canon] of GOOD) {
    it(`accepts the rule "${text}" as "${canon}"`, () => {
      const r = parseRule(text);
      assert.notEqual(typeof r, 'string', String(r));
      assert.equal((r as { text: string }).text, canon);
    });
  }
  const BAD = [
    '',
    'a.*.example',
    '*',
    '*.',
    '.',
    '10.0.0.0/33',
    'fd00::/129',
    'exa mple.internal',
    '-a.internal',
    'a..b',
  ];
  for (const text of BAD) {
    it(`refuses the rule ${JSON.stringify(text)}`, () => {
      assert.equal(typeof parseRule(text), 'string');
    });
  }
  it('refuses a rule that is not a string', () => assert.equal(typeof parseRule(7), 'string'));
  it('names the field of the first bad rule in a policy', () => {
    const r = parsePolicy({ allow: ['.ok.internal', 'bad name'] });
    assert.deepEqual(r.ok ? undefined : r.field, 'allow[1]');
  });
  it('refuses an unknown policy field', () => {
    const r = parsePolicy({ alow: [] });
    assert.equal(r.ok ? undefined : r.field, 'alow');
  });
  it('de-duplicates rules and fills a missing list', () => {
    assert.deepEqual(parsePolicy({ allow: ['A.internal', 'a.internal'] }), {
      ok: true,
      policy: { allow: ['a.internal'], deny: [] },
    });
  });
  it('pre-authorizes only names an allow rule matches, never an empty allow list', () => {
    assert.equal(explicitlyAllowed(dns('a.example.internal'), P()), false);
    assert.equal(explicitlyAllowed(dns('a.example.internal'), P(['.example.internal'])), true);
    assert.equal(
      explicitlyAllowed(dns('a.example.internal'), P(['.example.internal'], ['a.example.internal'])),
      false,
    );
  });
});
