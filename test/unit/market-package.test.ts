/**
 * The Market package (docs/market.md) is complete: the listing in the five languages, the icon
 * (SVG source and its PNG: square, 250–650 px, no transparency) and the screenshots (PNG, at most
 * 1280 × 720) as the Market asks for them
 * (https://apidocs.bitrix24.com/market/preparing-to-publish/common-requirements.html, items 10–12),
 * read from the files' own PNG headers; the privacy and terms links of the listing are pages the
 * app serves, and every relative link of the package's documents leads to a file that exists.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { LOCALES } from '../../src/scoring/index.js';
import { createLegalRouter } from '../../src/server/legal.js';

const MARKET = 'manifest/market/';
const SCREENSHOTS = ['1-segments', '2-dashboard', '3-contact-card', '4-settings'];

/** width, height, colour type of a PNG file, from its IHDR chunk (PNG spec §11.2.2). */
function pngHeader(path: string): { width: number; height: number; colorType: number } {
  const b = readFileSync(path);
  expect(b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), `${path} is a PNG`).toBe(true);
  expect(b.subarray(12, 16).toString('latin1')).toBe('IHDR');
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20), colorType: b[25]! };
}

describe('market package', () => {
  it('the listing exists in every language of the app', () => {
    for (const lang of LOCALES) expect(readFileSync(`${MARKET}${lang}.md`, 'utf8').length, lang).toBeGreaterThan(1000);
  });

  it('the icon: an SVG source and its PNG, square, 250–650 px, without an alpha channel', () => {
    const svg = readFileSync(`${MARKET}icon.svg`, 'utf8');
    expect(svg).toMatch(/<svg[^>]*width="512"[^>]*height="512"/);
    const png = pngHeader(`${MARKET}icon.png`);
    expect(png.width).toBe(png.height);
    expect(png.width).toBeGreaterThanOrEqual(250);
    expect(png.width).toBeLessThanOrEqual(650);
    // colour types 0 (grey) and 2 (RGB) carry no alpha; 4 and 6 do
    expect([0, 2]).toContain(png.colorType);
  });

  it('the screenshots: segment list, dashboard, contact card, settings; PNG, at most 1280 × 720', () => {
    for (const name of SCREENSHOTS) {
      const png = pngHeader(`${MARKET}screenshots/${name}.png`);
      expect(png.width, name).toBeLessThanOrEqual(1280);
      expect(png.height, name).toBeLessThanOrEqual(720);
      expect(png.width * 9, `${name} is a full screen, not a detail`).toBeGreaterThanOrEqual(png.height * 12);
    }
  });

  it('the listing\'s privacy and terms links are pages the app serves, with the documents\' text', async () => {
    const app = express().use(createLegalRouter());
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      for (const lang of LOCALES) {
        const links = [...readFileSync(`${MARKET}${lang}.md`, 'utf8').matchAll(/https:\/\/b24-segments\.example(\/[a-z]+)/g)].map((m) => m[1]!);
        expect(links.sort(), lang).toEqual(['/privacy', '/terms']);
        for (const path of links) {
          const r = await fetch(`${base}${path}`);
          expect(r.status, path).toBe(200);
          expect(r.headers.get('content-type')).toMatch(/^text\/html/);
          const doc = readFileSync(`docs${path}.md`, 'utf8');
          const heading = /^# (.+)$/m.exec(doc)![1]!;
          expect(await r.text()).toContain(`<title>${heading}</title>`);
        }
      }
      expect((await fetch(`${base}/privacy/../../package.json`)).status).not.toBe(200);
    } finally {
      server.close();
    }
  });

  it('every relative link of the package\'s documents leads to a file', () => {
    for (const doc of ['docs/market.md', 'docs/privacy.md', 'docs/terms.md']) {
      const text = readFileSync(doc, 'utf8');
      for (const m of text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
        const target = m[1]!;
        if (/^https?:/.test(target)) continue;
        expect(existsSync(new URL(target, new URL(doc, `file://${process.cwd()}/`)).pathname), `${doc} → ${target}`).toBe(true);
      }
    }
    expect(readFileSync('README.md', 'utf8')).toContain('(docs/market.md)');
  });
});
