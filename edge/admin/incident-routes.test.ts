// Bulk revocation and blocked keys through the admin API, in process, with a signer stand-in whose
// answers each test chooses (revoked, already revoked, refused, away after N calls): selection by
// account, key, pattern and issuance window; the dry run; the bound per call and the rerun that
// finishes; the change log; blocking keys by hash, JWK and PEM. The real signer and its CRL are in
// test/integration/incident.test.ts.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { exportJWK } from 'jose';
import type { RevokeOutcome, SignerClient } from '../../edge/relay/signer-client.ts';
import { b64uDecode, b64uEncode, pemToDers, toHex } from '../../shared/encoding.ts';
import { AcmeProblem, type Identifier } from '../../shared/problems.ts';
import { newKey, TestAcme } from '../../test/support/acme.ts';
import { issueLeaf, makeIssuer, storeCert, type TestIssuer } from '../../test/support/ari.ts';
import { type InprocEdge, startInprocEdge } from '../../test/support/edge-app.ts';
import { jwkDigest } from '../acme/compromised-keys.ts';

const H = 3_600_000;
let edge: InprocEdge;
let token: string;
let iss: TestIssuer;
let accountA: string;
let accountB: string;
/** the ACME client of account A */
let clientA: TestAcme;

/** What the signer stand-in answers: per call, in order; `revoked` once the script runs out. */
let script: ((serial: string) => RevokeOutcome)[] = [];
const signerCalls: { serial: string; reason: number }[] = [];
const signer: SignerClient = {
  sign: async () => ({ status: 'unavailable', detail: 'not in this test' }),
  revoke: async (serial, reason) => {
    signerCalls.push({ serial, reason });
    const next = script.shift();
    return next ? next(serial) : { status: 'revoked' };
  },
  crl: async () => new Uint8Array(),
};
const away = (): RevokeOutcome => ({ status: 'unavailable', detail: 'connection refused' });

function call(method: string, path: string, body?: unknown) {
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

async function cert(account: string, names: string[], keys?: CryptoKeyPair) {
  const ids: Identifier[] = names.map((value) => ({ type: 'dns', value }));
  const pem = await issueLeaf(iss, ids, Date.now() - H, Date.now() + 23 * H, keys);
  return storeCert(edge.svc, account, pem, ids);
}

async function changes(action: string) {
  const { changes } = await json(await call('GET', '/changes?limit=1000'));
  return (changes as { action: string; target: string; after: Record<string, unknown> }[]).filter(
    (x) => x.action === action,
  );
}

async function live(serials: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const s of serials) if (!(await edge.svc.certificates.bySerial(s))?.revokedAt) out.push(s);
  return out;
}

const ecKeys = () =>
  crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ]) as Promise<CryptoKeyPair>;

describe('admin bulk revocation and blocked keys', () => {
  before(async () => {
    edge = await startInprocEdge({ signer });
    const { admin } = await edge.svc.stores();
    const t = await admin.newToken('incident-test', 'write');
    await admin.commit([t.stmt], {
      tokenId: 'cli',
      action: 'token.create',
      target: 't',
      before: null,
      after: null,
    });
    token = t.token;
    iss = await makeIssuer('Incident');
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const c = await new TestAcme(edge.fetch, edge.directoryUrl, await newKey()).init();
      await c.newAccount();
      ids.push(c.kid!.split('/').pop()!);
      clientA ??= c;
    }
    [accountA, accountB] = ids as [string, string];
  });
  after(() => edge.close());
  beforeEach(() => {
    script = [];
    signerCalls.length = 0;
  });

  describe('refuses a bad request and changes nothing', () => {
    const cases: [string, Record<string, unknown>, number, string][] = [
      ['no selector', { reason: 0 }, 400, 'account'],
      ['no reason', { pattern: '.x.test' }, 400, 'reason'],
      ['reason 7 (not a CRL reason)', { pattern: '.x.test', reason: 7 }, 400, 'reason'],
      ['reason 2 (cACompromise, not for a leaf)', { pattern: '.x.test', reason: 2 }, 400, 'reason'],
      ['a key hash that is not SHA-256', { spkiSha256: 'abcd', reason: 1 }, 400, 'spkiSha256'],
      ['a pattern that is no rule', { pattern: 'a*b.test', reason: 0 }, 400, 'pattern'],
      [
        'a window that ends before it starts',
        { issuedAfter: '2030-01-02T00:00:00Z', issuedBefore: '2030-01-01T00:00:00Z', reason: 0 },
        400,
        'issuedBefore',
      ],
      ['a date that is no date', { issuedAfter: 'yesterday', reason: 0 }, 400, 'issuedAfter'],
      ['an unknown field', { pattern: '.x.test', reason: 0, serials: [] }, 400, 'serials'],
      ['a limit above the maximum per call', { pattern: '.x.test', reason: 0, limit: 201 }, 400, 'limit'],
      ['an unknown account', { account: 'nope', reason: 0 }, 404, ''],
    ];
    for (const [name, body, status, field] of cases) {
      it(`refuses ${name}`, async () => {
        const before = await edge.snapshot();
        const res = await call('POST', '/bulk-revoke', body);
        const doc = await json(res, status);
        assert.match(res.headers.get('content-type') ?? '', /problem\+json/);
        if (field) assert.equal(doc.field, field, doc.detail);
        assert.ok(doc.detail.length > 10);
        assert.equal(await edge.snapshot(), before);
        assert.equal(signerCalls.length, 0);
        assert.equal((await changes('certificate.bulk-revoke')).length, 0);
      });
    }
  });

  it("a dry run by account lists exactly that account's live certificates and changes nothing", async () => {
    const a = [await cert(accountA, ['a1.dry.test']), await cert(accountA, ['a2.dry.test'])];
    await cert(accountB, ['b1.dry.test']);
    const expired = await cert(accountA, ['old.dry.test']);
    await edge.svc.database.client!.execute({
      sql: 'UPDATE certificates SET not_after = ? WHERE id = ?',
      args: [Date.now() - 1000, expired.id],
    });
    const before = await edge.snapshot();
    const changesBefore = (await json(await call('GET', '/changes?limit=1000'))).changes.length;
    const res = await json(
      await call('POST', '/bulk-revoke', { account: accountA, reason: 0, dryRun: true }),
    );
    const mine = (
      await edge.svc.database.client!.execute({
        sql: 'SELECT serial FROM certificates WHERE account_id = ? AND revoked_at IS NULL AND not_after > ? ORDER BY id',
        args: [accountA, Date.now()],
      })
    ).rows.map((r) => String(r.serial));
    assert.deepEqual(
      res.serials,
      mine,
      'exactly the live certificates of account A, in the order a run takes them',
    );
    for (const c of a) assert.ok(res.serials.includes(c.serial));
    assert.ok(!res.serials.includes(expired.serial), 'an expired certificate is not selected');
    assert.equal(res.matched, mine.length);
    assert.equal(res.dryRun, true);
    assert.equal(res.maxPerCall, 200);
    assert.equal(signerCalls.length, 0, 'the signer is not asked');
    assert.equal(await edge.snapshot(), before, 'no row changed');
    assert.equal(
      (await json(await call('GET', '/changes?limit=1000'))).changes.length,
      changesBefore,
      'no change-log entry',
    );
    // clean up for the tests below
    await json(await call('POST', '/bulk-revoke', { pattern: '.dry.test', reason: 4 }));
  });

  it('revokes by pattern with the semantics of renew-now, records one change-log entry, and a rerun finds nothing', async () => {
    const hit = [await cert(accountA, ['w1.pat.test']), await cert(accountB, ['x.test', 'w2.pat.test'])];
    const miss = await cert(accountA, ['pat.test']); // ".pat.test" is a suffix rule: the parent itself is not under it
    const res = await json(await call('POST', '/bulk-revoke', { pattern: '.pat.test', reason: 4 }));
    assert.deepEqual(
      res.results.map((r: { serial: string }) => r.serial).sort(),
      hit.map((c) => c.serial).sort(),
    );
    assert.ok(res.results.every((r: { outcome: string }) => r.outcome === 'revoked'));
    assert.deepEqual(res.counts, { revoked: 2, alreadyRevoked: 0, failed: 0, notAttempted: 0 });
    assert.equal(res.complete, true);
    assert.equal(res.remaining, 0);
    assert.deepEqual(await live(hit.map((c) => c.serial)), []);
    assert.deepEqual(await live([miss.serial]), [miss.serial]);
    assert.deepEqual(
      signerCalls.map((x) => x.reason),
      [4, 4],
    );
    const log = (await changes('certificate.bulk-revoke')).filter((x) => x.target.includes('pat.test'));
    assert.equal(log.length, 1, 'one change-log entry for the action');
    assert.equal(log[0]!.target, 'bulk-revoke:pattern=.pat.test');
    assert.deepEqual((log[0]!.after.revoked as string[]).sort(), hit.map((c) => c.serial).sort());
    const again = await json(await call('POST', '/bulk-revoke', { pattern: '.pat.test', reason: 4 }));
    assert.equal(again.matched, 0);
    assert.equal(again.complete, true);
  });

  it('revokes by key across accounts with keyCompromise and blocks the key, which newAccount then refuses', async () => {
    const keys = await ecKeys();
    const one = await cert(accountA, ['k1.key.test'], keys);
    const two = await cert(accountB, ['k2.key.test'], keys);
    const other = await cert(accountA, ['k3.key.test']);
    const spki = one.spkiSha256;
    assert.equal(two.spkiSha256, spki);
    const hex = toHex(b64uDecode(spki));
    const dry = await json(await call('POST', '/bulk-revoke', { spkiSha256: hex, reason: 1, dryRun: true }));
    assert.deepEqual([...dry.serials].sort(), [one.serial, two.serial].sort(), 'hex names the same key');
    const res = await json(await call('POST', '/bulk-revoke', { spkiSha256: spki, reason: 1 }));
    assert.equal(res.counts.revoked, 2);
    assert.deepEqual(res.blockedKeys, [spki]);
    assert.deepEqual(await live([one.serial, two.serial, other.serial]), [other.serial]);
    const shown = await json(await call('GET', `/blocked-keys/${hex}`));
    assert.equal(shown.spkiSha256Hex, hex);
    assert.equal(shown.source, 'admin-bulk-revoke');
    // the same key as an account JWK
    const jwk = await exportJWK(keys.publicKey);
    const acme = await new TestAcme(edge.fetch, edge.directoryUrl, {
      alg: 'ES256',
      privateKey: keys.privateKey,
      jwk,
    }).init();
    const refused = await acme.newAccount();
    assert.equal(refused.status, 400);
    const doc = await refused.json();
    assert.equal(doc.type, 'urn:ietf:params:acme:error:badPublicKey');
    assert.match(doc.detail, /reported compromised/);
  });

  it('selects by issuance window (issued at or after, before), combined with an account', async () => {
    const early = await cert(accountA, ['e.win.test']);
    const inside = await cert(accountA, ['i.win.test']);
    const otherAccount = await cert(accountB, ['o.win.test']);
    const late = await cert(accountA, ['l.win.test']);
    const t0 = Date.parse('2031-01-01T10:00:00Z');
    const set = (id: string, at: number) =>
      edge.svc.database.client!.execute({
        sql: 'UPDATE certificates SET created_at = ? WHERE id = ?',
        args: [at, id],
      });
    await set(early.id, t0 - 1);
    await set(inside.id, t0);
    await set(otherAccount.id, t0 + 1000);
    await set(late.id, t0 + H);
    const res = await json(
      await call('POST', '/bulk-revoke', {
        account: accountA,
        issuedAfter: '2031-01-01T10:00:00Z',
        issuedBefore: '2031-01-01T11:00:00Z',
        reason: 5,
      }),
    );
    assert.deepEqual(
      res.results.map((r: { serial: string }) => r.serial),
      [inside.serial],
    );
    assert.deepEqual(await live([early.serial, inside.serial, otherAccount.serial, late.serial]), [
      early.serial,
      otherAccount.serial,
      late.serial,
    ]);
    await json(await call('POST', '/bulk-revoke', { pattern: '.win.test', reason: 5 }));
  });

  it('is bounded per call and resumable: limit 2 of 5 revokes 2, lists 3 remaining, and reruns finish', async () => {
    const certs = [];
    for (let i = 0; i < 5; i++) certs.push(await cert(accountB, [`n${i}.bound.test`]));
    const req = { pattern: '.bound.test', reason: 0, limit: 2 };
    const dry = await json(await call('POST', '/bulk-revoke', { ...req, dryRun: true }));
    assert.equal(dry.matched, 5);
    assert.equal(dry.serials.length, 2);
    assert.equal(dry.beyondLimit, 3);
    const first = await json(await call('POST', '/bulk-revoke', req));
    assert.deepEqual(
      first.results.map((r: { serial: string }) => r.serial),
      dry.serials,
      'the run takes what the dry run showed',
    );
    assert.equal(first.remaining, 3);
    assert.equal(first.complete, false);
    assert.equal(first.remainingSerials.length, 3);
    assert.match(first.next, /run the same request again/);
    const second = await json(await call('POST', '/bulk-revoke', req));
    assert.deepEqual(
      second.results.map((r: { serial: string }) => r.serial),
      first.remainingSerials.slice(0, 2),
    );
    const third = await json(await call('POST', '/bulk-revoke', req));
    assert.equal(third.counts.revoked, 1);
    assert.equal(third.complete, true);
    assert.deepEqual(await live(certs.map((c) => c.serial)), []);
    assert.equal(
      (await changes('certificate.bulk-revoke')).filter((x) => x.target.includes('bound.test')).length,
      3,
      'one entry per run',
    );
  });

  it('a signer that goes away mid-run: what was revoked stays revoked, the rest is listed, a rerun finishes', async () => {
    const certs = [];
    for (let i = 0; i < 4; i++) certs.push(await cert(accountA, [`s${i}.outage.test`]));
    script = [() => ({ status: 'revoked' }), away];
    const first = await json(await call('POST', '/bulk-revoke', { pattern: '.outage.test', reason: 4 }));
    assert.deepEqual(
      first.results.map((r: { outcome: string }) => r.outcome),
      ['revoked', 'notAttempted', 'notAttempted', 'notAttempted'],
    );
    assert.match(first.stoppedBecause, /signer is unavailable: connection refused/);
    assert.equal(signerCalls.length, 2, 'no further call once the signer is away');
    assert.equal(first.remaining, 3);
    assert.deepEqual(
      first.remainingSerials,
      first.results.slice(1).map((r: { serial: string }) => r.serial),
    );
    assert.deepEqual((await live(certs.map((c) => c.serial))).sort(), [...first.remainingSerials].sort());
    // The signer had revoked the second one before answering (a lost answer): the rerun counts it
    // as already revoked, not as an error.
    script = [
      (serial) => ({
        status: 'refused',
        problem: new AcmeProblem('alreadyRevoked', `certificate ${serial} is already revoked`),
      }),
    ];
    const second = await json(await call('POST', '/bulk-revoke', { pattern: '.outage.test', reason: 4 }));
    assert.deepEqual(second.counts, { revoked: 2, alreadyRevoked: 1, failed: 0, notAttempted: 0 });
    assert.equal(second.complete, true);
    assert.deepEqual(await live(certs.map((c) => c.serial)), []);
    const log = (await changes('certificate.bulk-revoke')).filter((x) => x.target.includes('outage.test'));
    assert.equal(log.length, 2);
    assert.match(String(log[1]!.after.stoppedBecause), /unavailable/, 'the interrupted run is on record too');
  });

  it('reports a serial the signer refuses as failed and goes on with the rest', async () => {
    const certs = [await cert(accountA, ['f1.refuse.test']), await cert(accountA, ['f2.refuse.test'])];
    script = [
      () => ({
        status: 'refused',
        problem: new AcmeProblem('unauthorized', 'the signer refused: no certificate with serial x'),
      }),
    ];
    const res = await json(await call('POST', '/bulk-revoke', { pattern: '.refuse.test', reason: 0 }));
    assert.deepEqual(
      res.results.map((r: { outcome: string }) => r.outcome),
      ['failed', 'revoked'],
    );
    assert.match(res.results[0].detail, /no certificate with serial/);
    assert.equal(res.complete, false);
    assert.deepEqual(res.remainingSerials, [res.results[0].serial]);
    assert.equal((await live(certs.map((c) => c.serial))).length, 1);
  });

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
    const c = await cert(accountB, ['pem.block.test'], leafKeys);
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
    assert.equal((await changes('key.block')).length, 2);
    assert.equal((await changes('key.unblock')).length, 1);
    // unblocked: the key makes an account again
    const acme = await new TestAcme(edge.fetch, edge.directoryUrl, k1).init();
    assert.equal((await acme.newAccount()).status, 201);
  });

  it('a single admin revocation with keyCompromise blocks the key and notes it in the change log', async () => {
    const keys = await ecKeys();
    const c = await cert(accountB, ['single.kc.test'], keys);
    const res = await json(await call('POST', `/certificates/${c.serial}/revoke`, { reason: 1 }));
    assert.equal(res.blockedKey, c.spkiSha256);
    const shown = await json(await call('GET', `/blocked-keys/${c.spkiSha256}`));
    assert.equal(shown.source, 'admin-revoke');
    assert.equal(shown.serial, c.serial);
    const log = (await changes('certificate.revoke')).find((x) => x.target === `certificate:${c.serial}`);
    assert.equal(log?.after.blockedKey, c.spkiSha256);
    const other = await cert(accountB, ['single.sup.test']);
    const plain = await json(await call('POST', `/certificates/${other.serial}/revoke`, { reason: 4 }));
    assert.equal(plain.blockedKey, undefined, 'another reason blocks nothing');
    await json(await call('GET', `/blocked-keys/${other.spkiSha256}`), 404);
  });

  it('ACME revokeCert by the owning account (kid) with keyCompromise blocks the key; another reason does not', async () => {
    const keys = await ecKeys();
    const c = await cert(accountA, ['acme.kc.test'], keys);
    const der = b64uEncode(pemToDers(c.chainPem)[0]!);
    const res = await clientA.post(clientA.dir.revokeCert, { certificate: der, reason: 1 });
    assert.equal(res.status, 200, await res.text());
    const shown = await json(await call('GET', `/blocked-keys/${c.spkiSha256}`));
    assert.equal(shown.source, 'acme-revoke');
    assert.equal(shown.accountId, accountA);
    const other = await cert(accountA, ['acme.sup.test']);
    const res2 = await clientA.post(clientA.dir.revokeCert, {
      certificate: b64uEncode(pemToDers(other.chainPem)[0]!),
      reason: 4,
    });
    assert.equal(res2.status, 200, await res2.text());
    await json(await call('GET', `/blocked-keys/${other.spkiSha256}`), 404);
  });
});
