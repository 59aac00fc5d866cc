/** Tiny server-rendered HTML helpers: escaping, a page shell with a CSP nonce, frame-ancestors. */
import { randomBytes } from 'node:crypto';
import type { Response } from 'express';

export function esc(v: unknown): string {
  return String(v ?? '').replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** `https://x.bitrix24.com` from DOMAIN/PROTOCOL; default ports dropped. */
export function portalOrigin(domain: string, protocol: '0' | '1'): string {
  const scheme = protocol === '1' ? 'https' : 'http';
  const host = domain.replace(scheme === 'https' ? /:443$/ : /:80$/, '');
  return `${scheme}://${host}`;
}

/**
 * Sends an HTML page framed only by `frameAncestor` (null → not frameable at all), with
 * scripts limited to our origin and the nonce.
 */
export function sendPage(res: Response, status: number, o: { title: string; body: string; frameAncestor: string | null; script?: string; scripts?: string[] }): void {
  const nonce = randomBytes(16).toString('base64');
  res.setHeader(
    'Content-Security-Policy',
    [
      "default-src 'self'",
      `script-src 'self' 'nonce-${nonce}'`,
      `style-src 'self' 'nonce-${nonce}'`,
      "img-src 'self' data:",
      // The SDK (installFinish) talks to the parent by postMessage; REST from the page goes to the portal.
      `connect-src 'self'${o.frameAncestor ? ` ${o.frameAncestor}` : ''}`,
      `frame-ancestors ${o.frameAncestor ?? "'none'"}`,
      "base-uri 'none'",
      "form-action 'self'",
    ].join('; '),
  );
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cache-Control', 'no-store');
  const scripts = (o.scripts ?? []).map((s) => `<script src="${esc(s)}" nonce="${nonce}"></script>`).join('\n');
  res.status(status).type('html').send(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(o.title)}</title>
<style nonce="${nonce}">
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#1f2d3d}
h1{font-size:20px;margin:0 0 12px} table{border-collapse:collapse;margin:8px 0 16px} td,th{padding:4px 12px 4px 0;text-align:left;vertical-align:top}
th{color:#6a737f;font-weight:500} .muted{color:#6a737f} .err{color:#c0392b} progress{width:280px}
code{background:#f1f4f6;padding:1px 4px;border-radius:3px}
</style></head><body>
${o.body}
${scripts}
${o.script ? `<script nonce="${nonce}">${o.script}</script>` : ''}
</body></html>`);
}
