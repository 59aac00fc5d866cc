/** `POST /_host/install-finish`: the installer frame's setInstallFinish (admins only, once per install frame). */
import type { Router } from 'express';
import { hostJson, liveApp, sessionOf, type HostContext } from '../context.js';

export function mountInstaller(r: Router, h: HostContext): void {
  const { portal } = h;
  r.post('/_host/install-finish', hostJson, (req, res) => {
    const s = sessionOf(h, req, res);
    if (!s) return;
    const app = liveApp(portal, s.clientId);
    const user = portal.users.get(s.userId);
    if (!app) return res.status(404).json({ error: 'APP_NOT_FOUND', error_description: 'The application is not installed' });
    if (!s.install) return res.status(400).json({ error: 'INSTALL_ALREADY_FINISHED', error_description: 'Application was previously installed' });
    if (!user?.isAdmin) return res.status(403).json({ error: 'ACCESS_DENIED', error_description: 'Only an administrator can finish the installation' });
    app.installed = true;
    s.install = false;
    res.json({ result: true, installed: true });
  });
}
