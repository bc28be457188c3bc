// Real ACME client #1: the acme-client npm package against the whole system (signer on SoftHSM,
// edge over HTTPS, pebble-challtestsrv as DNS). Covers what the Debian clients cannot: IP
// identifiers (RFC 8738) and full control of EAB. Every chain is verified with openssl.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { after, before, describe, test } from 'node:test';
import acme from 'acme-client';
import { type ChallTestSrv, startChallTestSrv } from '../../harness/challtestsrv.ts';
import { type Http01Server, startHttp01Server } from '../../harness/http01.ts';
import { freePort } from '../../harness/ports.ts';
import { createEab, type System, startSystem } from '../support/system.ts';
import { verifyChain } from '../support/tools.ts';

let sys: System;
let dns: ChallTestSrv;
let http01: Http01Server;

acme.setLogger(() => {});

async function client(opts: { eab?: { kid: string; hmacKey: string } } = {}) {
  return new acme.Client({
    directoryUrl: sys.directoryUrl,
    accountKey: await acme.crypto.createPrivateEcdsaKey(),
    ...(opts.eab ? { externalAccountBinding: opts.eab } : {}),
  });
}

type Challenge = { type: string; token: string };

async function issue(
  c: acme.Client,
  names: string[],
  prefer: 'http-01' | 'dns-01' = 'http-01',
): Promise<string> {
  const [, csr] = await acme.crypto.createCsr({
    altNames: names,
    ...(names[0] && !/^[\d.:]+$/.test(names[0]) ? { commonName: names[0] } : {}),
  });
  return c.auto({
    csr,
    email: 'ops@example.com',
    termsOfServiceAgreed: true,
    skipChallengeVerification: true,
    challengePriority: [prefer],
    challengeCreateFn: async (authz, ch: Challenge, keyAuthorization) => {
      if (ch.type === 'http-01') http01.set(ch.token, keyAuthorization);
      else await dns.setTxt(`_acme-challenge.${authz.identifier.value}`, keyAuthorization);
    },
    challengeRemoveFn: async (authz, ch: Challenge) => {
      if (ch.type === 'http-01') http01.remove(ch.token);
      else await dns.clearTxt(`_acme-challenge.${authz.identifier.value}`);
    },
  });
}

describe('acme-client against edgeca', { timeout: 240_000 }, () => {
  before(async () => {
    dns = await startChallTestSrv();
    const port = await freePort();
    http01 = await startHttp01Server(port);
    sys = await startSystem({ dnsResolver: dns.dnsAddress, http01Port: port });
    acme.axios.defaults.httpsAgent = new https.Agent({ ca: readFileSync(sys.caFile) });
  });
  after(async () => {
    await sys?.stop();
    await http01?.close();
    await dns?.close();
  });

  test('issues a single-name certificate over http-01 that verifies to the root', async () => {
    const chain = await issue(await client(), ['single.edgeca.test']);
    await verifyChain(chain, sys.caFile, { purpose: 'sslserver' });
  });

  test('issues a three-name SAN certificate', async () => {
    const names = ['a.san.test', 'b.san.test', 'c.san.test'];
    const chain = await issue(await client(), names);
    await verifyChain(chain, sys.caFile);
    const { X509Certificate } = await import('node:crypto');
    const san = new X509Certificate(chain).subjectAltName ?? '';
    for (const n of names) assert.match(san, new RegExp(`DNS:${n.replace(/\./g, '\\.')}`));
  });

  test('renews with a new serial', async () => {
    const c = await client();
    const { X509Certificate } = await import('node:crypto');
    const first = new X509Certificate(await issue(c, ['renew.edgeca.test'])).serialNumber;
    const second = new X509Certificate(await issue(c, ['renew.edgeca.test'])).serialNumber;
    assert.notEqual(first, second);
  });

  test('revokes a certificate, which then appears in the CRL', async () => {
    const c = await client();
    const chain = await issue(c, ['revoke.edgeca.test']);
    await c.revokeCertificate(chain, { reason: 4 });
    const { X509Certificate } = await import('node:crypto');
    const serial = new X509Certificate(chain).serialNumber.toUpperCase();
    const res = await new Promise<Buffer>((resolve, reject) => {
      https
        .get(`${sys.edgeUrl}/crl`, { ca: readFileSync(sys.caFile) }, (r) => {
          const parts: Buffer[] = [];
          r.on('data', (d: Buffer) => parts.push(d));
          r.on('end', () => resolve(Buffer.concat(parts)));
        })
        .on('error', reject);
    });
    const { spawnSync } = await import('node:child_process');
    const text = spawnSync('openssl', ['crl', '-inform', 'DER', '-noout', '-text'], {
      input: res,
    }).stdout.toString();
    assert.match(text.replace(/:/g, '').toUpperCase(), new RegExp(serial.replace(/^0+/, '')));
  });

  test('issues over dns-01, wildcard included', async () => {
    const chain = await issue(await client(), ['*.wild.edgeca.test', 'wild.edgeca.test'], 'dns-01');
    await verifyChain(chain, sys.caFile);
  });

  test('binds an account with EAB and refuses a second binding of the same key', async () => {
    const eab = await createEab(sys);
    const chain = await issue(await client({ eab }), ['eab.edgeca.test']);
    await verifyChain(chain, sys.caFile);
    const second = await client({ eab });
    await assert.rejects(second.createAccount({ termsOfServiceAgreed: true }), /already bound/);
  });

  test('issues for an IPv4 identifier (RFC 8738) through the step-by-step API', async () => {
    // acme-client's auto() sends every name as a dns identifier; drive the order by hand instead.
    const c = await client();
    await c.createAccount({ termsOfServiceAgreed: true });
    const order = await c.createOrder({ identifiers: [{ type: 'ip', value: '127.0.0.1' }] });
    for (const authz of await c.getAuthorizations(order)) {
      const ch = authz.challenges.find((x) => x.type === 'http-01');
      assert.ok(ch, 'an IP authorization offers http-01');
      assert.ok(
        !authz.challenges.some((x) => x.type === 'dns-01'),
        'RFC 8738 §7: no dns-01 for IP identifiers',
      );
      http01.set(ch.token, await c.getChallengeKeyAuthorization(ch));
      await c.completeChallenge(ch);
      await c.waitForValidStatus(ch);
    }
    const [, csr] = await acme.crypto.createCsr({ altNames: ['127.0.0.1'] });
    const finalized = await c.finalizeOrder(order, csr);
    const chain = await c.getCertificate(await c.waitForValidStatus(finalized));
    await verifyChain(chain, sys.caFile);
    const { X509Certificate } = await import('node:crypto');
    assert.match(new X509Certificate(chain).subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
  });
});
