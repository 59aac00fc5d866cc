/**
 * `npm run market:icon`: renders the Market icon (manifest/market/icon.svg) to
 * manifest/market/icon.png in Chromium (playwright-core, Debian's /usr/bin/chromium), at
 * ICON_SIZE × ICON_SIZE on an opaque background: the Market takes a square JPEG or PNG of
 * 250–650 px without transparency
 * (https://apidocs.bitrix24.com/market/preparing-to-publish/common-requirements.html, item 10).
 * The screenshots come from the browser test: `npm run market:screenshots` (docs/market.md).
 */
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

export const ICON_SIZE = 512;
const dir = new URL('../manifest/market/', import.meta.url);

async function main(): Promise<void> {
  const svg = readFileSync(new URL('icon.svg', dir), 'utf8');
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage({ viewport: { width: ICON_SIZE, height: ICON_SIZE }, deviceScaleFactor: 1 });
    await page.setContent(`<!doctype html><html><body style="margin:0;background:#fff">${svg}</body></html>`);
    await page.screenshot({ path: new URL('icon.png', dir).pathname, clip: { x: 0, y: 0, width: ICON_SIZE, height: ICON_SIZE }, omitBackground: false });
  } finally {
    await browser.close();
  }
  process.stdout.write(`manifest/market/icon.png: ${ICON_SIZE}×${ICON_SIZE}\n`);
}

await main();
