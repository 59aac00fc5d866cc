/** `/apps`: list, install, finish installation, uninstall, and mint an OAuth authorization code. */
import type { Router } from 'express';
import { z } from 'zod';
import { finishInstall, installApp, installingAdmin, uninstallApp } from '../../apps.js';
import type { AppRec } from '../../model.js';
import { RestError } from '../../types.js';
import { mintAuthCode } from '../oauth.js';
import type { Runtime } from '../runtime.js';
import { h } from './handler.js';

const InstallBody = z.object({
  clientId: z.string().min(1).optional(),
  clientSecret: z.string().min(1).optional(),
  code: z.string().min(1).optional(),
  version: z.number().int().positive().optional(),
  appUrl: z.string().url(),
  installUrl: z.string().url().nullable().optional(),
  scopes: z.array(z.string().min(1)),
  mode: z.enum(['callback', 'wizard']),
  status: z.enum(['F', 'D', 'T', 'P', 'L', 'S']).optional(),
  userId: z.number().int().positive().optional(),
}).strict();

export function appView(app: AppRec): Record<string, unknown> {
  return {
    clientId: app.clientId, clientSecret: app.clientSecret, code: app.code, version: app.version,
    appUrl: app.appUrl, installUrl: app.installUrl, scopes: app.scopes, status: app.status,
    installed: app.installed, uninstalled: app.uninstalled ?? false, applicationToken: app.applicationToken,
    paymentExpired: app.paymentExpired,
  };
}

export function mountApps(r: Router, rt: Runtime): void {
  const portal = rt.portal;
  r.get('/apps', h((_req, res) => res.json({ apps: [...portal.apps.values()].map(appView) })));
  r.post('/apps/install', h(async (req, res) => {
    const spec = InstallBody.parse(req.body ?? {});
    const out = installApp(portal, rt.delivery, spec);
    const delivery = out.delivery ? await out.delivery : null;
    res.status(201).json({ app: appView(out.app), delivery });
  }));
  r.post('/apps/:clientId/install-finish', h((req, res) => {
    const app = finishInstall(portal, String(req.params.clientId));
    res.json({ app: appView(app) });
  }));
  r.post('/apps/:clientId/uninstall', h(async (req, res) => {
    const b = z.object({ clean: z.boolean().default(false) }).strict().parse(req.body ?? {});
    const deliveries = await uninstallApp(portal, rt.delivery, String(req.params.clientId), b.clean);
    res.json({ deliveries });
  }));
  r.post('/apps/:clientId/auth-code', h((req, res) => {
    const clientId = String(req.params.clientId);
    const app = portal.apps.get(clientId);
    if (!app || app.uninstalled) throw new RestError('APP_NOT_FOUND', `Application ${clientId} is not installed`, 404);
    const b = z.object({ userId: z.number().int().positive().optional() }).strict().parse(req.body ?? {});
    res.json(mintAuthCode(portal, clientId, b.userId ?? installingAdmin(portal)));
  }));
}
