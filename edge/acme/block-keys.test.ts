// An account whose key is blocked as compromised can no longer be used (RFC 8555 §7.3.6): whichever
// way the key is blocked — ACME revokeCert with keyCompromise signed by the certificate's key, an
// admin revocation with keyCompromise (single or bulk), an admin block by hash, JWK or PEM — every
// valid account using it is deactivated with the block, its next `kid` request (newOrder, POST-as-GET
// of the account) gets 401 unauthorized saying why, and the change log has one `account.deactivate`
// entry per account. An account from before key digests were kept (key_digest NULL) is found too:
// by the block itself, or, when an earlier release blocked its key, at its own next request.
// In process; the signer is a stand-in (revocation at the signer is not what is tested here; the
// real one is in test/integration/incident.test.ts).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { exportJWK } from 'jose';
import type { SignerClient } from '../../edge/relay/signer-client.ts';
import { b64uEncode, pemToDers, toHex } from '../../shared/encoding.ts';
import type { Identifier } from '../../shared/problems.ts';
import { type AcmeKey, newKey, TestAcme } from '../../test/support/acme.ts';
import { issueLeaf, makeIssuer, storeCert, type TestIssuer } from '../../test/support/ari.ts';
import { type InprocEdge, startInprocEdge } from '../../test/support/edge-app.ts';
import type { Stmt } from '../storage/settings.ts';
import { blockedKeyStore, jwkDigest } from './compromised-keys.ts';

const H = 3_600_000;
let edge: InprocEdge;
let token: string;
/** the admin token's id, as the change log names it */
let tokenId: string;
let iss: TestIssuer;
/** an account that only holds certificates here; its own key is never blocked */
let holder: string;

const signer: SignerClient = {
  sign: async () => ({ status: 'unavailable', detail: 'not in this test' }),
  revoke: async () => ({ status: 'revoked', revokedAt: new Date().toISOString() }),
  crl: async () => new Uint8Array(),
};

function admin(method: string, path: string, body?: unknown) {
  return edge.app.request(`https://acme.test:14000/admin${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function json(res: Response, status = 200) {
  const text = await res.text();
  assert.equal(res.status, status, text);
  return JSON.parse(text);
}

const ecKeys = () =>
  crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ]) as Promise<CryptoKeyPair>;

async function acmeKeyOf(keys: CryptoKeyPair): Promise<AcmeKey> {
  return { alg: 'ES256', privateKey: keys.privateKey, jwk: await exportJWK(keys.publicKey) };
}

/** An account whose key is `keys`, and its id. */
async function accountWith(keys: CryptoKeyPair): Promise<{ acme: TestAcme; id: string }> {
  const acme = await new TestAcme(edge.fetch, edge.directoryUrl, await acmeKeyOf(keys)).init();
  const res = await acme.newAccount();
  assert.equal(res.status, 201, await res.text());
  return { acme, id: acme.kid!.split('/').pop()! };
}

/** A certificate for `keys`, held by the holder account (finalize would refuse an account's own key). */
async function certFor(keys: CryptoKeyPair, name: string) {
  const ids: Identifier[] = [{ type: 'dns', value: name }];
  return storeCert(
    edge.svc,
    holder,
    await issueLeaf(iss, ids, Date.now() - H, Date.now() + 23 * H, keys),
    ids,
  );
}

const COMPROMISED_ACCOUNT =
  /account is deactivated: its key was reported compromised on .*deactivates every account/;

/** The account's next kid requests — newOrder and POST-as-GET of the account — get 401 unauthorized saying why. */
async function assertUnusable(acme: TestAcme): Promise<void> {
  const requests: [string, () => Promise<Response>][] = [
    [
      'newOrder',
      () => acme.post(acme.dir.newOrder, { identifiers: [{ type: 'dns', value: 'after.block.test' }] }),
    ],
    ['POST-as-GET of the account', () => acme.post(acme.kid!, '')],
  ];
  for (const [what, send] of requests) await assertRefused(what, await send());
}

async function assertRefused(what: string, res: Response): Promise<void> {
  const text = await res.text();
  assert.equal(res.status, 401, `${what}: ${text}`);
  const doc = JSON.parse(text);
  assert.equal(doc.type, 'urn:ietf:params:acme:error:unauthorized', what);
  assert.match(doc.detail, COMPROMISED_ACCOUNT, what);
  assert.ok(res.headers.get('replay-nonce'), `${what}: a fresh nonce`);
}

/** The change-log entries of an account's deactivation. */
async function deactivations(id: string) {
  const { changes } = await json(await admin('GET', `/changes?target=account:${id}`));
  return (changes as { action: string; tokenId: string; after: Record<string, unknown> }[]).filter(
    (x) => x.action === 'account.deactivate',
  );
}

async function statusOf(id: string): Promise<string | undefined> {
  return (await edge.svc.accounts.get(id))?.status;
}

describe('blocking a key deactivates the accounts using it', () => {
  before(async () => {
    edge = await startInprocEdge({ signer });
    const { admin: store } = await edge.svc.stores();
    const t = await store.newToken('block-test', 'write');
    await store.commit([t.stmt], {
      tokenId: 'cli',
      action: 'token.create',
      target: 't',
      before: null,
      after: null,
    });
    token = t.token;
    tokenId = t.row.id;
    iss = await makeIssuer('Block Test');
    const h = await new TestAcme(edge.fetch, edge.directoryUrl, await newKey()).init();
    await h.newAccount();
    holder = h.kid!.split('/').pop()!;
  });
  after(() => edge.close());

  const ways: [
    string,
    (keys: CryptoKeyPair, name: string) => Promise<Record<string, unknown> | undefined>,
  ][] = [
    [
      "ACME revokeCert with keyCompromise signed by the certificate's key",
      async (keys, name) => {
        const c = await certFor(keys, name);
        const reporter = await new TestAcme(edge.fetch, edge.directoryUrl, await acmeKeyOf(keys)).init();
        const res = await reporter.post(
          reporter.dir.revokeCert,
          { certificate: b64uEncode(pemToDers(c.chainPem)[0]!), reason: 1 },
          { useJwk: true },
        );
        assert.equal(res.status, 200, await res.text());
        return undefined;
      },
    ],
    [
      'an admin revocation of one certificate with keyCompromise',
      async (keys, name) => {
        const c = await certFor(keys, name);
        return json(await admin('POST', `/certificates/${c.serial}/revoke`, { reason: 1 }));
      },
    ],
    [
      'a bulk revocation with keyCompromise',
      async (keys, name) => {
        await certFor(keys, name);
        return json(await admin('POST', '/bulk-revoke', { pattern: name, reason: 1 }));
      },
    ],
    [
      'an admin block by hash',
      async (keys) => {
        const spki = new Uint8Array(await crypto.subtle.exportKey('spki', keys.publicKey));
        const hex = toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', spki)));
        return json(await admin('POST', '/blocked-keys', { spkiSha256: hex }), 201);
      },
    ],
    [
      'an admin block by JWK',
      async (keys) =>
        json(await admin('POST', '/blocked-keys', { jwk: await exportJWK(keys.publicKey) }), 201),
    ],
    [
      'an admin block by PEM',
      async (keys, name) => {
        const c = await certFor(keys, name);
        return json(await admin('POST', '/blocked-keys', { pem: c.chainPem }), 201);
      },
    ],
  ];

  for (const [i, [way, block]] of ways.entries()) {
    it(`${way} deactivates the account using the key, with a change-log entry; another account stays`, async () => {
      const keys = await ecKeys();
      const { acme, id } = await accountWith(keys);
      const bystander = await accountWith(await ecKeys());
      const answer = await block(keys, `w${i}.block.test`);
      if (answer) assert.deepEqual(answer.deactivatedAccounts, [id], 'the admin answer names the account');
      assert.equal(await statusOf(id), 'deactivated');
      await assertUnusable(acme);
      const log = await deactivations(id);
      assert.equal(log.length, 1, 'one change-log entry for the account');
      assert.equal(log[0]!.after.because, 'its key was reported compromised');
      assert.equal(log[0]!.after.spkiSha256, await jwkDigest(acme.key.jwk));
      assert.equal(log[0]!.tokenId, answer ? tokenId : 'acme', 'who did it');
      assert.equal(await statusOf(bystander.id), 'valid');
      const ok = await bystander.acme.post(bystander.acme.kid!, '');
      assert.equal(ok.status, 200, 'an account with another key is untouched');
    });
  }

  it('finds an account from before key digests were kept (key_digest NULL) when its key is blocked', async () => {
    const keys = await ecKeys();
    const { acme, id } = await accountWith(keys);
    await edge.svc.database.client!.execute({
      sql: 'UPDATE accounts SET key_digest = NULL WHERE id = ?',
      args: [id],
    });
    const answer = await json(
      await admin('POST', '/blocked-keys', { jwk: await exportJWK(keys.publicKey), note: 'legacy' }),
      201,
    );
    assert.deepEqual(answer.deactivatedAccounts, [id]);
    assert.equal(answer.accountsUnchecked, undefined, 'every older account was checked');
    assert.equal(await statusOf(id), 'deactivated');
    await assertUnusable(acme);
    assert.equal((await deactivations(id)).length, 1);
    // the other older rows got their digest on the way
    const left = await edge.svc.database.client!.execute(
      "SELECT count(*) AS n FROM accounts WHERE key_digest IS NULL AND status = 'valid'",
    );
    assert.equal(Number(left.rows[0]?.n), 0);
  });

  it('deactivates an account from before key digests were kept at its next request when its key was blocked before', async () => {
    const keys = await ecKeys();
    const { acme, id } = await accountWith(keys);
    // as an earlier release left it: the key blocked, the account with no digest and still valid
    await edge.svc.database.client!.execute({
      sql: 'UPDATE accounts SET key_digest = NULL WHERE id = ?',
      args: [id],
    });
    const digest = (await jwkDigest(acme.key.jwk))!;
    await edge.svc.database.db.batch(
      blockedKeyStore(edge.svc).block([
        {
          spkiSha256: digest,
          source: 'admin-block',
          serial: null,
          accountId: null,
          note: '',
          createdAt: Date.now(),
        },
      ]) as [Stmt],
    );
    assert.equal(await statusOf(id), 'valid');
    // two requests at once, both by the account as it was read: both refused, one change-log entry
    const both = await Promise.all([acme.post(acme.kid!, ''), acme.post(acme.kid!, '')]);
    for (const res of both) await assertRefused('a request of the older account', res);
    assert.equal(await statusOf(id), 'deactivated');
    await assertUnusable(acme);
    const log = await deactivations(id);
    assert.equal(log.length, 1);
    assert.equal(log[0]!.tokenId, 'acme');
    assert.equal(log[0]!.after.spkiSha256, digest);
  });

  it('an older account whose key is not blocked gets its digest at its next request and works on', async () => {
    const keys = await ecKeys();
    const { acme, id } = await accountWith(keys);
    await edge.svc.database.client!.execute({
      sql: 'UPDATE accounts SET key_digest = NULL WHERE id = ?',
      args: [id],
    });
    const res = await acme.post(acme.kid!, '');
    assert.equal(res.status, 200, await res.text());
    assert.equal((await edge.svc.accounts.get(id))?.keyDigest, await jwkDigest(acme.key.jwk));
  });

  it('revokeCert with keyCompromise of a certificate revoked before for another reason blocks its key and answers alreadyRevoked saying so', async () => {
    const keys = await ecKeys();
    const { acme, id } = await accountWith(keys);
    const c = await certFor(keys, 'again.block.test');
    await json(await admin('POST', `/certificates/${c.serial}/revoke`, { reason: 4 }));
    const revokedAt = (await edge.svc.certificates.bySerial(c.serial))?.revokedAt;
    assert.equal(await statusOf(id), 'valid', 'superseded blocks nothing');
    const reporter = await new TestAcme(edge.fetch, edge.directoryUrl, await acmeKeyOf(keys)).init();
    const res = await reporter.post(
      reporter.dir.revokeCert,
      { certificate: b64uEncode(pemToDers(c.chainPem)[0]!), reason: 1 },
      { useJwk: true },
    );
    const text = await res.text();
    assert.equal(res.status, 400, text);
    const doc = JSON.parse(text);
    assert.equal(doc.type, 'urn:ietf:params:acme:error:alreadyRevoked');
    assert.match(doc.detail, /already revoked \(reason 4, which the CRL keeps\); its key is now blocked/);
    const shown = await json(await admin('GET', `/blocked-keys/${c.spkiSha256}`));
    assert.equal(shown.source, 'acme-revoke');
    assert.equal(shown.serial, c.serial);
    const after = await edge.svc.certificates.bySerial(c.serial);
    assert.equal(after?.revocationReason, 4, 'the recorded reason stays, as at the signer');
    assert.equal(after?.revokedAt, revokedAt);
    // the key's consequences: the account using it is deactivated, the key refused for a new one
    await assertUnusable(acme);
    const other = await new TestAcme(edge.fetch, edge.directoryUrl, await acmeKeyOf(keys)).init();
    assert.equal((await other.newAccount()).status, 400);
    // reported again: the same answer, nothing new
    const again = await reporter.post(
      reporter.dir.revokeCert,
      { certificate: b64uEncode(pemToDers(c.chainPem)[0]!), reason: 4 },
      { useJwk: true },
    );
    assert.equal(again.status, 400);
    assert.match((await again.json()).detail, /^the certificate is already revoked$/);
  });

  it('the account insert and key change write nothing for a key blocked after the route checked it', async () => {
    const key = await newKey();
    const keyDigest = (await jwkDigest(key.jwk))!;
    await edge.svc.database.db.batch(
      blockedKeyStore(edge.svc).block([
        {
          spkiSha256: keyDigest,
          source: 'admin-block',
          serial: null,
          accountId: null,
          note: '',
          createdAt: Date.now(),
        },
      ]) as [Stmt],
    );
    const row = {
      id: `raced-${keyDigest.slice(0, 8)}`,
      thumbprint: `t-${keyDigest}`,
      jwk: JSON.stringify(key.jwk),
      status: 'valid' as const,
      contact: '[]',
      tosAgreed: true,
      keyDigest,
    };
    assert.deepEqual(await edge.svc.accounts.create({ ...row, eabKid: null }), { status: 'keyBlocked' });
    const eab = await json(await admin('POST', '/eab-keys', { name: 'raced' }), 201);
    assert.deepEqual(await edge.svc.accounts.create({ ...row, eabKid: eab.kid }), { status: 'keyBlocked' });
    assert.equal(await edge.svc.accounts.get(row.id), undefined);
    const { acme, id } = await accountWith(await ecKeys());
    const before = await edge.svc.accounts.get(id);
    assert.equal(
      await edge.svc.accounts.changeKey(id, before!.thumbprint, row.jwk, row.thumbprint, keyDigest),
      false,
    );
    assert.deepEqual(await edge.svc.accounts.get(id), before);
    assert.equal((await acme.post(acme.kid!, '')).status, 200);
  });

  it('keeps the key digest through keyChange, so a block of the new key finds the account', async () => {
    const { acme, id } = await accountWith(await ecKeys());
    const next = await ecKeys();
    const to = await acmeKeyOf(next);
    // RFC 8555 §7.3.5: the inner JWS by the new key over {account, oldKey}
    const res = await acme.post(acme.dir.keyChange, await acme.keyChangeInner(to));
    acme.key = to;
    assert.equal(res.status, 200, await res.text());
    assert.equal((await edge.svc.accounts.get(id))?.keyDigest, await jwkDigest(to.jwk));
    const answer = await json(await admin('POST', '/blocked-keys', { jwk: to.jwk }), 201);
    assert.deepEqual(answer.deactivatedAccounts, [id]);
    await assertUnusable(acme);
  });
});
