// The incident page in a real headless Chromium against the whole system (SoftHSM signer, HTTPS
// edge): an admin logs in, previews the bulk revocation of one account's certificates with reason
// keyCompromise (nothing changes), confirms, sees each serial revoked, finds them in the signer's
// CRL and their keys among the blocked keys. Screenshots: test-artifacts/browser/incident-*.png.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TestAcme } from '../support/acme.ts';
import { cliWriteToken, IncidentRig } from '../support/incident.ts';
import { type System, startSystem } from '../support/system.ts';
import { type Chromium, launchChromium, shot } from './chromium.ts';

const SUFFIX = '.ui-incident.test';
let sys: System;
let rig: IncidentRig;
let chrome: Chromium;
let a: TestAcme;
let b: TestAcme;

describe('incident page in Chromium against the whole system', { timeout: 300_000 }, () => {
  before(async () => {
    sys = await startSystem();
    rig = new IncidentRig(sys, await cliWriteToken(sys));
    a = await rig.preauthorizedAccount('team-a', SUFFIX);
    b = await rig.preauthorizedAccount('team-b', SUFFIX);
    chrome = await launchChromium();
  });
  after(async () => {
    await chrome?.close();
    await sys?.stop();
  });

  test('preview, confirm, and the serials are in the CRL with their keys blocked', async () => {
    const mine = [
      (await rig.issue(a, `one${SUFFIX}`)).serial,
      (await rig.issue(a, `two${SUFFIX}`)).serial,
    ].sort();
    const theirs = (await rig.issue(b, `three${SUFFIX}`)).serial;
    const accountA = a.kid!.split('/').pop()!;

    const ctx = await chrome.context(1280);
    const page = await ctx.newPage();
    await page.goto(`${sys.edgeUrl}/admin/ui`);
    await page.fill('input[name=token]', rig.token);
    await page.click('button[type=submit]');
    await page.waitForURL(/\/admin\/ui$/);
    await page.click('a[href="/admin/ui/incident"]');
    await page.fill('input[name=account]', accountA);
    await page.selectOption('select[name=reason]', '1');
    await page.click('form[action="/admin/ui/incident/preview"] button[type=submit]');
    await page.waitForSelector('text=Preview only: nothing has been revoked yet.');
    await page.screenshot({ path: shot('incident-1-preview'), fullPage: true });
    const previewed = (await page.locator('[data-field=serial]').allTextContents())
      .map((x) => x.trim())
      .sort();
    assert.deepEqual(previewed, mine, "the preview lists exactly the account's certificates");
    const crlBefore = await rig.signerCrl();
    for (const serial of mine)
      assert.ok(!crlBefore.has(serial.replace(/^0+/, '')), 'nothing revoked by the preview');

    await page.click('button[data-action=confirm]');
    await page.waitForSelector('text=Done: every matching certificate is revoked');
    await page.screenshot({ path: shot('incident-2-result'), fullPage: true });
    assert.deepEqual(await page.locator('[data-field=outcome]').allTextContents(), ['revoked', 'revoked']);

    const crl = await rig.signerCrl();
    for (const serial of mine)
      assert.equal(crl.get(serial.replace(/^0+/, '')), 1, `${serial} in the CRL as keyCompromise`);
    assert.ok(!crl.has(theirs.replace(/^0+/, '')), "the other account's certificate is untouched");

    await page.goto(`${sys.edgeUrl}/admin/ui/incident`);
    assert.equal(await page.locator('[data-field=blocked-key]').count(), 2, 'both keys are blocked');
    const phone = await chrome.context(390);
    const small = await phone.newPage();
    await small.context().addCookies(await ctx.cookies());
    await small.goto(`${sys.edgeUrl}/admin/ui/incident`);
    await small.screenshot({ path: shot('incident-3-phone'), fullPage: true });
    await phone.close();
    await ctx.close();
  });
});
