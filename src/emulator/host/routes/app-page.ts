/**
 * `GET /app/:clientId`: an application's page. Its main frame is launched (installer URL while
 * the installation is not finished); non-admins see a stub until then.
 */
import type { Router } from 'express';
import { actingUser, bare, liveApp, noUser, uqOf, type HostContext } from '../context.js';
import { makeFrame } from '../frame.js';
import { appTitle, esc, page } from '../html.js';

const notInstalledStub = (): string => `<div class="stub" id="app-stub">
    <h2>The application is not fully installed</h2>
    <p>Its installation has not been finished yet. Please contact your Bitrix24 administrator.</p></div>`;

export function mountAppPage(r: Router, h: HostContext): void {
  const { portal } = h;
  r.get('/app/:clientId', (req, res) => {
    const user = actingUser(portal, req);
    if (!user) return noUser(res);
    const uq = uqOf(user);
    const app = liveApp(portal, String(req.params.clientId));
    if (!app) {
      res.status(404);
      return res.type('html').send(page({ portal, user, uq, title: 'Application not found' }, '<p>This application is not installed on the portal.</p>'));
    }
    const chrome = { portal, user, uq, title: appTitle(app), active: `app:${app.clientId}` as const, bare: bare(req) };
    if (!app.installed && !user.isAdmin) {
      return res.type('html').send(page(chrome, notInstalledStub()));
    }
    let options: Record<string, unknown> = {};
    if (typeof req.query.options === 'string') {
      try { const o = JSON.parse(req.query.options) as unknown; if (o && typeof o === 'object' && !Array.isArray(o)) options = o as Record<string, unknown>; } catch { /* ignore */ }
    }
    const spec = makeFrame(h, req, app, user, 'DEFAULT', options, null);
    res.type('html').send(page({ ...chrome, config: { mainFrame: spec } },
      `${spec.install ? '<div class="notice" id="install-notice">Installing the application… it becomes available once it calls installFinish.</div>' : ''}
      <div class="app-frame" id="app-frame" data-app-sid="${esc(spec.appSid)}"></div>`));
  });
}
