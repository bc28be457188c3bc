// "Renew now" through the admin API, in process: one certificate, every certificate of an issuer,
// every certificate matching a name pattern; the windows ARI then answers; the change log; bad
// requests; scheduled revocation once replaced and at a deadline, with a recording signer stand-in.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import type { Identifier } from '../../../shared/problems.ts';
import { certIdOfPem, newKey, TestAcme } from '../../../test/support/acme.ts';
import { adminCall, adminToken, revocationSigner } from '../../../test/support/admin-api.ts';
import { issueLeaf, makeIssuer, storeCert, type TestIssuer } from '../../../test/support/ari.ts';
import { type InprocEdge, startInprocEdge } from '../../../test/support/edge-app.ts';

const H = 3_600_000;
let edge: InprocEdge;
let token: string;
let client: TestAcme;
const { signer, calls: revoked } = revocationSigner();
const call = (method: string, path: string, body?: unknown) => adminCall(edge, token, method, path, body);

async function cert(iss: TestIssuer, ids: Identifier[]): Promise<{ pem: string; serial: string }> {
  const pem = await issueLeaf(iss, ids, Date.now() - H, Date.now() + 23 * H);
  const row = await storeCert(edge.svc, client.kid!.split('/').pop()!, pem, ids);
  return { pem, serial: row.serial };
}

const renewNow = async (pem: string) => TestAcme.shouldRenew(await client.renewalInfo(pem));

describe('admin renew-now', () => {
  let a: TestIssuer;
  let b: TestIssuer;
  before(async () => {
    edge = await startInprocEdge({ signer });
    token = (await adminToken(edge.svc, 'write', 'renewal-test')).token;
    client = await new TestAcme(edge.fetch, edge.directoryUrl, await newKey()).init();
    await client.newAccount();
    [a, b] = [await makeIssuer('A'), await makeIssuer('B')];
  });
  after(() => edge.close());

  it('moves one certificate (by serial) into the past, with an explanation, and logs the change', async () => {
    const one = await cert(a, [{ type: 'dns', value: 'one.corp.test' }]);
    const other = await cert(a, [{ type: 'dns', value: 'two.corp.test' }]);
    assert.equal(await renewNow(one.pem), false);
    const res = await call('POST', '/renew-now', {
      serial: one.serial,
      explanationUrl: 'https://status.example/incident-1',
    });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal((await res.json()).count, 1);
    const info = await client.renewalInfo(one.pem);
    assert.ok(info.window!.end < Date.now(), 'the window lies in the past');
    assert.equal(info.body.explanationURL, 'https://status.example/incident-1');
    assert.equal(await renewNow(other.pem), false, 'other certificates keep their window');
    const log = await (
      await call('GET', `/changes?target=${encodeURIComponent(`renew-now:serial:${one.serial}`)}`)
    ).json();
    assert.equal(log.changes[0].action, 'certificate.renew-now');
  });

  it("moves every certificate of an issuer, and none of another issuer's", async () => {
    const mine = [
      await cert(b, [{ type: 'dns', value: 'x.b.test' }]),
      await cert(b, [{ type: 'ip', value: '10.1.2.3' }]),
    ];
    const theirs = await cert(a, [{ type: 'dns', value: 'x.a.test' }]);
    const res = await call('POST', '/renew-now', { issuer: b.keyIdHex.match(/../g)!.join(':') });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal((await res.json()).count, 2);
    for (const m of mine) assert.equal(await renewNow(m.pem), true);
    assert.equal(await renewNow(theirs.pem), false);
  });

  it('moves every certificate with an identifier matching a pattern (suffix, wildcard, CIDR)', async () => {
    const deep = await cert(a, [{ type: 'dns', value: 'a.b.pat.test' }]);
    const shallow = await cert(a, [
      { type: 'dns', value: 'www.pat.test' },
      { type: 'dns', value: 'x.else.test' },
    ]);
    const ip = await cert(a, [{ type: 'ip', value: '192.0.2.7' }]);
    const outside = await cert(a, [{ type: 'dns', value: 'pat.test.else' }]);
    const dry = await (await call('POST', '/renew-now', { pattern: '.pat.test', dryRun: true })).json();
    assert.equal(dry.count, 2);
    assert.equal(await renewNow(deep.pem), false, 'a dry run changes nothing');
    assert.equal((await (await call('POST', '/renew-now', { pattern: '*.pat.test' })).json()).count, 1);
    assert.equal(await renewNow(shallow.pem), true);
    assert.equal(await renewNow(deep.pem), false, '*. covers one label only');
    assert.equal((await (await call('POST', '/renew-now', { pattern: '.pat.test' })).json()).count, 2);
    assert.equal(await renewNow(deep.pem), true);
    assert.equal((await (await call('POST', '/renew-now', { pattern: '192.0.2.0/24' })).json()).count, 1);
    assert.equal(await renewNow(ip.pem), true);
    assert.equal(await renewNow(outside.pem), false);
  });

  const bad: [string, unknown, number, string][] = [
    ['no selector', {}, 400, 'serial'],
    ['two selectors', { serial: 'ab', pattern: '.x.test' }, 400, 'pattern'],
    ['a bad pattern', { pattern: 'a*b.test' }, 400, 'pattern'],
    ['a bad issuer', { issuer: 'zz' }, 400, 'issuer'],
    ['an unknown serial', { serial: 'abcdef' }, 404, ''],
    ['reason 7', { pattern: '.x.test', revokeReason: 7 }, 400, 'revokeReason'],
    ['a non-URL explanation', { pattern: '.x.test', explanationUrl: 'see wiki' }, 400, 'explanationUrl'],
    ['an unknown field', { pattern: '.x.test', when: 'now' }, 400, 'when'],
  ];
  for (const [name, body, status, field] of bad) {
    it(`refuses ${name} (${status}) and changes nothing`, async () => {
      const before = await (await call('GET', '/renewals')).text();
      const res = await call('POST', '/renew-now', body);
      const doc = await res.json();
      assert.equal(res.status, status, JSON.stringify(doc));
      if (field) assert.equal(doc.field, field);
      assert.equal(await (await call('GET', '/renewals')).text(), before);
    });
  }

  it('revokes a replaced certificate once its replacement is issued (run by a renewalInfo poll)', async () => {
    const old = await cert(a, [{ type: 'dns', value: 'revoke.replaced.test' }]);
    await call('POST', '/renew-now', { serial: old.serial, revokeWhenReplaced: true });
    assert.deepEqual((await (await call('POST', '/renewals/run')).json()).revoked, [], 'not yet replaced');
    const next = await cert(a, [{ type: 'dns', value: 'revoke.replaced.test' }]);
    await edge.svc.database.db.run(sql`UPDATE orders SET replaces = ${certIdOfPem(old.pem)}
      WHERE certificate_id = (SELECT id FROM certificates WHERE serial = ${next.serial})`);
    // polls start the due revocations in the background (at most one run per instance every 5 s)
    for (let i = 0; i < 40 && !revoked.some((r) => r.serial === old.serial); i++) {
      await client.renewalInfo(next.pem);
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.deepEqual(
      revoked.find((r) => r.serial === old.serial),
      { serial: old.serial, reason: 4 },
    );
    assert.ok((await edge.svc.certificates.bySerial(old.serial))?.revokedAt);
    const view = await (await call('GET', `/renewals/${old.serial}`)).json();
    assert.ok(view.override.revokedByScheduleAt);
    assert.deepEqual((await (await call('POST', '/renewals/run')).json()).revoked, [], 'revoked once only');
  });

  it('revokes at the deadline with the reason given, replaced or not', async () => {
    const old = await cert(a, [{ type: 'dns', value: 'deadline.test' }]);
    const at = new Date(Date.now() + 300).toISOString();
    await call('POST', '/renew-now', { serial: old.serial, revokeAt: at, revokeReason: 1 });
    const early = (await (await call('POST', '/renewals/run')).json()).revoked;
    assert.ok(!early.includes(old.serial), 'before the deadline');
    await new Promise((r) => setTimeout(r, 400));
    assert.deepEqual((await (await call('POST', '/renewals/run')).json()).revoked, [old.serial]);
    assert.deepEqual(revoked.at(-1), { serial: old.serial, reason: 1 });
  });
});
