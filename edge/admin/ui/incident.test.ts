// The incident page in process: the bulk revocation preview lists exactly the account's
// certificates and changes nothing; its confirm form revokes exactly those (through a signer
// stand-in) and blocks their keys with keyCompromise; a bounded run offers to continue; bad input
// keeps what was typed; blocking and unblocking a key; the CSRF check. A real browser drives the same
// page against the whole system in test/browser/incident-ui.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Identifier } from '../../../shared/problems.ts';
import { newKey, TestAcme } from '../../../test/support/acme.ts';
import { issueLeaf, makeIssuer, storeCert, type TestIssuer } from '../../../test/support/ari.ts';
import { type InprocEdge, startInprocEdge } from '../../../test/support/edge-app.ts';
import { fieldOf, formFields, uiClient, uiLogIn } from '../../../test/support/ui-client.ts';
import { jwkDigest } from '../../acme/compromised-keys.ts';
import type { SignerClient } from '../../relay/signer-client.ts';

let edge: InprocEdge;
let token: string;
let iss: TestIssuer;
let accountA: string;
let accountB: string;
const revoked: string[] = [];

const signer: SignerClient = {
  sign: async () => ({ status: 'unavailable', detail: 'not in this test' }),
  revoke: async (serial) => {
    revoked.push(serial);
    return { status: 'revoked' };
  },
  crl: async () => new Uint8Array(),
};

async function cert(account: string, name: string) {
  const ids: Identifier[] = [{ type: 'dns', value: name }];
  return storeCert(
    edge.svc,
    account,
    await issueLeaf(iss, ids, Date.now() - 60_000, Date.now() + 86_400_000),
    ids,
  );
}

const serialsOn = (page: string) =>
  [...page.matchAll(/data-field="serial">([0-9a-f]+)</g)].map((m) => m[1]!).sort();
const isRevoked = async (serial: string) =>
  (await edge.svc.certificates.bySerial(serial))?.revokedAt !== null;

async function bulkChanges(): Promise<number> {
  const { admin } = await edge.svc.stores();
  return (await admin.changes({ limit: 1000 })).filter((c) => c.action === 'certificate.bulk-revoke').length;
}

describe('admin UI: incident page', () => {
  before(async () => {
    edge = await startInprocEdge({ signer });
    const { admin } = await edge.svc.stores();
    const t = await admin.newToken('ui-incident', 'write');
    await t.stmt;
    token = t.token;
    iss = await makeIssuer('UI incident');
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const c = await new TestAcme(edge.fetch, edge.directoryUrl, await newKey()).init();
      await c.newAccount();
      ids.push(c.kid!.split('/').pop()!);
    }
    [accountA, accountB] = ids as [string, string];
  });
  after(() => edge.close());

  test('the page is in the navigation and shows both forms and the blocked keys', async () => {
    const b = await uiLogIn(edge, token);
    const r = await b('/incident');
    assert.equal(r.res.status, 200);
    assert.match(r.text, /<a href="\/admin\/ui\/incident" class="on">Incident<\/a>/);
    assert.match(r.text, /action="\/admin\/ui\/incident\/preview"/);
    assert.match(r.text, /action="\/admin\/ui\/incident\/block"/);
    assert.match(r.text, /No key is blocked\./);
    assert.doesNotMatch(r.text, /<script/i);
  });

  test('preview by account lists exactly its certificates and changes nothing; confirm revokes exactly those', async () => {
    const mine = [await cert(accountA, 'a1.ui.test'), await cert(accountA, 'a2.ui.test')];
    const theirs = await cert(accountB, 'b1.ui.test');
    const b = await uiLogIn(edge, token);
    const page = await b('/incident');
    const before = await edge.snapshot();
    const runs = await bulkChanges();
    const preview = await b('/incident/preview', {
      method: 'POST',
      form: { csrf: fieldOf(page.text, 'csrf'), account: accountA, reason: '1', pattern: '', limit: '' },
    });
    assert.equal(preview.res.status, 200, preview.text);
    assert.match(preview.text, /Preview only: nothing has been revoked yet/);
    assert.deepEqual(serialsOn(preview.text), mine.map((c) => c.serial).sort());
    assert.match(preview.text, /Their keys will be blocked/);
    assert.equal(await edge.snapshot(), before, 'the preview changed no row');
    assert.equal(revoked.length, 0);
    assert.equal(await bulkChanges(), runs);

    const confirm = formFields(preview.text, '/admin/ui/incident/revoke');
    assert.deepEqual(
      { account: confirm.account, reason: confirm.reason },
      { account: accountA, reason: '1' },
      'the confirm form carries the previewed selector',
    );
    const done = await b('/incident/revoke', { method: 'POST', form: confirm });
    assert.equal(done.res.status, 200, done.text);
    assert.match(done.text, /Done: every matching certificate is revoked/);
    assert.deepEqual(serialsOn(done.text), mine.map((c) => c.serial).sort());
    assert.deepEqual([...revoked].sort(), mine.map((c) => c.serial).sort());
    for (const c of mine) assert.equal(await isRevoked(c.serial), true);
    assert.equal(await isRevoked(theirs.serial), false);
    assert.equal(await bulkChanges(), runs + 1, 'one change-log entry');
    const after = await b('/incident');
    assert.equal([...after.text.matchAll(/data-field="blocked-key"/g)].length, 2, 'both keys blocked');
  });

  test('a bounded run offers to continue, and continuing finishes', async () => {
    for (let i = 0; i < 3; i++) await cert(accountB, `n${i}.more.ui.test`);
    const b = await uiLogIn(edge, token);
    const page = await b('/incident');
    const preview = await b('/incident/preview', {
      method: 'POST',
      form: { csrf: fieldOf(page.text, 'csrf'), pattern: '.more.ui.test', reason: '4', limit: '2' },
    });
    assert.match(preview.text, /<b>3<\/b> live certificate\(s\) match/);
    assert.equal(serialsOn(preview.text).length, 2);
    const first = await b('/incident/revoke', {
      method: 'POST',
      form: formFields(preview.text, '/admin/ui/incident/revoke'),
    });
    assert.equal(first.res.status, 200);
    assert.match(first.text, /Not finished: 1 certificate\(s\) still match/);
    const cont = formFields(first.text, '/admin/ui/incident/revoke');
    const second = await b('/incident/revoke', { method: 'POST', form: cont });
    assert.match(second.text, /Done: every matching certificate is revoked/);
    assert.doesNotMatch(second.text, /Continue: revoke/);
  });

  test("bad input shows the API's reason and keeps what was typed", async () => {
    const b = await uiLogIn(edge, token);
    const page = await b('/incident');
    const before = await edge.snapshot();
    const r = await b('/incident/preview', {
      method: 'POST',
      form: { csrf: fieldOf(page.text, 'csrf'), pattern: 'a*b.test', account: accountA, reason: '0' },
    });
    assert.equal(r.res.status, 400);
    assert.match(r.text, /Nothing revoked: .*pattern/);
    assert.equal(fieldOf(r.text, 'account'), accountA);
    assert.equal(fieldOf(r.text, 'pattern'), 'a*b.test');
    assert.equal(await edge.snapshot(), before);
  });

  test('blocks a key from a PEM, lists it, and unblocks it', async () => {
    const b = await uiLogIn(edge, token);
    const c = await cert(accountB, 'pem.ui.test');
    const page = await b('/incident');
    const count = [...page.text.matchAll(/data-field="blocked-key"/g)].length;
    const r = await b('/incident/block', {
      method: 'POST',
      form: { csrf: fieldOf(page.text, 'csrf'), pem: c.chainPem, spkiSha256: '', note: 'lost laptop' },
    });
    assert.match(r.text, /Key blocked\./);
    assert.match(r.text, /lost laptop/);
    assert.equal([...r.text.matchAll(/data-field="blocked-key"/g)].length, count + 1);
    const unblock = /action="(\/admin\/ui\/incident\/unblock\/[^"]+)"/.exec(
      r.text.slice(r.text.indexOf('lost laptop')),
    )?.[1];
    assert.ok(unblock);
    const u = await b(unblock.replace('/admin/ui', ''), {
      method: 'POST',
      form: { csrf: fieldOf(r.text, 'csrf') },
    });
    assert.match(u.text, /Key unblocked\./);
    assert.doesNotMatch(u.text, /lost laptop/);
  });

  test('blocking the key of an account says that the account was deactivated', async () => {
    const key = await newKey();
    const acme = await new TestAcme(edge.fetch, edge.directoryUrl, key).init();
    await acme.newAccount();
    const id = acme.kid!.split('/').pop()!;
    const b = await uiLogIn(edge, token);
    const page = await b('/incident');
    const r = await b('/incident/block', {
      method: 'POST',
      form: { csrf: fieldOf(page.text, 'csrf'), pem: '', spkiSha256: (await jwkDigest(key.jwk))!, note: '' },
    });
    assert.match(r.text, new RegExp(`Key blocked\\. 1 account\\(s\\) using it deactivated: ${id}\\.`));
    assert.equal((await edge.svc.accounts.get(id))?.status, 'deactivated');
  });

  test('refuses a confirm without the session CSRF field, revoking nothing', async () => {
    const c = await cert(accountA, 'csrf.ui.test');
    const b = await uiLogIn(edge, token);
    const r = await b('/incident/revoke', { method: 'POST', form: { pattern: 'csrf.ui.test', reason: '0' } });
    assert.equal(r.res.status, 403);
    assert.equal(await isRevoked(c.serial), false);
    const anon = await uiClient(edge)('/incident/revoke', {
      method: 'POST',
      form: { pattern: 'csrf.ui.test', reason: '0' },
    });
    assert.equal(anon.res.status, 303);
    assert.equal(await isRevoked(c.serial), false);
  });
});
