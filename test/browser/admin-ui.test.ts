// The admin web UI in a real headless Chromium against the whole system (SoftHSM signer, HTTPS
// edge): a new admin makes a token with the CLI, logs in to /admin/ui, creates an EAB key, a real
// client (acme-client) bound to it gets a certificate, the admin sees it on the dashboard and
// revokes it in the UI, revokes the key, and the counters moved in /metrics on both services. The
// request id of finalize shows in the signer's log line too; no secret appears in any log line.
// Screenshots: test-artifacts/browser/*.png (desktop and 390 px phone width).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import acme from 'acme-client';
import type { Page } from 'playwright-core';
import { type ChallTestSrv, startChallTestSrv } from '../../harness/challtestsrv.ts';
import { type Http01Server, startHttp01Server } from '../../harness/http01.ts';
import { freePort } from '../../harness/ports.ts';
import { type System, startSystem } from '../support/system.ts';
import { verifyChain } from '../support/tools.ts';
import { type Chromium, launchChromium, shot } from './chromium.ts';

let sys: System;
let dns: ChallTestSrv;
let http01: Http01Server;
let chrome: Chromium;
let adminToken = '';
let hmacKey = '';

acme.setLogger(() => {});

const ca = () => readFileSync(sys.caFile);
async function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca: ca(), timeout: 10_000 }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}
const metric = (text: string, line: RegExp) =>
  Number(new RegExp(`^${line.source} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);

async function issue(client: acme.Client, name: string): Promise<string> {
  const [, csr] = await acme.crypto.createCsr({ altNames: [name], commonName: name });
  const order = await client.createOrder({ identifiers: [{ type: 'dns', value: name }] });
  for (const authz of await client.getAuthorizations(order)) {
    const ch = authz.challenges.find((c) => c.type === 'http-01')!;
    http01.set(ch.token, await client.getChallengeKeyAuthorization(ch));
    await client.completeChallenge(ch);
    await client.waitForValidStatus(ch);
  }
  const done = await client.finalizeOrder(order, csr);
  return client.getCertificate(await client.waitForValidStatus(done));
}

async function logIn(page: Page) {
  await page.goto(`${sys.edgeUrl}/admin/ui`);
  assert.match(page.url(), /\/admin\/ui\/login$/);
  await page.fill('input[name=token]', adminToken);
  await page.click('button[type=submit]');
  await page.waitForURL(/\/admin\/ui$/);
}

describe('admin UI in Chromium against the whole system', { timeout: 300_000 }, () => {
  before(async () => {
    dns = await startChallTestSrv();
    const port = await freePort();
    http01 = await startHttp01Server(port);
    sys = await startSystem({ dnsResolver: dns.dnsAddress, http01Port: port, eabRequired: true });
    acme.axios.defaults.httpsAgent = new https.Agent({ ca: ca() });
    chrome = await launchChromium();
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        'bin/edgeca.mjs',
        'admin',
        'token',
        'create',
        '--scope',
        'write',
        '--name',
        'alice',
        '--db',
        sys.dbUrl,
        '--json',
      ],
      { env: process.env },
    );
    adminToken = (JSON.parse(stdout) as { token: string }).token;
  });
  after(async () => {
    await chrome?.close();
    await sys?.stop();
    await http01?.close();
    await dns?.close();
  });

  test('create an EAB key, watch a real issuance, revoke it, see the counters move', async () => {
    const before = (await get(`${sys.edgeUrl}/metrics`)).body;
    const ctx = await chrome.context(1280);
    const page = await ctx.newPage();
    await page.goto(`${sys.edgeUrl}/admin/ui/login`);
    await page.screenshot({ path: shot('01-login'), fullPage: true });
    await logIn(page);
    await page.screenshot({ path: shot('02-dashboard-empty'), fullPage: true });

    await page.click('a[href="/admin/ui/eab"]');
    await page.fill('input[name=name]', 'team-web');
    await page.fill('input[name=allow]', '.web.test');
    await page.click('form.stack button[type=submit]');
    const kid = (await page.textContent('[data-field="eab-kid"]'))?.trim() ?? '';
    hmacKey = (await page.textContent('[data-field="eab-hmac"]'))?.trim() ?? '';
    assert.match(kid, /^eab-/);
    await page.screenshot({ path: shot('03-eab-created'), fullPage: true });

    const client = new acme.Client({
      directoryUrl: sys.directoryUrl,
      accountKey: await acme.crypto.createPrivateEcdsaKey(),
      externalAccountBinding: { kid, hmacKey },
    });
    await client.createAccount({ termsOfServiceAgreed: true });
    const chain = await issue(client, 'app.web.test');
    await verifyChain(chain, sys.caFile);
    const serial = new (await import('node:crypto')).X509Certificate(chain).serialNumber.toLowerCase();

    await page.goto(`${sys.edgeUrl}/admin/ui`);
    assert.equal((await page.textContent('[data-metric="issued-today"] b'))?.trim(), '1');
    assert.match((await page.textContent('main')) ?? '', /app\.web\.test/);
    await page.screenshot({ path: shot('04-dashboard-issued'), fullPage: true });

    await page.click('a[href="/admin/ui/certificates"]');
    await page.fill('input[name=identifier]', 'app.web.test');
    await page.click('.search button');
    await page.click(`a[href="/admin/ui/certificates/${serial}"]`);
    assert.match((await page.textContent('[data-field="state"]')) ?? '', /active/);
    await page.selectOption('select[name=reason]', '4');
    await page.click('button.danger');
    assert.match((await page.textContent('.flash')) ?? '', /revoked/);
    assert.match((await page.textContent('[data-field="state"]')) ?? '', /revoked/);
    await page.screenshot({ path: shot('05-certificate-revoked'), fullPage: true });

    await page.goto(`${sys.edgeUrl}/admin/ui/eab`);
    await page.click(`form[action="/admin/ui/eab/${kid}/revoke"] button`);
    assert.match((await page.textContent('.flash')) ?? '', new RegExp(`${kid} revoked`));
    assert.doesNotMatch((await page.content()) ?? '', new RegExp(hmacKey), 'the HMAC key is shown once only');
    await page.goto(`${sys.edgeUrl}/admin/ui/changes`);
    assert.match((await page.textContent('main')) ?? '', /eab\.create[\s\S]*/);
    await ctx.close();

    const after = (await get(`${sys.edgeUrl}/metrics`)).body;
    const moved = (re: RegExp) => metric(after, re) - metric(before, re);
    assert.equal(moved(/edgeca_orders_finished_total\{status="valid",reason="issued"\}/), 1);
    assert.equal(moved(/edgeca_validations_total\{type="http-01",result="valid"\}/), 1);
    assert.equal(moved(/edgeca_relay_duration_seconds_count\{op="sign",outcome="issued"\}/), 1);
    assert.equal(moved(/edgeca_relay_duration_seconds_count\{op="revoke",outcome="revoked"\}/), 1);
    assert.equal(moved(/edgeca_issuance_duration_seconds_count/), 1);
    assert.equal(metric(after, /edgeca_certificates\{state="revoked"\}/), 1);
    assert.ok(
      moved(/edgeca_http_requests_total\{method="POST",route="\/admin\/ui\/eab",status="200"\}/) >= 1,
    );

    const signer = await fetch(`${sys.signerUrl}/metrics`).then((r) => r.text());
    assert.ok(metric(signer, /edgeca_signer_hsm_sign_duration_seconds_count\{outcome="ok"\}/) >= 1);
    assert.equal(
      metric(signer, /edgeca_signer_requests_total\{method="POST",path="\/v1\/sign",status="200"\}/),
      1,
    );
    assert.equal(metric(signer, /edgeca_signer_hsm_up/), 1);
    assert.equal((await fetch(`${sys.signerUrl}/ready`)).status, 200);
    const ready = await get(`${sys.edgeUrl}/ready`);
    assert.equal(ready.status, 200, ready.body);

    // The finalize request's id is in the edge's line and in the signer's line for /v1/sign.
    const signed = sys.logs.find((l) => l.path === '/v1/sign' && l.status === 200);
    assert.ok(typeof signed?.rid === 'string', 'the signer logs the relayed rid');
    const edgeLine = sys.logs.find((l) => l.event === 'request' && l.rid === signed.rid);
    assert.match(String(edgeLine?.path), /\/finalize$/);
  });

  test('the UI is usable at phone width (390 px)', async () => {
    const ctx = await chrome.context(390, 844);
    const page = await ctx.newPage();
    await logIn(page);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow} px`);
    await page.screenshot({ path: shot('06-phone-dashboard'), fullPage: true });
    await page.goto(`${sys.edgeUrl}/admin/ui/certificates`);
    assert.ok((await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)) <= 0);
    const box = await page.locator('.search button').boundingBox();
    assert.ok(box && box.x + box.width <= 390, 'the search button is on screen');
    await page.screenshot({ path: shot('07-phone-certificates'), fullPage: true });
    await page.goto(`${sys.edgeUrl}/admin/ui/eab`);
    await page.screenshot({ path: shot('08-phone-eab'), fullPage: true });
    await ctx.close();
  });

  test('edgeca status shows both services ready, the HSM session and the last (revoked) issuance', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['bin/edgeca.mjs', 'status', '--edge', sys.edgeUrl, '--signer', sys.signerUrl, '--ca-file', sys.caFile],
      { env: { ...process.env, EDGECA_ADMIN_TOKEN: adminToken } },
    );
    assert.match(stdout, /^ok {3}edge .* live, ready$/m);
    assert.match(stdout, /^ok {3}signer .* live, ready$/m);
    assert.match(stdout, /session open/);
    assert.match(stdout, /app\.web\.test .*\(revoked\)/);
    assert.doesNotMatch(stdout, new RegExp(adminToken));
  });

  test('no log line of the run holds a secret (HSM PIN, admin token, EAB HMAC key, private keys)', () => {
    assert.ok(sys.logs.length > 20, `${sys.logs.length} log lines captured`);
    const text = sys.logs.map((l) => JSON.stringify(l)).join('\n');
    const pin = readFileSync(sys.init.pinFile, 'utf8').trim();
    const relayD = (JSON.parse(readFileSync(sys.init.relayKeyFile, 'utf8')) as { d: string }).d;
    const validatorD = (JSON.parse(readFileSync(sys.init.validatorKeyFile, 'utf8')) as { d: string }).d;
    const secrets: [string, string][] = [
      ['HSM PIN', pin],
      ['admin token', adminToken],
      ['admin token without its prefix', adminToken.replace(/^edgeca_admin_/, '')],
      ['EAB HMAC key', hmacKey],
      ['relay private key d', relayD],
      ['validator private key d', validatorD],
    ];
    for (const [what, value] of secrets) {
      assert.ok(value.length >= 4, `${what} is known to the test`);
      assert.ok(!text.includes(value), `a log line holds the ${what}`);
    }
  });
});
