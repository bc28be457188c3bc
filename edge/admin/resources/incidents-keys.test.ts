// Blocked keys through the admin API, in process: blocking by hash, JWK or PEM, showing, listing and
// unblocking, each in the change log; a single admin revocation and an ACME revokeCert with
// keyCompromise block the key. Bulk revocation: incidents.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { exportJWK } from 'jose';
import { b64uEncode, pemToDers } from '../../../shared/encoding.ts';
import { newKey, TestAcme } from '../../../test/support/acme.ts';
import { json } from '../../../test/support/admin-api.ts';
import { ecKeys, type IncidentEdge, startIncidentEdge } from '../../../test/support/admin-incident.ts';
import { jwkDigest } from '../../acme/compromised-keys.ts';

let rig: IncidentEdge;
const call = (method: string, path: string, body?: unknown) => rig.call(method, path, body);
const cert = (account: string, names: string[], keys?: CryptoKeyPair) => rig.cert(account, names, keys);

describe('admin blocked keys', () => {
  before(async () => {
    rig = await startIncidentEdge();
  });
  after(() => rig.edge.close());

  it('blocks a key by hash, JWK or PEM (once), shows, lists and unblocks it, each in the change log', async () => {
    const k1 = await newKey();
    const byJwk = await json(
      await call('POST', '/blocked-keys', { jwk: k1.jwk, note: 'laptop stolen' }),
      201,
    );
    assert.equal(byJwk.spkiSha256, await jwkDigest(k1.jwk));
    assert.equal(byJwk.source, 'admin-block');
    const again = await json(await call('POST', '/blocked-keys', { spkiSha256: byJwk.spkiSha256Hex }), 409);
    assert.match(again.detail, /already blocked/);
    const leafKeys = await ecKeys();
    const c = await cert(rig.accountB, ['pem.block.test'], leafKeys);
    const byPem = await json(await call('POST', '/blocked-keys', { pem: c.chainPem }), 201);
    assert.equal(
      byPem.spkiSha256,
      await jwkDigest(await exportJWK(leafKeys.publicKey)),
      "the certificate's key, as its JWK names it",
    );
    const spkiPem = `-----BEGIN PUBLIC KEY-----\n${Buffer.from(await crypto.subtle.exportKey('spki', leafKeys.publicKey)).toString('base64')}\n-----END PUBLIC KEY-----\n`;
    assert.equal((await json(await call('POST', '/blocked-keys', { pem: spkiPem }), 409)).field, undefined);
    const priv = await json(
      await call('POST', '/blocked-keys', {
        pem: '-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n',
      }),
      400,
    );
    assert.match(priv.detail, /private key/);
    assert.doesNotMatch(priv.detail, /MIGH/);
    const privJwk = await json(await call('POST', '/blocked-keys', { jwk: { ...k1.jwk, d: 'secret' } }), 400);
    assert.match(privJwk.detail, /private key/);
    assert.doesNotMatch(privJwk.detail, /secret/);
    await json(await call('POST', '/blocked-keys', { spkiSha256: 'x', jwk: k1.jwk }), 400);
    const list = await json(await call('GET', '/blocked-keys'));
    assert.ok(list.blockedKeys.some((b: { spkiSha256: string }) => b.spkiSha256 === byPem.spkiSha256));
    await json(await call('DELETE', `/blocked-keys/${byJwk.spkiSha256}`));
    await json(await call('GET', `/blocked-keys/${byJwk.spkiSha256}`), 404);
    await json(await call('DELETE', `/blocked-keys/${byJwk.spkiSha256}`), 404);
    assert.equal((await rig.changes('key.block')).length, 2);
    assert.equal((await rig.changes('key.unblock')).length, 1);
    // unblocked: the key makes an account again
    const acme = await new TestAcme(rig.edge.fetch, rig.edge.directoryUrl, k1).init();
    assert.equal((await acme.newAccount()).status, 201);
  });

  it('a single admin revocation with keyCompromise blocks the key and notes it in the change log', async () => {
    const keys = await ecKeys();
    const c = await cert(rig.accountB, ['single.kc.test'], keys);
    const res = await json(await call('POST', `/certificates/${c.serial}/revoke`, { reason: 1 }));
    assert.equal(res.blockedKey, c.spkiSha256);
    const shown = await json(await call('GET', `/blocked-keys/${c.spkiSha256}`));
    assert.equal(shown.source, 'admin-revoke');
    assert.equal(shown.serial, c.serial);
    const log = (await rig.changes('certificate.revoke')).find((x) => x.target === `certificate:${c.serial}`);
    assert.equal(log?.after.blockedKey, c.spkiSha256);
    const other = await cert(rig.accountB, ['single.sup.test']);
    const plain = await json(await call('POST', `/certificates/${other.serial}/revoke`, { reason: 4 }));
    assert.equal(plain.blockedKey, undefined, 'another reason blocks nothing');
    await json(await call('GET', `/blocked-keys/${other.spkiSha256}`), 404);
  });

  it('ACME revokeCert by the owning account (kid) with keyCompromise blocks the key; another reason does not', async () => {
    const keys = await ecKeys();
    const c = await cert(rig.accountA, ['acme.kc.test'], keys);
    const der = b64uEncode(pemToDers(c.chainPem)[0]!);
    const res = await rig.clientA.post(rig.clientA.dir.revokeCert, { certificate: der, reason: 1 });
    assert.equal(res.status, 200, await res.text());
    const shown = await json(await call('GET', `/blocked-keys/${c.spkiSha256}`));
    assert.equal(shown.source, 'acme-revoke');
    assert.equal(shown.accountId, rig.accountA);
    const other = await cert(rig.accountA, ['acme.sup.test']);
    const res2 = await rig.clientA.post(rig.clientA.dir.revokeCert, {
      certificate: b64uEncode(pemToDers(other.chainPem)[0]!),
      reason: 4,
    });
    assert.equal(res2.status, 200, await res2.text());
    await json(await call('GET', `/blocked-keys/${other.spkiSha256}`), 404);
  });
});
