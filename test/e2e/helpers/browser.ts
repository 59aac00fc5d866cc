/** Headless Chromium for browser tests (Debian's /usr/bin/chromium driven by playwright-core). */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type LaunchOptions } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const launchOptions: LaunchOptions = {
  executablePath: CHROMIUM_PATH,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
};

/**
 * true when Chromium is installed. Outside CI a missing browser skips the browser tests with a
 * note; in CI (`CI` set) it fails them: `.ci/system-deps` must have installed it.
 */
export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM_PATH)) return true;
  if (process.env.CI) throw new Error(`Chromium not found at ${CHROMIUM_PATH}; CI installs it with .ci/system-deps (apt-get install chromium)`);
  console.warn(`browser tests skipped: no Chromium at ${CHROMIUM_PATH} (apt-get install chromium)`);
  return false;
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch(launchOptions);
}
