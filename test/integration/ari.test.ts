// Renewal over the whole system (SoftHSM signer, edge over HTTPS): a 24 h certificate
// by default; ARI says "not yet"; an operator runs `edgeca admin renew-now --pattern` with
// --revoke-when-replaced; the project's ARI-aware client renews at its next renewalInfo poll with
// `replaces`; the old certificate is revoked by the schedule (driven by the clients' polls) and shows
// up in the CRL the edge serves, parsed by openssl.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { Http01Server } from '../../harness/http01.ts';
import { NotYet, waitFor } from '../../harness/wait.ts';
import { certIdOfPem, TestAcme } from '../support/acme.ts';
import { httpsFetch } from '../support/https-fetch.ts';
import { accountOn, issueOverHttp01, startSystemWithHttp01 } from '../support/issuance.ts';
import { OperatorCli } from '../support/operator-cli.ts';
import type { System } from '../support/system.ts';
import { verifyChain } from '../support/tools.ts';

const run = promisify(execFile);
let sys: System;
let http01: Http01Server;
let rig: Awaited<ReturnType<typeof startSystemWithHttp01>> | undefined;

async function opensslText(pem: string): Promise<string> {
  const f = join(sys.dir, `c-${Date.now()}.pem`);
  writeFileSync(f, pem);
  return (await run('openssl', ['x509', '-in', f, '-noout', '-text', '-serial'])).stdout;
}

describe('ARI: renew now, renewal with replaces, scheduled revocation, CRL', { timeout: 240_000 }, () => {
  before(async () => {
    rig = await startSystemWithHttp01();
    ({ sys, http01 } = rig);
  });
  after(() => rig?.stop());

  test('an operator renews a name pattern now; the client renews within one poll; the old certificate lands in the CRL', async () => {
    const fetch = httpsFetch(sys.caFile);
    const c = await accountOn(sys);
    const operator = new OperatorCli(sys);
    const old = await issueOverHttp01(c, http01);
    await verifyChain(old, sys.caFile);
    const text = await opensslText(old);
    const nb = Date.parse(/Not Before: (.+)/.exec(text)![1]!);
    const na = Date.parse(/Not After : (.+)/.exec(text)![1]!);
    assert.ok(Math.abs(na - nb - 86_400_000) <= 60_000, 'the default profile issues 24 h certificates');
    const oldSerial = /serial=([0-9A-F]+)/.exec(text)![1]!.toLowerCase();

    const first = await c.renewalInfo(old);
    assert.equal(first.status, 200);
    assert.equal(TestAcme.shouldRenew(first), false, 'a fresh certificate is not due');
    assert.equal(first.retryAfter, 3600);

    await operator.login();
    const conn = ['--url', `${sys.edgeUrl}/admin`, '--ca-file', sys.caFile, '--json'];
    const moved = JSON.parse(
      await operator.admin('renew-now', '--pattern', '127.0.0.0/8', '--revoke-when-replaced', ...conn),
    );
    assert.equal(moved.count, 1);

    const next = await c.renewalInfo(old);
    assert.equal(TestAcme.shouldRenew(next), true, 'one poll after renew-now the client renews');
    const renewed = await issueOverHttp01(c, http01, { extra: { replaces: certIdOfPem(old) } });
    await verifyChain(renewed, sys.caFile);
    assert.notEqual(certIdOfPem(renewed), certIdOfPem(old));
    assert.equal(TestAcme.shouldRenew(await c.renewalInfo(renewed)), false, 'the new certificate is not due');

    // The client keeps polling renewalInfo; the polls carry out the revocation that fell due.
    await waitFor(
      'the old certificate revoked on schedule',
      async () => {
        await c.renewalInfo(renewed);
        const shown = JSON.parse(await operator.admin('renewals', 'show', oldSerial, ...conn)) as {
          override: { revokedByScheduleAt: string | null };
        };
        return shown.override.revokedByScheduleAt ?? new NotYet(JSON.stringify(shown.override));
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );

    // The edge serves the signer's CRL (cached at most 60 s): the old serial is in it, reason superseded.
    const crlText = await waitFor(
      `the edge's CRL listing ${oldSerial}`,
      async () => {
        const res = await fetch(`${sys.edgeUrl}/crl`);
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('content-type'), 'application/pkix-crl');
        const f = join(sys.dir, 'edge.crl');
        writeFileSync(f, new Uint8Array(await res.arrayBuffer()));
        const text = (await run('openssl', ['crl', '-inform', 'DER', '-in', f, '-noout', '-text'])).stdout;
        return text.includes(oldSerial.toUpperCase()) ? text : new NotYet('not in the CRL yet');
      },
      { timeoutMs: 90_000, intervalMs: 5000 },
    );
    assert.match(crlText, new RegExp(`Serial Number: ${oldSerial.toUpperCase()}`));
    assert.match(crlText, /Superseded/);
    // the edge recorded the revocation at the signer's time: the CRL's revocation date
    const entry = crlText.slice(crlText.indexOf(`Serial Number: ${oldSerial.toUpperCase()}`));
    const inCrl = Date.parse(/Revocation Date: (.+)/.exec(entry)![1]!.trim());
    const stored = JSON.parse(await operator.admin('cert', 'list', '--serial', oldSerial, ...conn)) as {
      certificates: { revokedAt: string }[];
    };
    assert.equal(stored.certificates[0]?.revokedAt, new Date(inCrl).toISOString());
  });
});
