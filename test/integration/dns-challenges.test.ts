// dns-account-01 and dns-persist-01 end to end: the signer on SoftHSM, the Node edge over HTTPS,
// the on-prem validator, and two pebble-challtestsrv instances (the edge's DNS and the internal
// one). An operator enables dns-persist-01 for the default profile and asks for the exact TXT
// record with the `edgeca admin` CLI; the project's own ACME client publishes the records and gets
// certificates for a name validated at the edge and for an internal name validated on-prem.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { type ChallTestSrv, startChallTestSrv } from '../../harness/challtestsrv.ts';
import { makeCsr } from '../../harness/csr.ts';
import { dns01TxtValue } from '../../validation/dns-01.ts';
import { dnsAccount01Name } from '../../validation/dns-account-01.ts';
import { newKey, TestAcme } from '../support/acme.ts';
import { httpsFetch } from '../support/https-fetch.ts';
import { OperatorCli } from '../support/operator-cli.ts';
import { type System, startSystem } from '../support/system.ts';
import { verifyChain } from '../support/tools.ts';

const _run = promisify(execFile);
let sys: System;
let edgeDns: ChallTestSrv;
let internalDns: ChallTestSrv;
let operator: OperatorCli;
type Order = {
  status: string;
  authorizations: string[];
  finalize: string;
  certificate?: string;
  error?: unknown;
};
type Chall = {
  type: string;
  url: string;
  status: string;
  token?: string;
  error?: { type: string; detail: string };
};

/** newOrder for one name → publish the record `publish` returns → respond → finalize → the PEM chain. */
async function issue(
  c: TestAcme,
  name: string,
  type: 'dns-account-01' | 'dns-persist-01',
  publish: (ch: Chall) => Promise<void>,
): Promise<string> {
  const res = await c.post(c.dir.newOrder, { identifiers: [{ type: 'dns', value: name }] });
  assert.equal(res.status, 201, await res.clone().text());
  const url = res.headers.get('location') as string;
  const order = (await res.json()) as Order;
  const authzUrl = order.authorizations[0] as string;
  const authz = (await (await c.post(authzUrl, '')).json()) as { challenges: Chall[] };
  const ch = authz.challenges.find((x) => x.type === type);
  assert.ok(ch, `${type} offered for ${name}: ${authz.challenges.map((x) => x.type).join(', ')}`);
  await publish(ch);
  assert.equal((await c.post(ch.url, {})).status, 200);
  const done = await c.poll<Chall>(ch.url, (x) => x.status === 'valid' || x.status === 'invalid');
  assert.equal(done.status, 'valid', JSON.stringify(done.error));
  await c.poll<Order>(url, (o) => o.status === 'ready');
  const csr = await makeCsr([name]);
  assert.equal((await c.post(order.finalize, { csr: csr.b64u })).status, 200);
  const final = await c.poll<Order>(url, (o) => o.status === 'valid' || o.status === 'invalid');
  assert.equal(final.status, 'valid', JSON.stringify(final.error));
  return (await c.post(final.certificate as string, '')).text();
}

describe('dns-account-01 and dns-persist-01 through the whole system', { timeout: 300_000 }, () => {
  before(async () => {
    edgeDns = await startChallTestSrv();
    internalDns = await startChallTestSrv();
    sys = await startSystem({
      dnsResolver: edgeDns.dnsAddress,
      validator: { dnsResolver: internalDns.dnsAddress },
      env: {
        EDGECA_VALIDATION_ROUTES: JSON.stringify([{ match: 'corp.internal', route: 'onprem' }]),
        EDGECA_CAA_IDENTITIES: 'ca.corp.internal',
      },
    });
    operator = new OperatorCli(sys, 60_000);
    await operator.login();
  });
  after(async () => {
    await sys?.stop();
    await internalDns?.close();
    await edgeDns?.close();
  });

  for (const [name, where, dns] of [
    ['www.edge.test', 'at the edge', () => edgeDns],
    ['db1.corp.internal', 'on-prem', () => internalDns],
  ] as const) {
    test(`issues over dns-account-01 for a name validated ${where}`, async () => {
      const c = await new TestAcme(httpsFetch(sys.caFile), sys.directoryUrl, await newKey()).init();
      assert.equal((await c.newAccount()).status, 201);
      const chain = await issue(c, name, 'dns-account-01', async (ch) => {
        const value = await dns01TxtValue(await c.keyAuthorization(ch.token as string));
        await dns().setTxt(await dnsAccount01Name(c.kid as string, name), value);
      });
      await verifyChain(chain, sys.caFile, { purpose: 'sslserver' });
    });
  }

  test('offers no dns-persist-01 until an operator enables it for the profile', async () => {
    const c = await new TestAcme(httpsFetch(sys.caFile), sys.directoryUrl, await newKey()).init();
    assert.equal((await c.newAccount()).status, 201);
    const res = await c.post(c.dir.newOrder, { identifiers: [{ type: 'dns', value: 'off.corp.internal' }] });
    const authz = (await (
      await c.post(((await res.json()) as Order).authorizations[0] as string, '')
    ).json()) as {
      challenges: Chall[];
    };
    assert.equal(
      authz.challenges.some((x) => x.type === 'dns-persist-01'),
      false,
    );
    const set = JSON.parse(
      await operator.admin('profile', 'set', 'default', '--opt-in-challenges', 'dns-persist-01', '--json'),
    );
    assert.deepEqual(set.optInChallenges, ['dns-persist-01']);
  });

  for (const [name, where, dns] of [
    ['api.edge.test', 'at the edge', () => edgeDns],
    ['db2.corp.internal', 'on-prem', () => internalDns],
  ] as const) {
    test(`issues over dns-persist-01 for a name validated ${where}, with the record the CLI gives, twice`, async () => {
      const c = await new TestAcme(httpsFetch(sys.caFile), sys.directoryUrl, await newKey()).init();
      assert.equal((await c.newAccount()).status, 201);
      const accountId = (c.kid as string).split('/').at(-1) as string;
      const rec = JSON.parse(
        await operator.admin('dns-persist-record', '--account', accountId, '--name', name, '--json'),
      ) as {
        owner: string;
        value: string;
        warning: string;
      };
      assert.equal(rec.owner, `_validation-persist.${name}`);
      assert.match(
        rec.value,
        /^ca\.corp\.internal; accounturi=https:\/\/\S+\/acme\/account-hash\/sha-256\/[\w-]{43}$/,
      );
      assert.match(rec.warning, /anyone holding this ACME account key/);
      await verifyChain(
        await issue(c, name, 'dns-persist-01', async () => dns().setTxt(rec.owner, rec.value)),
        sys.caFile,
      );
      // The record stands: the next certificate needs no DNS change (whether the authorization is
      // reused or validated again).
      await verifyChain(await issue(c, name, 'dns-persist-01', async () => {}), sys.caFile);
    });
  }
});
