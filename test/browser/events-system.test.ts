// Events and webhooks end to end with real parts: the signer on a SoftHSM token, the Node edge over
// HTTPS, the project's ACME client, headless Chromium. An admin registers a webhook for every event
// type through the web UI (the secret shown once); a short-lived profile (the shortest validity the
// profile schema allows) and the events settings (expiry share, watch interval) are set through the
// admin API; a certificate is issued, renewed with `replaces` (RFC 9773 §5) and the old one revoked
// over ACME; one short-lived certificate is issued and never renewed. The receiver on 127.0.0.1
// verifies every Standard Webhooks signature with the secret the UI showed, and must see
// certificate.issued, certificate.renewed, certificate.revoked and certificate.expiring for exactly
// these certificates; the endpoint's page in the UI lists each delivery as delivered, and the
// Trends page charts the issuance.
// Screenshots: test-artifacts/browser/events-system-*.png.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as x509 from '@peculiar/x509';
import type { Page } from 'playwright-core';
import { EVENT_TYPES } from '../../edge/storage/event-catalog.ts';
import { makeCsr } from '../../harness/csr.ts';
import { NotYet, waitFor } from '../../harness/wait.ts';
import { certIdOfPem, type TestAcme } from '../support/acme.ts';
import { cliWriteToken, IncidentRig } from '../support/incident.ts';
import { type System, startSystem } from '../support/system.ts';
import { type Delivery, startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';
import { type Chromium, launchChromium, shot } from './chromium.ts';

type Order = { status: string; finalize: string; certificate?: string; error?: unknown };

let sys: System;
let rig: IncidentRig;
let chrome: Chromium;
let receiver: WebhookReceiver | undefined;
let secret = '';
const received: Delivery[] = [];

/** The leaf of a PEM chain as base64url DER (the `certificate` of an ACME revokeCert, RFC 8555 §7.6). */
function leafB64u(pem: string): string {
  const m = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(pem);
  assert.ok(m, 'a PEM chain');
  return Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64').toString('base64url');
}

/** newOrder (pre-authorized names) with an optional profile and `replaces` → finalize → the chain. */
async function issue(c: TestAcme, name: string, extra: { profile?: string; replaces?: string } = {}) {
  const res = await c.post(c.dir.newOrder, { identifiers: [{ type: 'dns', value: name }], ...extra });
  assert.equal(res.status, 201, await res.clone().text());
  const url = res.headers.get('location')!;
  const order = await c.poll<Order>(url, (o) => o.status === 'ready');
  const fin = await c.post(order.finalize, { csr: (await makeCsr([name])).b64u });
  assert.equal(fin.status, 200, await fin.clone().text());
  const done = await c.poll<Order>(url, (o) => o.status === 'valid' || o.status === 'invalid');
  assert.equal(done.status, 'valid', JSON.stringify(done.error));
  return (await c.post(done.certificate!, '')).text();
}

async function serialOf(name: string, notSerials: string[] = []): Promise<string> {
  const { certificates } = await rig.adminOk<{ certificates: { serial: string }[] }>(
    'GET',
    `/certificates?identifier=${name}`,
  );
  const fresh = certificates.filter((x) => !notSerials.includes(x.serial));
  assert.equal(fresh.length, 1, JSON.stringify(certificates));
  return fresh[0]!.serial;
}

async function logIn(page: Page, token: string) {
  await page.goto(`${sys.edgeUrl}/admin/ui`);
  await page.fill('input[name=token]', token);
  await page.click('button[type=submit]');
  await page.waitForURL(/\/admin\/ui$/);
}

const ofType = (type: string) => received.filter((r) => r.type === type);

describe('events and webhooks over the whole system, seen in Chromium', { timeout: 300_000 }, () => {
  before(async () => {
    receiver = await startWebhookReceiver(() => secret, received);
    sys = await startSystem({ env: { EDGECA_WEBHOOK_TEST_TARGETS: 'true' } });
    rig = new IncidentRig(sys, await cliWriteToken(sys));
    chrome = await launchChromium();
  });
  after(async () => {
    await chrome?.close();
    receiver?.close();
    await sys?.stop();
  });

  test('issued, renewed, revoked and expiring-unreplaced arrive signed, verified and listed as delivered', async () => {
    // A profile of the shortest validity allowed, and an expiry watch that reports a certificate
    // with 90 % of its lifetime left, every second: the short one is reported within seconds.
    const profile = await rig.adminOk<{ validitySeconds: number }>('PUT', '/profiles/short', {
      description: 'one minute',
      validitySeconds: 60,
      signerProfile: 'default',
    });
    assert.equal(profile.validitySeconds, 60);
    const tooShort = await rig.admin('PUT', '/profiles/shorter', { validitySeconds: 59 });
    assert.equal(tooShort.status, 400, '60 s is the shortest validity a profile may have');
    const settings = await rig.adminOk<{ expiryWarnShare: number; intervalSeconds: number }>(
      'PUT',
      '/webhook-settings',
      { expiryWarnShare: 0.9, intervalSeconds: 1 },
    );
    assert.deepEqual([settings.expiryWarnShare, settings.intervalSeconds], [0.9, 1]);

    // The webhook, registered in the UI for every event type; the secret is shown once.
    const ctx = await chrome.context(1280);
    const page = await ctx.newPage();
    await logIn(page, rig.token);
    await page.goto(`${sys.edgeUrl}/admin/ui/webhooks`);
    await page.fill('input[name=url]', receiver?.url ?? '');
    for (const t of EVENT_TYPES) await page.check(`input[name="event.${t}"]`);
    await page.click('form.stack button[type=submit]');
    secret = ((await page.textContent('[data-field=webhook-secret]')) ?? '').trim();
    assert.match(secret, /^whsec_/);
    await page.screenshot({ path: shot('events-system-registered'), fullPage: true });

    // Real issuance over ACME: issue, renew with `replaces`, revoke the replaced one; then one
    // short-lived certificate that is never renewed.
    const acme = await rig.preauthorizedAccount('events', '.events.test');
    const firstPem = await issue(acme, 'app.events.test');
    const first = await serialOf('app.events.test');
    await issue(acme, 'app.events.test', { replaces: certIdOfPem(firstPem) });
    const renewed = await serialOf('app.events.test', [first]);
    const rev = await acme.post(acme.dir.revokeCert, { certificate: leafB64u(firstPem), reason: 4 });
    assert.equal(rev.status, 200, await rev.clone().text());
    const lonelyPem = await issue(acme, 'lonely.events.test', { profile: 'short' });
    const leaf = new x509.X509Certificate(lonelyPem);
    const lifetime = leaf.notAfter.getTime() - leaf.notBefore.getTime();
    assert.equal(lifetime, 60_000, 'the short profile issues for 60 s');
    const lonely = await serialOf('lonely.events.test');

    // The edge's own loop runs every second; /admin/webhooks/run makes it prompt. Bounded: 90 s.
    const want = ['certificate.issued', 'certificate.renewed', 'certificate.revoked', 'certificate.expiring'];
    const seen = () => want.every((t) => ofType(t).length > 0) && ofType('certificate.issued').length >= 2;
    await waitFor(
      'the receiver got every kind of event',
      async () => {
        if (seen()) return true;
        await rig.adminOk('POST', '/webhooks/run');
        return seen() ? true : new NotYet(`got ${JSON.stringify(received.map((r) => r.type))}`);
      },
      { timeoutMs: 90_000, intervalMs: 1000 },
    );
    const summary = JSON.stringify(received.map((r) => [r.type, r.data.serial, r.verified]));
    assert.ok(received.length > 0, 'the receiver got deliveries');
    assert.ok(
      received.every((r) => r.verified),
      `every delivery verifies with the secret the UI showed: ${summary}`,
    );
    const serials = (type: string) => ofType(type).map((r) => String(r.data.serial));
    assert.deepEqual(serials('certificate.issued').sort(), [first, lonely].sort(), summary);
    assert.deepEqual(serials('certificate.renewed'), [renewed], summary);
    assert.equal(ofType('certificate.renewed')[0]!.data.replaces, certIdOfPem(firstPem));
    assert.deepEqual(serials('certificate.revoked'), [first], summary);
    assert.equal(ofType('certificate.revoked')[0]!.data.reason, 4);
    // Only the short one is expiring unreplaced: the first was replaced (and revoked), the renewed
    // one has most of its default lifetime left.
    assert.deepEqual(serials('certificate.expiring'), [lonely], summary);
    assert.equal(new Set(received.map((r) => r.id)).size, received.length, 'one delivery per event id');

    // The endpoint's page lists every delivery as delivered.
    await page.goto(`${sys.edgeUrl}/admin/ui/webhooks`);
    await page.click('a[data-webhook]');
    assert.equal(await page.locator('[data-delivery]').count(), received.length);
    assert.equal(await page.locator('[data-delivery] .st-delivered').count(), received.length);
    await page.screenshot({ path: shot('events-system-deliveries'), fullPage: true });

    // The Trends charts draw this real data: three certificates issued in the last hours.
    await page.goto(`${sys.edgeUrl}/admin/ui/trends`);
    const label = (await page.locator('[data-chart=issuance] svg').getAttribute('aria-label')) ?? '';
    assert.match(label, /issued 3$/);
    assert.ok((await page.locator('[data-chart=expiry] rect').count()) > 0, 'the expiry timeline has bars');
    await page.screenshot({ path: shot('events-system-trends'), fullPage: true });
    await ctx.close();
  });
});
