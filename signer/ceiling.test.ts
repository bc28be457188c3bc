import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Identifier } from '../shared/problems.ts';
import {
  type CeilingCsr,
  type CeilingRequest,
  type CeilingRule,
  checkCeiling,
  checkCeilingKeyTypes,
} from './ceiling.ts';
import type { Ceiling } from './config.ts';

const NOW = new Date('2030-01-01T00:00:00Z');
const DAY = 86_400_000;

const ceiling: Ceiling = {
  dnsSuffixes: ['internal.test', 'corp.example'],
  ipRanges: ['10.0.0.0/8', 'fd00::/8'],
  maxLifetimeSeconds: 30 * 86_400,
  keyTypes: ['EC-P256', 'EC-P384', 'RSA-2048'],
  allowWildcards: true,
  profiles: {
    default: { ekus: ['serverAuth'], maxLifetimeSeconds: 7 * 86_400 },
    long: { ekus: ['serverAuth'], maxLifetimeSeconds: 90 * 86_400 },
  },
};

const dns = (value: string): Identifier => ({ type: 'dns', value });
const ip = (value: string): Identifier => ({ type: 'ip', value });

function request(
  ids: Identifier[],
  over: Partial<Omit<CeilingRequest, 'csr'>> & { csr?: Partial<CeilingCsr> } = {},
): CeilingRequest {
  const { csr, ...rest } = over;
  return {
    identifiers: ids,
    profile: 'default',
    notBefore: NOW,
    notAfter: new Date(NOW.getTime() + DAY),
    ...rest,
    csr: {
      keyType: 'EC-P256',
      identifiers: ids,
      requestsCa: false,
      signatureValid: true,
      otherSans: [],
      ...csr,
    },
  };
}

const www = [dns('www.internal.test')];
const cases: [string, CeilingRequest, CeilingRule | null, Ceiling?][] = [
  ['accepts a DNS name under an allowed suffix', request(www), null],
  ['accepts the suffix itself', request([dns('internal.test')]), null],
  ['accepts an IPv4 address in range', request([ip('10.1.2.3')]), null],
  ['accepts an IPv6 address in range', request([ip('fd00::1')]), null],
  ['accepts a CN that is one of the SANs', request(www, { csr: { commonName: 'WWW.internal.test' } }), null],
  [
    'accepts an IP CN that is one of the SANs',
    request([ip('10.0.0.1')], { csr: { commonName: '10.0.0.1' } }),
    null,
  ],
  [
    'accepts identifiers in another order and case',
    request([dns('a.corp.example'), ip('10.0.0.1')], {
      csr: { identifiers: [ip('10.0.0.1'), dns('A.corp.example')] },
    }),
    null,
  ],
  ['accepts a wildcard when allowed', request([dns('*.internal.test')]), null],
  [
    'accepts any name when the suffix list has "."',
    request([dns('anything.example.org')]),
    null,
    {
      ...ceiling,
      dnsSuffixes: ['.'],
    },
  ],
  ['accepts notBefore 30 s in the past', request(www, { notBefore: new Date(NOW.getTime() - 30_000) }), null],
  [
    'accepts the longest profile lifetime',
    request(www, { notAfter: new Date(NOW.getTime() + 7 * DAY) }),
    null,
  ],
  [
    'refuses a CSR whose signature does not verify',
    request(www, { csr: { signatureValid: false } }),
    'csrSignature',
  ],
  ['refuses a CSR asking for cA=true', request(www, { csr: { requestsCa: true } }), 'csrCa'],
  ['refuses a CSR with an email SAN', request(www, { csr: { otherSans: ['rfc822Name'] } }), 'csrOtherSans'],
  [
    'refuses a CN that is not a SAN',
    request(www, { csr: { commonName: 'other.internal.test' } }),
    'csrCommonName',
  ],
  [
    'refuses a CSR naming an extra identifier',
    request(www, {
      csr: { identifiers: [...www, dns('extra.internal.test')] },
    }),
    'csrIdentifiers',
  ],
  [
    'refuses a CSR missing a requested identifier',
    request([...www, dns('b.internal.test')], {
      csr: { identifiers: www },
    }),
    'csrIdentifiers',
  ],
  [
    'refuses an IP in the CSR requested as a DNS name',
    request([dns('a.internal.test')], {
      csr: { identifiers: [ip('10.0.0.1')] },
    }),
    'csrIdentifiers',
  ],
  ['refuses a request with no identifiers', request([]), 'identifiers'],
  ['refuses a malformed identifier', request([dns('bad_name.internal.test')]), 'identifiers'],
  ['refuses an unsupported key type', request(www, { csr: { keyType: 'unsupported' } }), 'keyType'],
  ['refuses a key type not in the ceiling', request(www, { csr: { keyType: 'RSA-4096' } }), 'keyType'],
  ['refuses a name outside the suffixes', request([dns('api.evil.test')]), 'dnsSuffixes'],
  ['refuses a suffix match that is not label-aligned', request([dns('notinternal.test')]), 'dnsSuffixes'],
  [
    'refuses a wildcard when not allowed',
    request([dns('*.internal.test')]),
    'wildcards',
    {
      ...ceiling,
      allowWildcards: false,
    },
  ],
  ['refuses an IPv4 address out of range', request([ip('192.168.1.1')]), 'ipRanges'],
  ['refuses an IPv6 address out of range', request([ip('2001:db8::1')]), 'ipRanges'],
  // An IPv4 address in IPv6 form would be judged by "::/0" and signed as an IPv6 SAN that some TLS
  // clients match against the IPv4 address: refused as an identifier, whatever the ranges say.
  ...(
    [
      ['an IPv4-mapped address under "::/0" whose IPv4 form is refused', '::ffff:8.8.8.8'],
      ['an IPv4-mapped address in hex form under "::/0"', '::ffff:808:808'],
      ['an IPv4-compatible address under "::/0"', '::8.8.8.8'],
    ] as const
  ).map(([name, value]): [string, CeilingRequest, CeilingRule | null, Ceiling?] => [
    `refuses ${name}`,
    request([ip(value)]),
    'identifiers',
    { ...ceiling, ipRanges: ['10.0.0.0/8', '::/0'] },
  ]),
  [
    'refuses a CSR naming the IPv4-mapped form of a requested IPv4 address',
    request([ip('10.0.0.1')], { csr: { identifiers: [ip('::ffff:a00:1')] } }),
    'csrIdentifiers',
  ],
  [
    'refuses the IPv4 form outside the ranges too',
    request([ip('8.8.8.8')]),
    'ipRanges',
    { ...ceiling, ipRanges: ['10.0.0.0/8', '::/0'] },
  ],
  [
    'refuses any IP when no range is allowed',
    request([ip('10.0.0.1')]),
    'ipRanges',
    { ...ceiling, ipRanges: [] },
  ],
  ['refuses an unknown profile', request(www, { profile: 'nope' }), 'profile'],
  ['refuses a profile name from Object.prototype', request(www, { profile: 'constructor' }), 'profile'],
  ['refuses notAfter before notBefore', request(www, { notAfter: new Date(NOW.getTime() - 1) }), 'validity'],
  ['refuses an invalid date', request(www, { notAfter: new Date('nope') }), 'validity'],
  [
    'refuses notBefore 2 minutes in the past',
    request(www, {
      notBefore: new Date(NOW.getTime() - 120_000),
    }),
    'notBefore',
  ],
  [
    'refuses notBefore 8 days ahead',
    request(www, {
      notBefore: new Date(NOW.getTime() + 8 * DAY),
      notAfter: new Date(NOW.getTime() + 9 * DAY),
    }),
    'notBefore',
  ],
  [
    'refuses a lifetime over the profile maximum',
    request(www, {
      notAfter: new Date(NOW.getTime() + 7 * DAY + 1000),
    }),
    'profileLifetime',
  ],
  [
    'refuses a lifetime over the global maximum',
    request(www, {
      profile: 'long',
      notAfter: new Date(NOW.getTime() + 31 * DAY),
    }),
    'maxLifetime',
  ],
];

for (const [name, req, rule, c] of cases) {
  test(`ceiling ${name}`, () => {
    const got = checkCeiling(c ?? ceiling, req, NOW);
    assert.equal(got?.rule ?? null, rule, got?.detail);
    if (got) assert.ok(got.detail.length > 0);
  });
}

test('ceiling names the identifier outside the suffixes in the detail', () => {
  const got = checkCeiling(ceiling, request([dns('api.evil.test')]), NOW);
  assert.deepEqual(got, { rule: 'dnsSuffixes', detail: 'api.evil.test is outside the allowed DNS suffixes' });
});

test('a ceiling key type that is no leaf key type is refused at start-up, naming it', () => {
  assert.throws(() => checkCeilingKeyTypes({ keyTypes: ['EC-P256', 'EC-P521' as never] }), /names "EC-P521"/);
  assert.throws(() => checkCeilingKeyTypes({ keyTypes: [] }), /must list at least one of EC-P256/);
  assert.doesNotThrow(() => checkCeilingKeyTypes({ keyTypes: ['EC-P256', 'RSA-2048'] }));
});
