// Bulk revocation through the admin API, in process, with a signer stand-in whose answers each test
// chooses (revoked, already revoked, refused, away after N calls): selection by account, key,
// pattern and issuance window; the dry run; the bound per call and the rerun that finishes; the
// change log. Blocked keys: incidents-keys.test.ts. The real signer and its CRL are in
// test/integration/incident.test.ts.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { exportJWK } from 'jose';
import type { RevokeOutcome } from '../../../edge/relay/signer-client.ts';
import { b64uDecode, toHex } from '../../../shared/encoding.ts';
import { AcmeProblem } from '../../../shared/problems.ts';
import { TestAcme } from '../../../test/support/acme.ts';
import { json } from '../../../test/support/admin-api.ts';
import { ecKeys, type IncidentEdge, startIncidentEdge } from '../../../test/support/admin-incident.ts';

const H = 3_600_000;
let rig: IncidentEdge;
const call = (method: string, path: string, body?: unknown) => rig.call(method, path, body);
const cert = (account: string, names: string[], keys?: CryptoKeyPair) => rig.cert(account, names, keys);
const away = (): RevokeOutcome => ({ status: 'unavailable', detail: 'connection refused' });

describe('admin bulk revocation', () => {
  before(async () => {
    rig = await startIncidentEdge();
  });
  after(() => rig.edge.close());
  beforeEach(() => {
    rig.signer.script.length = 0;
    rig.signer.calls.length = 0;
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
        const before = await rig.edge.snapshot();
        const res = await call('POST', '/bulk-revoke', body);
        const doc = await json(res, status);
        assert.match(res.headers.get('content-type') ?? '', /problem\+json/);
        if (field) assert.equal(doc.field, field, doc.detail);
        assert.ok(doc.detail.length > 10);
        assert.equal(await rig.edge.snapshot(), before);
        assert.equal(rig.signer.calls.length, 0);
        assert.equal((await rig.changes('certificate.bulk-revoke')).length, 0);
      });
    }
  });

  it("a dry run by account lists exactly that account's live certificates and changes nothing", async () => {
    const a = [await cert(rig.accountA, ['a1.dry.test']), await cert(rig.accountA, ['a2.dry.test'])];
    await cert(rig.accountB, ['b1.dry.test']);
    const expired = await cert(rig.accountA, ['old.dry.test']);
    await rig.edge.svc.database.client!.execute({
      sql: 'UPDATE certificates SET not_after = ? WHERE id = ?',
      args: [Date.now() - 1000, expired.id],
    });
    const before = await rig.edge.snapshot();
    const changesBefore = (await json(await call('GET', '/changes?limit=1000'))).changes.length;
    const res = await json(
      await call('POST', '/bulk-revoke', { account: rig.accountA, reason: 0, dryRun: true }),
    );
    const mine = (
      await rig.edge.svc.database.client!.execute({
        sql: 'SELECT serial FROM certificates WHERE account_id = ? AND revoked_at IS NULL AND not_after > ? ORDER BY id',
        args: [rig.accountA, Date.now()],
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
    assert.equal(rig.signer.calls.length, 0, 'the signer is not asked');
    assert.equal(await rig.edge.snapshot(), before, 'no row changed');
    assert.equal(
      (await json(await call('GET', '/changes?limit=1000'))).changes.length,
      changesBefore,
      'no change-log entry',
    );
    // clean up for the tests below
    await json(await call('POST', '/bulk-revoke', { pattern: '.dry.test', reason: 4 }));
  });

  it('revokes by pattern with the semantics of renew-now, records one change-log entry, and a rerun finds nothing', async () => {
    const hit = [
      await cert(rig.accountA, ['w1.pat.test']),
      await cert(rig.accountB, ['x.test', 'w2.pat.test']),
    ];
    const miss = await cert(rig.accountA, ['pat.test']); // ".pat.test" is a suffix rule: the parent itself is not under it
    const res = await json(await call('POST', '/bulk-revoke', { pattern: '.pat.test', reason: 4 }));
    assert.deepEqual(
      res.results.map((r: { serial: string }) => r.serial).sort(),
      hit.map((c) => c.serial).sort(),
    );
    assert.ok(res.results.every((r: { outcome: string }) => r.outcome === 'revoked'));
    assert.deepEqual(res.counts, { revoked: 2, alreadyRevoked: 0, failed: 0, notAttempted: 0 });
    assert.equal(res.complete, true);
    assert.equal(res.remaining, 0);
    assert.deepEqual(await rig.live(hit.map((c) => c.serial)), []);
    assert.deepEqual(await rig.live([miss.serial]), [miss.serial]);
    assert.deepEqual(
      rig.signer.calls.map((x) => x.reason),
      [4, 4],
    );
    const log = (await rig.changes('certificate.bulk-revoke')).filter((x) => x.target.includes('pat.test'));
    assert.equal(log.length, 1, 'one change-log entry for the action');
    assert.equal(log[0]!.target, 'bulk-revoke:pattern=.pat.test');
    assert.deepEqual((log[0]!.after.revoked as string[]).sort(), hit.map((c) => c.serial).sort());
    const again = await json(await call('POST', '/bulk-revoke', { pattern: '.pat.test', reason: 4 }));
    assert.equal(again.matched, 0);
    assert.equal(again.complete, true);
  });

  it('revokes by key across accounts with keyCompromise and blocks the key, which newAccount then refuses', async () => {
    const keys = await ecKeys();
    const one = await cert(rig.accountA, ['k1.key.test'], keys);
    const two = await cert(rig.accountB, ['k2.key.test'], keys);
    const other = await cert(rig.accountA, ['k3.key.test']);
    const spki = one.spkiSha256;
    assert.equal(two.spkiSha256, spki);
    const hex = toHex(b64uDecode(spki));
    const dry = await json(await call('POST', '/bulk-revoke', { spkiSha256: hex, reason: 1, dryRun: true }));
    assert.deepEqual([...dry.serials].sort(), [one.serial, two.serial].sort(), 'hex names the same key');
    const res = await json(await call('POST', '/bulk-revoke', { spkiSha256: spki, reason: 1 }));
    assert.equal(res.counts.revoked, 2);
    assert.deepEqual(res.blockedKeys, [spki]);
    assert.deepEqual(await rig.live([one.serial, two.serial, other.serial]), [other.serial]);
    const shown = await json(await call('GET', `/blocked-keys/${hex}`));
    assert.equal(shown.spkiSha256Hex, hex);
    assert.equal(shown.source, 'admin-bulk-revoke');
    // the same key as an account JWK
    const jwk = await exportJWK(keys.publicKey);
    const acme = await new TestAcme(rig.edge.fetch, rig.edge.directoryUrl, {
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
    const early = await cert(rig.accountA, ['e.win.test']);
    const inside = await cert(rig.accountA, ['i.win.test']);
    const otherAccount = await cert(rig.accountB, ['o.win.test']);
    const late = await cert(rig.accountA, ['l.win.test']);
    const t0 = Date.parse('2031-01-01T10:00:00Z');
    const set = (id: string, at: number) =>
      rig.edge.svc.database.client!.execute({
        sql: 'UPDATE certificates SET created_at = ? WHERE id = ?',
        args: [at, id],
      });
    await set(early.id, t0 - 1);
    await set(inside.id, t0);
    await set(otherAccount.id, t0 + 1000);
    await set(late.id, t0 + H);
    const res = await json(
      await call('POST', '/bulk-revoke', {
        account: rig.accountA,
        issuedAfter: '2031-01-01T10:00:00Z',
        issuedBefore: '2031-01-01T11:00:00Z',
        reason: 5,
      }),
    );
    assert.deepEqual(
      res.results.map((r: { serial: string }) => r.serial),
      [inside.serial],
    );
    assert.deepEqual(await rig.live([early.serial, inside.serial, otherAccount.serial, late.serial]), [
      early.serial,
      otherAccount.serial,
      late.serial,
    ]);
    await json(await call('POST', '/bulk-revoke', { pattern: '.win.test', reason: 5 }));
  });

  it('is bounded per call and resumable: limit 2 of 5 revokes 2, lists 3 remaining, and reruns finish', async () => {
    const certs = [];
    for (let i = 0; i < 5; i++) certs.push(await cert(rig.accountB, [`n${i}.bound.test`]));
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
    assert.deepEqual(await rig.live(certs.map((c) => c.serial)), []);
    assert.equal(
      (await rig.changes('certificate.bulk-revoke')).filter((x) => x.target.includes('bound.test')).length,
      3,
      'one entry per run',
    );
  });

  it('a signer that goes away mid-run: what was revoked stays revoked, the rest is listed, a rerun finishes', async () => {
    const certs = [];
    for (let i = 0; i < 4; i++) certs.push(await cert(rig.accountA, [`s${i}.outage.test`]));
    rig.signer.script.push(() => ({ status: 'revoked' }), away);
    const first = await json(await call('POST', '/bulk-revoke', { pattern: '.outage.test', reason: 4 }));
    assert.deepEqual(
      first.results.map((r: { outcome: string }) => r.outcome),
      ['revoked', 'notAttempted', 'notAttempted', 'notAttempted'],
    );
    assert.match(first.stoppedBecause, /signer is unavailable: connection refused/);
    assert.equal(rig.signer.calls.length, 2, 'no further call once the signer is away');
    assert.equal(first.remaining, 3);
    assert.deepEqual(
      first.remainingSerials,
      first.results.slice(1).map((r: { serial: string }) => r.serial),
    );
    assert.deepEqual((await rig.live(certs.map((c) => c.serial))).sort(), [...first.remainingSerials].sort());
    // The signer had revoked the second one before answering (a lost answer): the rerun counts it
    // as already revoked, not as an error.
    rig.signer.script.push((serial) => ({
      status: 'refused',
      problem: new AcmeProblem('alreadyRevoked', `certificate ${serial} is already revoked`),
    }));
    const second = await json(await call('POST', '/bulk-revoke', { pattern: '.outage.test', reason: 4 }));
    assert.deepEqual(second.counts, { revoked: 2, alreadyRevoked: 1, failed: 0, notAttempted: 0 });
    assert.equal(second.complete, true);
    assert.deepEqual(await rig.live(certs.map((c) => c.serial)), []);
    const log = (await rig.changes('certificate.bulk-revoke')).filter((x) =>
      x.target.includes('outage.test'),
    );
    assert.equal(log.length, 2);
    assert.match(String(log[1]!.after.stoppedBecause), /unavailable/, 'the interrupted run is on record too');
  });

  it('reports a serial the signer refuses as failed and goes on with the rest', async () => {
    const certs = [
      await cert(rig.accountA, ['f1.refuse.test']),
      await cert(rig.accountA, ['f2.refuse.test']),
    ];
    rig.signer.script.push(() => ({
      status: 'refused',
      problem: new AcmeProblem('unauthorized', 'the signer refused: no certificate with serial x'),
    }));
    const res = await json(await call('POST', '/bulk-revoke', { pattern: '.refuse.test', reason: 0 }));
    assert.deepEqual(
      res.results.map((r: { outcome: string }) => r.outcome),
      ['failed', 'revoked'],
    );
    assert.match(res.results[0].detail, /no certificate with serial/);
    assert.equal(res.complete, false);
    assert.deepEqual(res.remainingSerials, [res.results[0].serial]);
    assert.equal((await rig.live(certs.map((c) => c.serial))).length, 1);
  });
});
