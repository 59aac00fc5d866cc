/**
 * `GET /privacy` and `GET /terms`: the privacy policy and the terms of use (docs/privacy.md,
 * docs/terms.md), the stable addresses the Market listing links to (manifest/market/*.md; the
 * Market asks for links that open in the browser, html, pdf or txt:
 * https://apidocs.bitrix24.com/market/preparing-to-publish/common-requirements.html). Shown as the
 * documents' own text in a page anyone may open (no portal, no session, not frameable), read once.
 */
import { readFileSync } from 'node:fs';
import express, { type Router } from 'express';
import { esc, sendPage } from './html.js';

const DOCS = new URL('../../docs/', import.meta.url);

export const LEGAL_PAGES = { '/privacy': 'privacy.md', '/terms': 'terms.md' } as const;

export function createLegalRouter(): Router {
  const r = express.Router();
  for (const [path, file] of Object.entries(LEGAL_PAGES)) {
    const text = readFileSync(new URL(file, DOCS), 'utf8');
    const title = /^# (.+)$/m.exec(text)?.[1] ?? file;
    r.get(path, (_req, res) => sendPage(res, 200, { title, frameAncestor: null, body: `<pre>${esc(text)}</pre>` }));
  }
  return r;
}
