/**
 * The app page Bitrix24 opens in its iframe (POST to the app URL / placement handler URLs).
 *
 *   renderAppPage(req, res, ctx)   — call it from the POST (and GET) handlers of /app,
 *                                    /placement/contact-tab, /placement/contact-list after the
 *                                    APPLICATION_TOKEN check; it needs req.body (urlencoded) and req.query.
 *   createUiRouter(ctx)            — mount once at the root: serves /ui/assets/*, /api/ui/* and
 *                                    POST /api/ui/session (session renewal, see ./renew.ts).
 *
 * renderAppPage verifies the user's AUTH_ID against the portal stored for member_id (profile +
 * app.info, cached 60 s), signs a 1-hour session bound to (portal, member_id, user, admin, lang)
 * and returns ui/dist/index.html with the boot data inlined. CSP frame-ancestors allows only the
 * portal's own origin.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import express, { type Request, type Response, type Router } from 'express';
import { openPortalSession } from './open-session.js';
import { PortalAuthError } from './portal-user.js';
import { DEFAULT_UI_DIST, type UiContext } from './context.js';
import { createUiRouter as createUiApiRouter } from './router.js';
import { createSessionRenewRouter } from './renew.js';

export { type UiContext, type RunNowResult } from './context.js';
export { MIN_GROUP } from './visibility.js';

/** /ui/assets/*, POST /api/ui/session (renewal, ./renew.ts) and the session-checked /api/ui/*. */
export function createUiRouter(ctx: UiContext): Router {
  const r = express.Router();
  r.use(createSessionRenewRouter(ctx));
  r.use(createUiApiRouter(ctx));
  return r;
}

export interface BootData {
  session: string;
  lang: string;
  userId: number;
  isAdmin: boolean;
  placement: string;
  placementOptions: Record<string, unknown>;
  portalOrigin: string;
}

let cached: { file: string; mtime: number; html: string } | undefined;
function indexHtml(dist: string): string {
  const file = path.join(dist, 'index.html');
  const mtime = statSync(file).mtimeMs;
  if (!cached || cached.file !== file || cached.mtime !== mtime) cached = { file, mtime, html: readFileSync(file, 'utf8') };
  return cached.html;
}

const jsonForScript = (v: unknown) =>
  JSON.stringify(v).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');

const escHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function field(src: unknown, k: string): string | undefined {
  const v = (src as Record<string, unknown> | undefined)?.[k];
  return typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : undefined;
}

function errorPage(res: Response, status: number, title: string, detail: string) {
  // an error page is never framed (nothing was verified): frame-ancestors 'none'
  res.status(status).type('html').set({ 'Cache-Control': 'no-store', 'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'", 'X-Content-Type-Options': 'nosniff' })
    .send(`<!doctype html><html><head><meta charset="utf-8"><title>${escHtml(title)}</title></head>
<body style="font-family:system-ui,sans-serif;padding:24px;color:#333"><h1 style="font-size:18px">${escHtml(title)}</h1><p>${escHtml(detail)}</p></body></html>`);
}

export function portalOrigin(p: { clientEndpoint: string | null; domain: string }): string {
  if (p.clientEndpoint) {
    try {
      return new URL(p.clientEndpoint).origin;
    } catch {
      /* fall through */
    }
  }
  return `https://${p.domain}`;
}

export async function renderAppPage(req: Request, res: Response, ctx: UiContext): Promise<void> {
  const body = req.body ?? {};
  const memberId = field(body, 'member_id') ?? field(req.query, 'member_id');
  const authId = field(body, 'AUTH_ID') ?? field(req.query, 'AUTH_ID');
  if (!memberId || !authId) {
    return errorPage(res, 400, 'Open this app from your Bitrix24', 'The page must be opened by Bitrix24 (it posts the portal and user data).');
  }
  const opened = await openPortalSession(ctx, memberId, authId, field(req.query, 'LANG') ?? field(body, 'LANG'));
  if (opened.kind === 'not_installed') return errorPage(res, 403, 'App not installed', 'This portal has not installed the app.');
  if (opened.kind === 'refused') {
    const e = opened.error as PortalAuthError;
    ctx.log?.('warn', 'ui auth refused', { portalId: opened.portal.id, code: e.code });
    return errorPage(res, e instanceof PortalAuthError ? e.status : 401, 'Could not verify your session', 'Please reload the page in Bitrix24.');
  }
  const { portal, user, lang, session } = opened;
  let placementOptions: Record<string, unknown> = {};
  const rawOpts = field(body, 'PLACEMENT_OPTIONS');
  if (rawOpts) {
    try {
      const o = JSON.parse(rawOpts) as unknown;
      if (o && typeof o === 'object' && !Array.isArray(o)) placementOptions = o as Record<string, unknown>;
    } catch {
      /* ignore malformed options */
    }
  }
  const origin = portalOrigin(portal);
  const boot: BootData = {
    session,
    lang,
    userId: user.userId,
    isAdmin: user.isAdmin,
    placement: (field(body, 'PLACEMENT') ?? 'DEFAULT').slice(0, 80),
    placementOptions,
    portalOrigin: origin,
  };
  let html: string;
  try {
    html = indexHtml(ctx.uiDist ?? DEFAULT_UI_DIST);
  } catch {
    return errorPage(res, 503, 'UI not built', 'Run npm run build:ui.');
  }
  const nonce = randomBytes(16).toString('base64');
  html = html
    .replace('<html lang="en">', `<html lang="${lang === 'ua' ? 'uk' : lang}">`)
    .replace('</head>', `<script nonce="${nonce}">window.__SEG_BOOT=${jsonForScript(boot)};</script></head>`);
  res.status(200).type('html').set({
    'Cache-Control': 'no-store',
    'Referrer-Policy': 'no-referrer',
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': [
      `default-src 'self'`,
      `script-src 'self' 'nonce-${nonce}'`,
      `style-src 'self' 'unsafe-inline'`,
      `img-src 'self' data: blob: ${origin}`,
      `font-src 'self' data:`,
      `connect-src 'self' ${origin}`,
      `frame-ancestors ${origin}`,
      `base-uri 'self'`,
      `form-action 'self'`,
    ].join('; '),
  }).send(html);
}
