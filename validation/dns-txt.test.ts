// The shared part of the TXT-record challenges, on a resolver made of a table (the challenges
// themselves are tested against pebble-challtestsrv beside their own files).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Identifier } from '../shared/problems.ts';
import {
  baseName,
  checkTxtDigest,
  forDnsNames,
  keyAuthorizationDigest,
  lookupTxt,
  refuseNonDns,
} from './dns-txt.ts';
import { DnsError, type ValidationNet } from './net.ts';
import { keyAuthorization, validationOptions } from './validate.ts';

/** A resolver answering TXT lookups from `table`: a list of records, a DnsError code, or `hang`. */
function tableNet(table: Record<string, string[] | DnsError['code'] | 'hang' | Error>): ValidationNet {
  const unused = () => Promise.reject(new Error('not used by TXT challenges'));
  return {
    name: 'table',
    dns: {
      resolveTxt: async (name) => {
        const a = table[name];
        if (a === undefined) throw new DnsError('NXDOMAIN', `${name} does not exist`);
        if (a === 'hang') return new Promise<string[]>(() => {});
        if (a instanceof Error) throw a;
        if (typeof a === 'string') throw new DnsError(a, `${a} for ${name}`);
        return a;
      },
      resolve4: unused,
      resolve6: unused,
    },
    httpGet: unused,
  };
}

const dns = (value: string): Identifier => ({ type: 'dns', value });
const KEY_AUTH = keyAuthorization('tok', 'thumb');

describe('refuseNonDns and forDnsNames', () => {
  it('offers and accepts DNS names, wildcards included', () => {
    assert.equal(forDnsNames(dns('a.test')), true);
    assert.equal(forDnsNames(dns('*.a.test')), true);
    assert.equal(refuseNonDns('dns-01', dns('*.a.test')), null);
  });
  it('rejects an IP identifier with rejectedIdentifier, naming the challenge and the identifier', () => {
    const ip: Identifier = { type: 'ip', value: '192.0.2.1' };
    assert.equal(forDnsNames(ip), false);
    const r = refuseNonDns('dns-persist-01', ip);
    assert.equal(r?.status, 'invalid');
    assert.ok(r?.status === 'invalid');
    assert.equal(r.problem.kind, 'rejectedIdentifier');
    assert.equal(r.problem.message, 'dns-persist-01 cannot validate an IP address identifier');
    assert.deepEqual(r.problem.identifier, ip);
  });
});

describe('baseName', () => {
  it('strips a leading wildcard label only', () => {
    assert.equal(baseName('*.a.test'), 'a.test');
    assert.equal(baseName('a.test'), 'a.test');
    assert.equal(baseName('a.*.test'), 'a.*.test');
  });
});

describe('lookupTxt', () => {
  const net = tableNet({
    'two.test': ['x', 'y'],
    'nodata.test': 'NODATA',
    'servfail.test': 'SERVFAIL',
    'hang.test': 'hang',
    'broken.test': new TypeError('a bug in the resolver'),
  });
  it('returns the records found', async () => {
    assert.deepEqual(await lookupTxt(net, 'two.test', 1000), { status: 'found', txts: ['x', 'y'] });
  });
  it('is absent on NXDOMAIN and on NODATA', async () => {
    assert.deepEqual(await lookupTxt(net, 'missing.test', 1000), { status: 'absent' });
    assert.deepEqual(await lookupTxt(net, 'nodata.test', 1000), { status: 'absent' });
  });
  it('fails with the DNS code on any other DNS error', async () => {
    assert.deepEqual(await lookupTxt(net, 'servfail.test', 1000), { status: 'failed', code: 'SERVFAIL' });
  });
  it('fails with TIMEOUT when the lookup outlasts its budget', async () => {
    assert.deepEqual(await lookupTxt(net, 'hang.test', 20), { status: 'failed', code: 'TIMEOUT' });
  });
  it('lets an error that is not a DNS answer through', async () => {
    await assert.rejects(lookupTxt(net, 'broken.test', 1000), TypeError);
  });
});

describe('checkTxtDigest', () => {
  const opts = validationOptions({ timeoutMs: 1000 });
  const input = { identifier: dns('a.test'), token: 'tok', keyAuthorization: KEY_AUTH };
  const check = async (answer: string[] | DnsError['code'] | 'absent', note?: string) => {
    const net = tableNet(answer === 'absent' ? {} : { '_rec.a.test': answer });
    return checkTxtDigest(net, input, opts, 'a.test', '_rec.a.test', note);
  };
  it('is valid when one record holds base64url(SHA-256(keyAuthorization)), recording the base name', async () => {
    const digest = await keyAuthorizationDigest(KEY_AUTH);
    assert.equal(digest.length, 43);
    assert.deepEqual(await check(['stale', digest]), {
      status: 'valid',
      validationRecord: [{ hostname: 'a.test' }],
    });
  });
  const refusals: Array<{
    name: string;
    answer: string[] | DnsError['code'] | 'absent';
    kind: string;
    detail: string;
  }> = [
    {
      name: 'is incorrectResponse when no record matches, showing the first',
      answer: ['wrong', 'other'],
      kind: 'incorrectResponse',
      detail:
        'Incorrect TXT record "wrong" (and 1 more) found at _rec.a.test: 2 record(s) seen, none matched; n',
    },
    {
      name: 'is dns when there is no record',
      answer: 'absent',
      kind: 'dns',
      detail: 'No TXT record found at _rec.a.test; n',
    },
    {
      name: 'is dns when the lookup fails',
      answer: 'REFUSED',
      kind: 'dns',
      detail: 'DNS problem: REFUSED looking up TXT for _rec.a.test; n',
    },
  ];
  for (const c of refusals) {
    it(c.name, async () => {
      const r = await check(c.answer, '; n');
      assert.ok(r.status === 'invalid');
      assert.equal(r.problem.kind, c.kind);
      assert.equal(r.problem.message, c.detail);
      assert.deepEqual(r.problem.identifier, input.identifier);
      assert.deepEqual(r.validationRecord, [{ hostname: 'a.test' }]);
    });
  }
});
