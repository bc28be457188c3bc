// The Webhooks and Trends pages in a real headless Chromium: an admin registers a webhook through
// the UI (the secret shown once), certificates are issued, renewed and revoked through the edge's
// repositories (the state changes that write the outbox; no signer in this test), the events run
// posts each to a receiver on 127.0.0.1 that verifies every Standard Webhooks signature, the
// endpoint's page shows each delivery with its last answer, and the charts render from that data
// as SVG at desktop and 390 px phone width. Screenshots: test-artifacts/browser/webhooks-*.png,
// trends-*.png.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { serve } from '@hono/node-server';
import type { Page } from 'playwright-core';
import { runEvents } from '../../edge/events/delivery.ts';
import { freePort } from '../../harness/ports.ts';
import { seedCertificate } from '../support/certificate-rows.ts';
import { type InprocEdge, startInprocEdge } from '../support/edge-app.ts';
import { type Delivery, startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';
import { type Chromium, launchChromium, shot } from './chromium.ts';

const HOUR = 3_600_000;
let edge: InprocEdge;
let server: ReturnType<typeof serve>;
let base = '';
let chrome: Chromium;
let token = '';
let receiver: WebhookReceiver | undefined;
const received: Delivery[] = [];
let secret = '';

function issue(name: string, ageHours: number, lifetimeHours: number, replaces: string | null = null) {
  const notBefore = Date.now() - ageHours * HOUR;
  return seedCertificate(edge, {
    id: `c-${name}-${ageHours}`,
    names: [name],
    notBefore,
    notAfter: notBefore + lifetimeHours * HOUR,
    accountId: 'acct-ui',
    serial: randomBytes(16).toString('hex'),
    replaces,
  });
}

async function logIn(page: Page) {
  await page.goto(`${base}/admin/ui`);
  await page.fill('input[name=token]', token);
  await page.click('button[type=submit]');
  await page.waitForURL(/\/admin\/ui$/);
}

describe('webhooks and charts in Chromium', { timeout: 180_000 }, () => {
  before(async () => {
    receiver = await startWebhookReceiver(() => secret, received);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    edge = await startInprocEdge({ config: { baseUrl: base, webhookTestTargets: true } });
    server = serve({ fetch: edge.app.fetch, hostname: '127.0.0.1', port });
    const { admin } = await edge.svc.stores();
    const t = await admin.newToken('ui', 'write');
    await admin.commit([t.stmt], {
      tokenId: 'cli',
      action: 'token.create',
      target: 't',
      before: null,
      after: null,
    });
    token = t.token;
    chrome = await launchChromium();
  });
  after(async () => {
    await chrome?.close();
    server?.close();
    receiver?.close();
    edge?.close();
  });

  test('registers a webhook in the UI and every delivery arrives signed and verified', async () => {
    const ctx = await chrome.context(1280);
    const page = await ctx.newPage();
    await logIn(page);
    await page.goto(`${base}/admin/ui/webhooks`);
    // a refused URL is explained and nothing is registered
    await page.fill('input[name=url]', 'https://169.254.169.254/latest');
    await page.check('input[name="event.certificate.issued"]');
    await page.click('form.stack button[type=submit]');
    assert.match((await page.textContent('.flash.err')) ?? '', /metadata/);
    await page.fill('input[name=url]', receiver?.url ?? '');
    for (const t of [
      'certificate.issued',
      'certificate.renewed',
      'certificate.revoked',
      'certificate.expiring',
    ])
      await page.check(`input[name="event.${t}"]`);
    await page.click('form.stack button[type=submit]');
    secret = ((await page.textContent('[data-field=webhook-secret]')) ?? '').trim();
    assert.match(secret, /^whsec_/);
    await page.screenshot({ path: shot('webhooks-registered-desktop'), fullPage: true });

    const first = await issue('app.example.internal', 1, 24);
    await issue('app.example.internal', 0, 24, 'aki.serial');
    assert.ok(await edge.svc.certificates.markRevoked(first.id, 4, Date.now()));
    // one that runs out unreplaced: 23 of its 24 hours gone
    await issue('lonely.example.internal', 23, 24);
    const run = await runEvents(edge.svc);
    assert.equal(run.expiring, 1, JSON.stringify(run));
    assert.equal(run.delivered, 5, JSON.stringify(run));
    assert.deepEqual(received.map((r) => r.type).sort(), [
      'certificate.expiring',
      'certificate.issued',
      'certificate.issued',
      'certificate.renewed',
      'certificate.revoked',
    ]);
    assert.ok(received.every((r) => r.verified));

    await page.goto(`${base}/admin/ui/webhooks`);
    await page.click('a[data-webhook]');
    assert.equal(await page.locator('[data-delivery] .st-delivered').count(), 5);
    await page.screenshot({ path: shot('webhooks-deliveries-desktop'), fullPage: true });
    await ctx.close();
  });

  test('the Trends page draws the charts from real data, at desktop and phone width', async () => {
    for (const width of [1280, 390]) {
      const ctx = await chrome.context(width);
      const page = await ctx.newPage();
      await logIn(page);
      await page.goto(`${base}/admin/ui/trends`);
      for (const chart of ['issuance', 'expiry']) {
        const svg = page.locator(`[data-chart=${chart}] svg`);
        const box = await svg.boundingBox();
        assert.ok(
          box && box.width <= width && box.width > 200,
          `${chart} fits ${width} px: ${JSON.stringify(box)}`,
        );
        assert.ok((await page.locator(`[data-chart=${chart}] rect`).count()) > 0, `${chart} has bars`);
      }
      const label = (await page.locator('[data-chart=issuance] svg').getAttribute('aria-label')) ?? '';
      assert.match(label, /issued 3$/);
      const expiry = (await page.locator('[data-chart=expiry] svg').getAttribute('aria-label')) ?? '';
      assert.match(expiry, /expiring \d+, already replaced \d+/);
      assert.equal(await page.locator('script').count(), 0);
      const scroll = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(scroll <= width, `no sideways scroll at ${width} px (page is ${scroll} px)`);
      await page.screenshot({ path: shot(`trends-${width}`), fullPage: true });
      await ctx.close();
    }
  });
});
