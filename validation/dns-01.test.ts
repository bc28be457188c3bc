import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { type ChallTestSrv, startChallTestSrv } from '../harness/challtestsrv.ts';
import type { Identifier } from '../shared/problems.ts';
import { dns01TxtValue, validateDns01 } from './dns-01.ts';
import type { ValidationNet } from './net.ts';
import { createNodeNet } from './node/net.ts';
import { keyAuthorization, validateChallenge, validationOptions } from './validate.ts';

const KEY_AUTH = keyAuthorization('tok', 'thumb');
const opts = validationOptions({ timeoutMs: 3000 });
const dns = (value: string): Identifier => ({ type: 'dns', value });

describe('validateDns01 against pebble-challtestsrv', () => {
  let srv: ChallTestSrv;
  let rt: ValidationNet;
  before(async () => {
    srv = await startChallTestSrv();
    rt = createNodeNet({ dnsResolver: srv.dnsAddress });
    const good = await dns01TxtValue(KEY_AUTH);
    await srv.setTxt('_acme-challenge.ok.test', good);
    await srv.setTxt('_acme-challenge.wild.test', good);
    await srv.setTxt('_acme-challenge.wrong.test', 'not-the-digest');
    await srv.setTxt('_acme-challenge.several.test', 'stale-one');
    await srv.setTxt('_acme-challenge.several.test', good);
    await srv.setTxt('_acme-challenge.cleared.test', good);
    await srv.clearTxt('_acme-challenge.cleared.test');
  });
  after(async () => srv?.close());

  const cases: Array<{
    name: string;
    id: Identifier;
    status: 'valid' | 'invalid';
    kind?: string;
    detail?: RegExp;
  }> = [
    {
      name: 'is valid when the TXT record holds base64url(SHA-256(keyAuthorization))',
      id: dns('ok.test'),
      status: 'valid',
    },
    { name: 'is valid for a wildcard, looking at the base name', id: dns('*.wild.test'), status: 'valid' },
    { name: 'is valid when one of several TXT records matches', id: dns('several.test'), status: 'valid' },
    {
      name: 'is dns when there is no TXT record',
      id: dns('missing.test'),
      status: 'invalid',
      kind: 'dns',
      detail: /^No TXT record found at _acme-challenge\.missing\.test$/,
    },
    {
      name: 'is dns once the TXT record was cleared',
      id: dns('cleared.test'),
      status: 'invalid',
      kind: 'dns',
      detail: /No TXT record found at _acme-challenge\.cleared\.test/,
    },
    {
      name: 'is incorrectResponse when the TXT record holds another value, saying how many were seen',
      id: dns('wrong.test'),
      status: 'invalid',
      kind: 'incorrectResponse',
      detail:
        /Incorrect TXT record "not-the-digest" found at _acme-challenge\.wrong\.test: 1 record\(s\) seen/,
    },
    {
      name: 'is rejectedIdentifier for an IP identifier (RFC 8738 §7)',
      id: { type: 'ip', value: '127.0.0.1' },
      status: 'invalid',
      kind: 'rejectedIdentifier',
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const result = await validateDns01(
        rt,
        { identifier: c.id, token: 'tok', keyAuthorization: KEY_AUTH },
        opts,
      );
      assert.equal(result.status, c.status, result.status === 'invalid' ? result.problem.message : 'valid');
      if (result.status !== 'invalid') return;
      assert.equal(result.problem.kind, c.kind);
      assert.deepEqual(result.problem.identifier, c.id);
      if (c.detail) assert.match(result.problem.message, c.detail);
    });
  }

  it('is dns (TIMEOUT) within the budget when the resolver never answers', async () => {
    const silent = createSocket('udp4');
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', r));
    try {
      const deaf = createNodeNet({ dnsResolver: `127.0.0.1:${silent.address().port}` });
      const t0 = Date.now();
      const result = await validateChallenge(
        deaf,
        { type: 'dns-01', identifier: dns('ok.test'), token: 'tok', keyAuthorization: KEY_AUTH },
        validationOptions({ timeoutMs: 1000 }),
      );
      // the 1 s budget, not the 3 s default, ended it (the margin is for a loaded machine)
      assert.ok(Date.now() - t0 < 2500, `took ${Date.now() - t0} ms`);
      assert.equal(result.status, 'invalid');
      assert.equal(result.status === 'invalid' && result.problem.kind, 'dns');
      assert.match(result.status === 'invalid' ? result.problem.message : '', /TIMEOUT looking up TXT/);
    } finally {
      silent.close();
    }
  });
});

describe('dns01TxtValue', () => {
  it('is the RFC 8555 §8.4 digest (43 base64url characters)', async () => {
    // SHA-256("tok.thumb") computed independently with node:crypto
    const { createHash } = await import('node:crypto');
    const expected = createHash('sha256').update('tok.thumb').digest('base64url');
    assert.equal(await dns01TxtValue('tok.thumb'), expected);
    assert.equal(expected.length, 43);
  });
});
