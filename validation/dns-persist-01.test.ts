import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ChallTestSrv, startChallTestSrv } from '../harness/challtestsrv.ts';
import type { Identifier } from '../shared/problems.ts';
import {
  hashedAccountUri,
  persistRecord,
  persistRecordName,
  validateDnsPersist01,
} from './dns-persist-01.ts';
import type { ValidationNet } from './net.ts';
import { createNodeNet } from './node/net.ts';
import type { PersistIssuer } from './types.ts';
import { keyAuthorization, validateChallenge, validationOptions } from './validate.ts';

// RFC 7638 §3.1's example thumbprint, the key of the draft's test vectors (§10.2)
const THUMB = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';
const OTHER_THUMB = 'AAbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';
const ALICE = 'https://ca.test/acme/acct/alice';
const BOB = 'https://ca.test/acme/acct/bob';
const PREFIX = 'https://ca.test/acme/account-hash/';
const ISSUER: PersistIssuer = { issuerDomainNames: ['ca.test', 'ca-alt.test'], accountHashPrefix: PREFIX };
const opts = validationOptions({ timeoutMs: 3000 });
const dns = (value: string): Identifier => ({ type: 'dns', value });

describe('hashedAccountUri (draft-ietf-acme-dns-persist-02 §10.2 test vectors)', () => {
  it('hashes the domain, its length, the thumbprint and the account URL', async () => {
    assert.equal(
      await hashedAccountUri(
        'https://ca.example/account-hash/',
        'example.com',
        THUMB,
        'https://ca.example/acct/123',
      ),
      'https://ca.example/account-hash/sha-256/5SQm7n6tPh2-PlLbCKGnViTXX5z19SCN4cPGQHSk-kw',
    );
  });
  it('hashes "*" for the wildcard opt-out form', async () => {
    assert.equal(
      await hashedAccountUri('https://ca.example/account-hash/', '*', THUMB, 'https://ca.example/acct/123'),
      'https://ca.example/account-hash/sha-256/NpDnSwUthQK8zCgFdefYxAdAVPnygMLbs9US6oO-5ug',
    );
  });
});

describe('persistRecord', () => {
  it("is the draft's Figure 5 record for its inputs", async () => {
    const r = await persistRecord({
      name: 'example.com',
      issuer: 'authority.example',
      accountUrl: 'https://ca.example/acct/123',
      thumbprint: THUMB,
      accountHashPrefix: 'https://ca.example/account-hash/',
    });
    assert.equal(r.owner, '_validation-persist.example.com');
    assert.equal(
      r.value,
      'authority.example; accounturi=https://ca.example/account-hash/sha-256/5SQm7n6tPh2-PlLbCKGnViTXX5z19SCN4cPGQHSk-kw',
    );
    assert.equal(r.zoneLine, `_validation-persist.example.com. IN TXT ${JSON.stringify(r.value)}`);
  });
  it('is the -01 form with the raw account URL without a thumbprint, and adds policy and persistUntil', async () => {
    const r = await persistRecord({
      name: '*.Example.com',
      issuer: 'ca.test',
      accountUrl: ALICE,
      persistUntil: 1767225600,
    });
    assert.equal(r.owner, '_validation-persist.example.com');
    assert.equal(r.value, `ca.test; accounturi=${ALICE}; policy=wildcard; persistUntil=1767225600`);
  });
  it('splits a value past 255 octets into several strings in the zone line (RFC 1035 §3.3.14)', async () => {
    const r = await persistRecord({
      name: 'a.test',
      issuer: 'ca.test',
      accountUrl: `https://ca.test/${'x'.repeat(300)}`,
    });
    assert.match(r.zoneLine, /^_validation-persist\.a\.test\. IN TXT "[^"]{255}" "[^"]+"$/);
  });
});

describe('validateDnsPersist01 against pebble-challtestsrv', () => {
  let srv: ChallTestSrv;
  let rt: ValidationNet;
  const hashed = (name: string, thumb = THUMB, url = ALICE) => hashedAccountUri(PREFIX, name, thumb, url);
  const set = (name: string, value: string) => srv.setTxt(persistRecordName(name), value);
  const future = Math.floor(Date.now() / 1000) + 365 * 86_400;
  before(async () => {
    srv = await startChallTestSrv();
    rt = createNodeNet({ dnsResolver: srv.dnsAddress });
    await set('hashed.test', `ca.test; accounturi=${await hashed('hashed.test')}`);
    await set('alt-issuer.test', `ca-alt.test; accounturi=${await hashed('alt-issuer.test')}`);
    await set('raw.test', `ca.test; accounturi=${ALICE}`);
    await set('bob.test', `ca.test; accounturi=${BOB}`);
    await set('bob-hashed.test', `ca.test; accounturi=${await hashed('bob-hashed.test', THUMB, BOB)}`);
    await set('old-key.test', `ca.test; accounturi=${await hashed('old-key.test', OTHER_THUMB)}`);
    await set('other-name.test', `ca.test; accounturi=${await hashed('elsewhere.test')}`);
    await set('expired.test', `ca.test; accounturi=${ALICE}; persistUntil=1721952000`);
    await set('until.test', `ca.test; accounturi=${ALICE}; persistUntil=${future}`);
    await set('no-policy.test', `ca.test; accounturi=${ALICE}`);
    await set('policy.test', `ca.test; accounturi=${ALICE}; policy=wildcard`);
    await set('policy-star.test', `ca.test; accounturi=${await hashed('*')}; policy=wildcard`);
    await set('policy-other.test', `ca.test; accounturi=${ALICE}; policy=subdomains`);
    await set('folded.test', ` \tCA.Test ; ACCOUNTURI = ${ALICE} ; Policy=WildCard ; future-tag=x`);
    await set('other-ca.test', `other-ca.example; accounturi=${ALICE}`);
    await set('garbage-elsewhere.test', 'other-ca.example; this is not a parameter');
    await set('garbage-elsewhere.test', 'v=spf1 -all');
    // several records: another CA's, an expired one of ours, a good one of ours
    await set('several.test', `other-ca.example; accounturi=${BOB}`);
    await set('several.test', `ca.test; accounturi=${ALICE}; persistUntil=1721952000`);
    await set('several.test', `ca.test; accounturi=${await hashed('several.test')}`);
    await set('dup.test', `ca.test; accounturi=${ALICE}; accounturi=${BOB}`);
    await set('no-uri.test', 'ca.test; policy=wildcard');
    await set('bad-until.test', `ca.test; accounturi=${ALICE}; persistUntil=+17x`);
    await set('sha512.test', `ca.test; accounturi=${PREFIX}sha-512/abc`);
    await set('mixed.test', `ca.test; accounturi=${BOB}`);
    await set('mixed.test', `ca.test; accounturi=${ALICE};; x=1`);
  });
  after(async () => srv?.close());

  const run = (
    id: Identifier,
    o: { wildcard?: boolean; persist?: PersistIssuer | null; accountUrl?: string } = {},
  ) =>
    validateDnsPersist01(
      rt,
      {
        identifier: id,
        token: 'tok',
        keyAuthorization: keyAuthorization('tok', THUMB),
        accountUrl: o.accountUrl ?? ALICE,
        ...(o.wildcard ? { wildcard: true } : {}),
        ...(o.persist === null ? {} : { persist: o.persist ?? { ...ISSUER, acceptAccountUrl: true } }),
      },
      opts,
    );

  const accepted: Array<{ name: string; id: string; wildcard?: boolean; persist?: PersistIssuer }> = [
    { name: "the -02 hashed URI of this account's key", id: 'hashed.test', persist: ISSUER },
    { name: 'a record naming the second of the issuer domain names', id: 'alt-issuer.test', persist: ISSUER },
    { name: 'the raw account URL (-01) where the CA accepts it', id: 'raw.test' },
    { name: 'a persistUntil still ahead', id: 'until.test' },
    { name: 'a wildcard with policy=wildcard', id: 'policy.test', wildcard: true },
    {
      name: 'a wildcard with the "*" hashed URI and policy=wildcard',
      id: 'policy-star.test',
      wildcard: true,
      persist: ISSUER,
    },
    { name: 'a record without policy=wildcard for the name itself', id: 'no-policy.test' },
    { name: 'a record with policy=wildcard for the name itself', id: 'policy.test' },
    {
      name: 'any case of issuer, tags and policy, WSP around them, an unknown tag',
      id: 'folded.test',
      wildcard: true,
    },
    { name: 'one good record among a foreign and an expired one (§4.3)', id: 'several.test' },
  ];
  for (const c of accepted) {
    it(`is valid for ${c.name}`, async () => {
      const r = await run(dns(c.id), {
        ...(c.wildcard ? { wildcard: true } : {}),
        ...(c.persist ? { persist: c.persist } : {}),
      });
      assert.equal(r.status, 'valid', r.status === 'invalid' ? r.problem.message : '');
    });
  }

  const refused: Array<{
    name: string;
    id: string;
    kind: string;
    detail: RegExp;
    wildcard?: boolean;
    persist?: PersistIssuer;
  }> = [
    {
      name: 'is unauthorized, naming the record and the issuers, when there is no record',
      id: 'missing.test',
      kind: 'unauthorized',
      detail:
        /^No TXT record found at _validation-persist\.missing\.test; create one naming ca\.test, ca-alt\.test and this account$/,
    },
    {
      name: "is unauthorized for another account's URL",
      id: 'bob.test',
      kind: 'unauthorized',
      detail:
        /accounturi=https:\/\/ca\.test\/acme\/acct\/bob is not https:\/\/ca\.test\/acme\/acct\/alice or this account's hashed URI/,
    },
    {
      name: "is unauthorized for another account's hashed URI",
      id: 'bob-hashed.test',
      kind: 'unauthorized',
      detail: /is not https:\/\/ca\.test\/acme\/acct\/alice or this account's hashed URI/,
    },
    {
      name: 'is unauthorized for a hashed URI of another key',
      id: 'old-key.test',
      kind: 'unauthorized',
      detail: /account-hash\/sha-256\/\S+ is not/,
    },
    {
      name: 'is unauthorized for a hashed URI of another name',
      id: 'other-name.test',
      kind: 'unauthorized',
      detail: /is not/,
    },
    {
      name: 'is unauthorized for the raw account URL where the CA accepts only -02 hashed URIs',
      id: 'raw.test',
      persist: ISSUER,
      kind: 'unauthorized',
      detail: /accounturi=https:\/\/ca\.test\/acme\/acct\/alice is not this account's hashed URI/,
    },
    {
      name: 'is unauthorized once persistUntil has passed',
      id: 'expired.test',
      kind: 'unauthorized',
      detail: /persistUntil=1721952000 \(2024-07-26T00:00:00\.000Z\) has passed/,
    },
    {
      name: 'is unauthorized for a wildcard without policy=wildcard',
      id: 'no-policy.test',
      wildcard: true,
      kind: 'unauthorized',
      detail: /lacks policy=wildcard, which \*\.no-policy\.test needs/,
    },
    {
      name: 'is unauthorized for a wildcard with another policy value',
      id: 'policy-other.test',
      wildcard: true,
      kind: 'unauthorized',
      detail: /lacks policy=wildcard/,
    },
    {
      name: "is unauthorized when the only record names another CA's issuer domain",
      id: 'other-ca.test',
      kind: 'unauthorized',
      detail:
        /None of the 1 TXT record\(s\) at _validation-persist\.other-ca\.test names this CA \(ca\.test, ca-alt\.test\)/,
    },
    {
      name: "is unauthorized, not malformed, when another CA's records are garbage",
      id: 'garbage-elsewhere.test',
      kind: 'unauthorized',
      detail: /None of the 2 TXT record\(s\)/,
    },
    {
      name: 'is malformed for a duplicate parameter',
      id: 'dup.test',
      kind: 'malformed',
      detail: /accounturi is given twice/,
    },
    {
      name: 'is malformed without accounturi',
      id: 'no-uri.test',
      kind: 'malformed',
      detail: /no accounturi parameter/,
    },
    {
      name: 'is malformed for a persistUntil that is not a timestamp',
      id: 'bad-until.test',
      kind: 'malformed',
      detail: /persistUntil=\+17x is not a UNIX timestamp/,
    },
    {
      name: 'is malformed for a hashed URI with another algorithm (§4.1 item 3)',
      id: 'sha512.test',
      kind: 'malformed',
      detail:
        /sha-512\/abc is not https:\/\/ca\.test\/acme\/account-hash\/sha-256\/<43 base64url characters>/,
    },
    {
      name: 'is malformed, before unauthorized, when both kinds of record are there',
      id: 'mixed.test',
      kind: 'malformed',
      detail:
        /^1 TXT record\(s\) at _validation-persist\.mixed\.test name this CA but cannot be used: .*empty parameter/,
    },
  ];
  for (const c of refused) {
    it(c.name, async () => {
      const id = dns(c.id);
      const r = await run(id, {
        ...(c.wildcard ? { wildcard: true } : {}),
        ...(c.persist ? { persist: c.persist } : {}),
      });
      assert.equal(r.status, 'invalid');
      if (r.status !== 'invalid') return;
      assert.equal(r.problem.kind, c.kind, r.problem.message);
      assert.equal(r.problem.type, `urn:ietf:params:acme:error:${c.kind}`);
      assert.deepEqual(r.problem.identifier, id);
      assert.match(r.problem.message, c.detail);
    });
  }

  it('is rejectedIdentifier for an IP identifier', async () => {
    const r = await run({ type: 'ip', value: '127.0.0.1' });
    assert.equal(r.status === 'invalid' && r.problem.kind, 'rejectedIdentifier');
  });
  it("is serverInternal, not the client's fault, without the CA's issuer names", async () => {
    const r = await run(dns('raw.test'), { persist: null });
    assert.equal(r.status === 'invalid' && r.problem.kind, 'serverInternal');
  });
  it('is reached through validateChallenge by its type', async () => {
    const r = await validateChallenge(
      rt,
      {
        type: 'dns-persist-01',
        identifier: dns('hashed.test'),
        token: 'tok',
        keyAuthorization: keyAuthorization('tok', THUMB),
        accountUrl: ALICE,
        persist: ISSUER,
      },
      opts,
    );
    assert.equal(r.status, 'valid');
  });
});
