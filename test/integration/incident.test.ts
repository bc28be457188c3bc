// Incident response over the whole system (SoftHSM signer, edge over HTTPS, the project's ACME
// client): two accounts get several certificates; an operator previews a bulk revocation by account
// (nothing changes), then revokes by name pattern (with the CLI as a child process), by key with
// keyCompromise, by issuance window, and by account through a signer outage (the CLI exits 3 and
// the rerun finishes, bounded per call). Every revoked serial is in the signer's next CRL and in the
// edge's /crl, each run is one change-log entry, and the keys reported compromised — through bulk
// revocation and through revokeCert signed by the certificate's own key — are refused at newAccount
// and keyChange (badPublicKey) and at finalize (badCSR).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { exportJWK } from 'jose';
import { makeCsr } from '../../harness/csr.ts';
import { b64uDecode, b64uEncode, pemToDers, toHex } from '../../shared/encoding.ts';
import { type AcmeKey, TestAcme } from '../support/acme.ts';
import { cliWriteToken, crlEntries, crlSerial, IncidentRig } from '../support/incident.ts';
import { type System, startSystem } from '../support/system.ts';

const run = promisify(execFile);
const SUFFIX = '.incident.test';

let sys: System;
let rig: IncidentRig;
let a: TestAcme;
let b: TestAcme;
/** name → serial */
const serials = new Map<string, string>();
/** serial → PEM chain */
const pems = new Map<string, string>();
let sharedKey: CryptoKeyPair;
let windowStart = '';
let windowEnd = '';

interface BulkAnswer {
  serials: string[];
  matched: number;
  maxPerCall: number;
  results: { serial: string; outcome: string }[];
  counts: { revoked: number };
  complete: boolean;
  remaining: number;
  remainingSerials: string[];
  stoppedBecause?: string;
  blockedKeys: string[];
}
type CertList = { certificates: { serial: string; revokedAt: string | null }[] };
type Blocked = { spkiSha256: string; source: string; serial: string | null };

const adminOk = <T>(method: string, path: string, body?: unknown) => rig.adminOk<T>(method, path, body);

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    // the token goes in the environment: never on a command line
    const { stdout, stderr } = await run(process.execPath, ['bin/edgeca.mjs', 'admin', ...args], {
      timeout: 120_000,
      env: { ...process.env, EDGECA_ADMIN_TOKEN: rig.token },
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

const conn = () => ['--url', `${sys.edgeUrl}/admin`, '--ca-file', sys.caFile, '--json'];

async function issue(c: TestAcme, short: string, keys?: CryptoKeyPair): Promise<string> {
  const { serial, pem } = await rig.issue(c, `${short}${SUFFIX}`, keys);
  serials.set(short, serial);
  pems.set(serial, pem);
  return serial;
}

const s = (...shorts: string[]) => shorts.map((x) => serials.get(x)!).sort();

async function assertInCrl(list: string[], reason: number) {
  const crl = await rig.signerCrl();
  for (const serial of list)
    assert.equal(
      crl.get(serial.replace(/^0+/, '')),
      reason,
      `serial ${serial} in the signer's CRL with reason ${reason}`,
    );
}

async function liveOf(list: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const serial of list) {
    const c = (await adminOk<CertList>('GET', `/certificates?serial=${serial}`)).certificates[0];
    if (!c?.revokedAt) out.push(serial);
  }
  return out.sort();
}

const bulkRuns = async () =>
  (await adminOk<{ changes: { action: string }[] }>('GET', '/changes?limit=1000')).changes.filter(
    (x) => x.action === 'certificate.bulk-revoke',
  ).length;

const sortedSerials = (results: { serial: string }[]) => results.map((r) => r.serial).sort();

async function acmeKeyOf(keys: CryptoKeyPair): Promise<AcmeKey> {
  return { alg: 'ES256', privateKey: keys.privateKey, jwk: await exportJWK(keys.publicKey) };
}

async function expectProblem(res: Response, type: string, detail: RegExp) {
  const text = await res.text();
  assert.equal(res.status, 400, text);
  const doc = JSON.parse(text);
  assert.equal(doc.type, `urn:ietf:params:acme:error:${type}`, text);
  assert.match(doc.detail, detail);
}

describe('incident response: bulk revocation and compromised keys', { timeout: 600_000 }, () => {
  before(async () => {
    sys = await startSystem();
    rig = new IncidentRig(sys, await cliWriteToken(sys));
    a = await rig.preauthorizedAccount('team-a', SUFFIX);
    b = await rig.preauthorizedAccount('team-b', SUFFIX);
    sharedKey = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ])) as CryptoKeyPair;
    await issue(a, 'a1.web', sharedKey);
    await issue(a, 'a2.web');
    await issue(a, 'a3.db');
    await issue(a, 'a4.web');
    await issue(b, 'b1.web', sharedKey);
    await issue(b, 'b2.db');
    await issue(b, 'b3.mail');
    windowStart = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 5));
    await issue(b, 'b4.mail');
    await issue(b, 'b5.mail');
    windowEnd = new Date(Date.now() + 1).toISOString();
    await new Promise((r) => setTimeout(r, 5));
    await issue(b, 'b6.mail');
  });
  after(async () => {
    await sys?.stop();
  });

  test("a dry run by account lists exactly that account's serials and changes nothing", async () => {
    const runsBefore = await bulkRuns();
    const crlBefore = await rig.signerCrl();
    const dry = await adminOk<BulkAnswer>('POST', '/bulk-revoke', {
      account: a.kid!.split('/').pop(),
      reason: 0,
      dryRun: true,
    });
    assert.deepEqual([...dry.serials].sort(), s('a1.web', 'a2.web', 'a3.db', 'a4.web'));
    assert.equal(dry.matched, 4);
    assert.equal(dry.maxPerCall, 200);
    assert.deepEqual(await liveOf([...serials.values()]), [...serials.values()].sort(), 'nothing revoked');
    assert.equal(await bulkRuns(), runsBefore, 'no change-log entry');
    assert.deepEqual([...(await rig.signerCrl()).keys()], [...crlBefore.keys()], 'the CRL lists nothing new');
  });

  test("the CLI revokes by name pattern; both accounts' matching certificates are in the CRL", async () => {
    const out = await cli('revoke-bulk', '--pattern', `.db${SUFFIX}`, '--reason', 'superseded', ...conn());
    assert.equal(out.code, 0, out.stderr);
    const res = JSON.parse(out.stdout) as BulkAnswer;
    assert.deepEqual(sortedSerials(res.results), s('a3.db', 'b2.db'));
    assert.equal(res.counts.revoked, 2);
    assert.equal(res.complete, true);
    await assertInCrl(s('a3.db', 'b2.db'), 4);
    assert.deepEqual(await liveOf(s('a1.web', 'a2.web', 'b3.mail')), s('a1.web', 'a2.web', 'b3.mail'));
  });

  test('revoking by key with keyCompromise takes it from every account, lists it in the CRL and blocks the key', async () => {
    // what an operator computes from the key: sha256 over its DER SubjectPublicKeyInfo, in hex
    const spkiHex = toHex(b64uDecode(await spkiOf(sharedKey)));
    const res = await adminOk<BulkAnswer>('POST', '/bulk-revoke', { spkiSha256: spkiHex, reason: 1 });
    assert.deepEqual(sortedSerials(res.results), s('a1.web', 'b1.web'));
    assert.equal(res.blockedKeys.length, 1);
    await assertInCrl(s('a1.web', 'b1.web'), 1);
    const blocked = await adminOk<Blocked>('GET', `/blocked-keys/${spkiHex}`);
    assert.equal(blocked.source, 'admin-bulk-revoke');
  });

  test('revokes by issuance window within one account', async () => {
    const res = await adminOk<BulkAnswer>('POST', '/bulk-revoke', {
      account: b.kid!.split('/').pop(),
      issuedAfter: windowStart,
      issuedBefore: windowEnd,
      reason: 5,
    });
    assert.deepEqual(sortedSerials(res.results), s('b4.mail', 'b5.mail'));
    await assertInCrl(s('b4.mail', 'b5.mail'), 5);
    assert.deepEqual(await liveOf(s('b3.mail', 'b6.mail')), s('b3.mail', 'b6.mail'));
  });

  test('revokes by account through a signer outage: the CLI exits 3, bounded reruns finish', async () => {
    const accountA = a.kid!.split('/').pop()!;
    await sys.stopSigner();
    try {
      const down = await cli(
        'revoke-bulk',
        '--account',
        accountA,
        '--reason',
        'privilegeWithdrawn',
        ...conn(),
      );
      assert.equal(down.code, 3, `exit code 3 while certificates remain (${down.stderr})`);
      assert.match(down.stderr, /run the same command again/);
      const res = JSON.parse(down.stdout) as BulkAnswer;
      assert.equal(res.counts.revoked, 0);
      assert.match(res.stoppedBecause ?? '', /signer is unavailable/);
      assert.deepEqual([...res.remainingSerials].sort(), s('a2.web', 'a4.web'));
    } finally {
      await sys.startSigner();
    }
    const first = await adminOk<BulkAnswer>('POST', '/bulk-revoke', {
      account: accountA,
      reason: 9,
      limit: 1,
    });
    assert.equal(first.counts.revoked, 1);
    assert.equal(first.complete, false);
    assert.equal(first.remaining, 1);
    const second = await adminOk<BulkAnswer>('POST', '/bulk-revoke', {
      account: accountA,
      reason: 9,
      limit: 1,
    });
    assert.equal(second.counts.revoked, 1);
    assert.equal(second.complete, true);
    assert.deepEqual(
      [...sortedSerials(first.results), ...sortedSerials(second.results)].sort(),
      s('a2.web', 'a4.web'),
    );
    await assertInCrl(s('a2.web', 'a4.web'), 9);
  });

  test('every revoked serial is in the CRL the edge serves, and each run is one change-log entry', async () => {
    const res = await rig.fetch(`${sys.edgeUrl}/crl`);
    assert.equal(res.status, 200);
    const crl = crlEntries(new Uint8Array(await res.arrayBuffer()));
    for (const name of ['a1.web', 'a2.web', 'a3.db', 'a4.web', 'b1.web', 'b2.db', 'b4.mail', 'b5.mail'])
      assert.ok(crl.has(serials.get(name)!.replace(/^0+/, '')), `${name} in the edge's CRL`);
    for (const name of ['b3.mail', 'b6.mail'])
      assert.ok(!crl.has(serials.get(name)!.replace(/^0+/, '')), `${name} not revoked`);
    // pattern, key, window, and the account: outage, then two bounded runs
    assert.equal(await bulkRuns(), 6);
  });

  test('a key blocked by bulk revocation is refused at newAccount and keyChange (badPublicKey) and finalize (badCSR)', async () => {
    const key = await acmeKeyOf(sharedKey);
    const stranger = await new TestAcme(rig.fetch, sys.directoryUrl, key).init();
    await expectProblem(await stranger.newAccount(), 'badPublicKey', /reported compromised/);
    await expectProblem(
      await b.post(b.dir.keyChange, await b.keyChangeInner(key)),
      'badPublicKey',
      /reported compromised/,
    );
    const { order } = await rig.readyOrder(b, `again${SUFFIX}`);
    const csr = await makeCsr([`again${SUFFIX}`], { key: sharedKey });
    await expectProblem(await b.post(order.finalize, { csr: csr.b64u }), 'badCSR', /reported compromised/);
  });

  test("revokeCert with keyCompromise signed by the certificate's own key blocks it as an account key", async () => {
    const leafKeys = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ])) as CryptoKeyPair;
    const serial = await issue(b, 'b7.mail', leafKeys);
    const der = pemToDers(pems.get(serial)!)[0]!;
    const holder = await new TestAcme(rig.fetch, sys.directoryUrl, await acmeKeyOf(leafKeys)).init();
    const res = await holder.post(
      holder.dir.revokeCert,
      { certificate: b64uEncode(der), reason: 1 },
      { useJwk: true },
    );
    assert.equal(res.status, 200, await res.text());
    await assertInCrl([serial], 1);
    const blocked = await adminOk<{ blockedKeys: Blocked[] }>('GET', '/blocked-keys');
    assert.ok(blocked.blockedKeys.some((k) => k.serial === serial && k.source === 'acme-revoke'));
    // the same key as an account JWK: its SPKI hash is the certificate's
    await expectProblem(await holder.newAccount(), 'badPublicKey', /reported compromised/);
  });

  test('keyCompromise reported about a certificate revoked before for another reason blocks the key, deactivates the account using it, and leaves the CRL reason', async () => {
    const keys = await ecKeys();
    // an account whose key is also a certificate's key (issued to account B)
    const user = await new TestAcme(rig.fetch, sys.directoryUrl, await acmeKeyOf(keys)).init();
    assert.equal((await user.newAccount()).status, 201);
    const userId = user.kid!.split('/').pop()!;
    const serial = await issue(b, 'b8.mail', keys);
    await adminOk('POST', `/certificates/${serial}/revoke`, { reason: 4 });
    await assertInCrl([serial], 4);
    const ok = await user.post(user.kid!, '');
    assert.equal(ok.status, 200, 'superseded blocks nothing');
    const res = await user.post(
      user.dir.revokeCert,
      { certificate: b64uEncode(pemToDers(pems.get(serial)!)[0]!), reason: 1 },
      { useJwk: true },
    );
    const text = await res.text();
    assert.equal(res.status, 400, text);
    assert.equal(JSON.parse(text).type, 'urn:ietf:params:acme:error:alreadyRevoked');
    assert.match(JSON.parse(text).detail, /which the CRL keeps\); its key is now blocked/);
    const blocked = await adminOk<Blocked>('GET', `/blocked-keys/${await spkiOf(keys)}`);
    assert.equal(blocked.serial, serial);
    await assertInCrl([serial], 4);
    // RFC 8555 §7.3.6: the account can no longer be used
    for (const send of [
      () => user.post(user.dir.newOrder, { identifiers: [{ type: 'dns', value: `c${SUFFIX}` }] }),
      () => user.post(user.kid!, ''),
    ]) {
      const refused = await send();
      const doc = await refused.json();
      assert.equal(refused.status, 401, JSON.stringify(doc));
      assert.equal(doc.type, 'urn:ietf:params:acme:error:unauthorized');
      assert.match(doc.detail, /account is deactivated: its key was reported compromised/);
    }
    const log = await adminOk<{ changes: { action: string; tokenId: string }[] }>(
      'GET',
      `/changes?target=account:${userId}`,
    );
    assert.deepEqual(
      log.changes.map((x) => [x.action, x.tokenId]),
      [['account.deactivate', 'acme']],
    );
  });

  test("the edge records each revocation at the signer's time, the date its CRL gives", async () => {
    // one more by a single admin revocation; the others were by bulk runs and revokeCert
    await adminOk('POST', `/certificates/${serials.get('b6.mail')}/revoke`, { reason: 5 });
    const crl = await rig.signerCrlDates();
    const revoked = (await adminOk<CertList>('GET', '/certificates?limit=1000')).certificates.filter(
      (x) => x.revokedAt !== null,
    );
    assert.ok(revoked.length >= 11, `revoked certificates: ${revoked.length}`);
    for (const cert of revoked) {
      const inCrl = crl.get(crlSerial(cert.serial));
      assert.ok(inCrl !== undefined, `${cert.serial} in the CRL`);
      assert.equal(
        new Date(cert.revokedAt!).toISOString(),
        new Date(inCrl).toISOString(),
        `${cert.serial}: the edge's revokedAt is the CRL's revocationDate`,
      );
    }
  });
});

async function ecKeys(): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair;
}

async function spkiOf(keys: CryptoKeyPair): Promise<string> {
  const spki = new Uint8Array(await crypto.subtle.exportKey('spki', keys.publicKey));
  return b64uEncode(new Uint8Array(await crypto.subtle.digest('SHA-256', spki)));
}
