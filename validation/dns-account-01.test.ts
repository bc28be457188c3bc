import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { type ChallTestSrv, startChallTestSrv } from '../harness/challtestsrv.ts';
import type { Identifier } from '../shared/problems.ts';
import { dns01TxtValue, validateDns01 } from './dns-01.ts';
import { accountLabel, dnsAccount01Name, validateDnsAccount01 } from './dns-account-01.ts';
import type { ValidationNet } from './net.ts';
import { createNodeNet } from './node/net.ts';
import { keyAuthorization, validateChallenge, validationOptions } from './validate.ts';

const ACCOUNT = 'https://ca.test/acme/acct/alice';
const OTHER = 'https://ca.test/acme/acct/bob';
const KEY_AUTH = keyAuthorization('tok', 'thumb');
const opts = validationOptions({ timeoutMs: 3000 });
const dns = (value: string): Identifier => ({ type: 'dns', value });

describe('accountLabel (draft-ietf-acme-dns-account-label-03 §3.2)', () => {
  const vectors: Array<[string, string]> = [
    // the draft's own example (§3.2)
    ['https://example.com/acme/acct/ExampleAccount', '_ujmmovf2vn55tgye'],
    // Boulder's test vectors, recomputed independently
    ['http://localhost:4000/acme/acct/1', '_vkbgbqfhr6yv2asd'],
    ['https://acme-v02.api.letsencrypt.org/acme/acct/12345', '_lvrajhh53e27yh7f'],
    ['https://example.com/acme/acct/12345?param=value&other=thing', '_a4tgldxnu6oq5fgs'],
    ['', '_4oymiquy7qobjgx3'],
    // hashed as UTF-8, not as an IDNA A-label
    ['https://例子.测试/acme/acct/12345', '_idm5i43k6wemcnem'],
    // the exact bytes: a trailing slash is another account URL (§3.5)
    ['https://example.com/acme/acct/ExampleAccount/', '_dzis72q2qq5yqmsx'],
  ];
  for (const [url, label] of vectors) {
    it(`is ${label} for ${JSON.stringify(url)}`, async () => {
      assert.equal(await accountLabel(url), label);
    });
  }
  it('names the record under _acme-challenge of the base name, for a wildcard too', async () => {
    const url = 'https://example.com/acme/acct/ExampleAccount';
    assert.equal(await dnsAccount01Name(url, 'example.org'), '_ujmmovf2vn55tgye._acme-challenge.example.org');
    assert.equal(
      await dnsAccount01Name(url, '*.example.org'),
      '_ujmmovf2vn55tgye._acme-challenge.example.org',
    );
  });
  it('agrees with base32 of node:crypto for random URLs (16 characters, a-z2-7)', async () => {
    for (let i = 0; i < 50; i++) {
      const url = `https://ca.test/acme/acct/${createHash('sha1').update(String(i)).digest('hex')}`;
      const digest = createHash('sha256').update(url).digest().subarray(0, 10);
      // 80 bits as a binary string, cut in 5-bit groups: an implementation independent of ours
      const bitsText = [...digest].map((b) => b.toString(2).padStart(8, '0')).join('');
      const want = bitsText
        .match(/.{5}/g)
        ?.map((g) => 'abcdefghijklmnopqrstuvwxyz234567'[Number.parseInt(g, 2)]);
      assert.equal(await accountLabel(url), `_${want?.join('')}`);
    }
  });
});

describe('validateDnsAccount01 against pebble-challtestsrv', () => {
  let srv: ChallTestSrv;
  let rt: ValidationNet;
  before(async () => {
    srv = await startChallTestSrv();
    rt = createNodeNet({ dnsResolver: srv.dnsAddress });
    const good = await dns01TxtValue(KEY_AUTH);
    await srv.setTxt(await dnsAccount01Name(ACCOUNT, 'ok.test'), good);
    await srv.setTxt(await dnsAccount01Name(ACCOUNT, 'wild.test'), good);
    await srv.setTxt(await dnsAccount01Name(ACCOUNT, 'wrong.test'), 'not-the-digest');
    // another account's record, at its own label only
    await srv.setTxt(await dnsAccount01Name(OTHER, 'bobs.test'), good);
    // dns-01's record, at _acme-challenge itself
    await srv.setTxt('_acme-challenge.dns01only.test', good);
    // both side by side: each account its own label, and dns-01's record at the same time
    await srv.setTxt('_acme-challenge.both.test', good);
    await srv.setTxt(await dnsAccount01Name(ACCOUNT, 'both.test'), good);
    await srv.setTxt(await dnsAccount01Name(OTHER, 'both.test'), 'bobs-own-digest');
  });
  after(async () => srv?.close());

  const run = (id: Identifier, accountUrl: string | undefined = ACCOUNT) =>
    validateDnsAccount01(
      rt,
      { identifier: id, token: 'tok', keyAuthorization: KEY_AUTH, ...(accountUrl ? { accountUrl } : {}) },
      opts,
    );

  it('is valid when the TXT record at the account label holds the dns-01 digest', async () => {
    assert.deepEqual(await run(dns('ok.test')), {
      status: 'valid',
      validationRecord: [{ hostname: 'ok.test' }],
    });
  });
  it('is valid for a wildcard, looking at the base name', async () => {
    assert.equal((await run(dns('*.wild.test'))).status, 'valid');
  });
  it('is valid next to dns-01 and another account for the same name, and dns-01 too', async () => {
    assert.equal((await run(dns('both.test'))).status, 'valid');
    const viaDns01 = await validateDns01(
      rt,
      { identifier: dns('both.test'), token: 'tok', keyAuthorization: KEY_AUTH },
      opts,
    );
    assert.equal(viaDns01.status, 'valid');
  });
  it("is incorrectResponse at this account's label when only another account's label holds the value", async () => {
    const r = await run(dns('both.test'), OTHER);
    assert.equal(r.status, 'invalid');
    assert.equal(r.status === 'invalid' && r.problem.kind, 'incorrectResponse');
  });

  const refusals: Array<{ name: string; id: Identifier; kind: string; detail: RegExp }> = [
    {
      name: "is dns, naming the record and the account URL (§3.4), when only another account's label has a record",
      id: dns('bobs.test'),
      kind: 'dns',
      detail:
        /^No TXT record found at _[a-z2-7]{16}\._acme-challenge\.bobs\.test \(account URL used for the label: https:\/\/ca\.test\/acme\/acct\/alice\)$/,
    },
    {
      name: 'is dns when only the dns-01 record exists',
      id: dns('dns01only.test'),
      kind: 'dns',
      detail: /No TXT record found at _[a-z2-7]{16}\._acme-challenge\.dns01only\.test/,
    },
    {
      name: 'is incorrectResponse when the record holds another value',
      id: dns('wrong.test'),
      kind: 'incorrectResponse',
      detail:
        /Incorrect TXT record "not-the-digest" found at _[a-z2-7]{16}\._acme-challenge\.wrong\.test.*acct\/alice/,
    },
    {
      name: 'is rejectedIdentifier for an IP identifier',
      id: { type: 'ip', value: '127.0.0.1' },
      kind: 'rejectedIdentifier',
      detail: /IP address/,
    },
  ];
  for (const c of refusals) {
    it(c.name, async () => {
      const r = await run(c.id);
      assert.equal(r.status, 'invalid');
      if (r.status !== 'invalid') return;
      assert.equal(r.problem.kind, c.kind);
      assert.deepEqual(r.problem.identifier, c.id);
      assert.match(r.problem.message, c.detail);
    });
  }
  it('is serverInternal, not a client error, when called without the account URL', async () => {
    const r = await run(dns('ok.test'), '');
    assert.equal(r.status === 'invalid' && r.problem.kind, 'serverInternal');
  });
  it('is reached through validateChallenge by its type', async () => {
    const r = await validateChallenge(
      rt,
      {
        type: 'dns-account-01',
        identifier: dns('ok.test'),
        token: 'tok',
        keyAuthorization: KEY_AUTH,
        accountUrl: ACCOUNT,
      },
      opts,
    );
    assert.equal(r.status, 'valid');
  });
});
