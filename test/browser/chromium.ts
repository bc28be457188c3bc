// Debian's Chromium driven by playwright-core (no browser download): headless, sandbox off (tests
// run as root), no background networking (this machine's network is closed), a fresh profile per
// launch (playwright makes a new empty --user-data-dir each time). Screenshots go to test-artifacts/browser/.
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Browser, type BrowserContext, chromium } from 'playwright-core';

export const CHROMIUM = process.env.EDGECA_CHROMIUM ?? '/usr/bin/chromium';
export const ARTIFACTS = resolve(import.meta.dirname, '../../test-artifacts/browser');

export interface Chromium {
  browser: Browser;
  /** a context that trusts nothing but ignores the test CA's HTTPS errors, at a given width */
  context(width: number, height?: number): Promise<BrowserContext>;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Chromium> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 60_000,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  mkdirSync(ARTIFACTS, { recursive: true });
  return {
    browser,
    context: (width, height = 900) =>
      browser.newContext({ viewport: { width, height }, ignoreHTTPSErrors: true, deviceScaleFactor: 1 }),
    async close() {
      await browser.close();
    },
  };
}

export const shot = (name: string) => join(ARTIFACTS, `${name}.png`);
