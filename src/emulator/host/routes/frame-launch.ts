/**
 * Host endpoints behind an app frame: `POST /_host/frame` (mount the main frame or a placement
 * widget) and `POST /_host/refresh-auth` (the child's refreshAuth command).
 */
import type { Router } from 'express';
import { hostJson, liveApp, sessionOf, type HostContext } from '../context.js';
import { makeFrame } from '../frame.js';
import { issueTokens } from '../../tokens.js';

export function mountFrameLaunch(r: Router, h: HostContext): void {
  const { portal } = h;
  r.post('/_host/frame', hostJson, (req, res) => {
    const b = (req.body ?? {}) as { clientId?: unknown; user?: unknown; placement?: unknown; options?: unknown; bindingId?: unknown };
    const user = portal.users.get(Number(b.user ?? 1));
    const app = liveApp(portal, String(b.clientId ?? ''));
    if (!user || !app) return res.status(404).json({ error: 'NOT_FOUND', error_description: 'No such app or user' });
    const placement = typeof b.placement === 'string' && b.placement ? b.placement : 'DEFAULT';
    const options = b.options && typeof b.options === 'object' && !Array.isArray(b.options) ? b.options as Record<string, unknown> : {};
    let handler: string | null = null;
    if (placement !== 'DEFAULT') {
      const bind = portal.placements.find((p) => p.id === Number(b.bindingId) && p.clientId === app.clientId && p.placement.toUpperCase() === placement);
      if (!bind || !app.installed) return res.status(404).json({ error: 'PLACEMENT_NOT_FOUND', error_description: 'No such placement binding' });
      handler = bind.handler;
    } else if (!app.installed && !user.isAdmin) {
      return res.status(403).json({ error: 'APP_NOT_INSTALLED', error_description: 'The application is not fully installed' });
    }
    res.json(makeFrame(h, req, app, user, placement, options, handler));
  });

  r.post('/_host/refresh-auth', hostJson, (req, res) => {
    const s = sessionOf(h, req, res);
    if (!s) return;
    if (!liveApp(portal, s.clientId)) return res.status(404).json({ error: 'APP_NOT_FOUND', error_description: 'The application is not installed' });
    const tok = issueTokens(portal, s.clientId, s.userId);
    res.json({ AUTH_ID: tok.accessToken, REFRESH_ID: tok.refreshToken, AUTH_EXPIRES: portal.accessTokenTtl });
  });
}
