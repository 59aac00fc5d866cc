/** `POST /_host/app-option` and `/_host/user-option`: the frame's setAppOption / setUserOption. */
import type { Request, Response, Router } from 'express';
import { hostJson, liveApp, sessionOf, type HostContext } from '../context.js';

export function mountOptions(r: Router, h: HostContext): void {
  r.post('/_host/app-option', hostJson, optionWrite(h, 'app'));
  r.post('/_host/user-option', hostJson, optionWrite(h, 'user'));
}

/** Application options need an administrator; user options belong to the frame's user. */
function optionWrite(h: HostContext, kind: 'app' | 'user') {
  const { portal } = h;
  return (req: Request, res: Response): void => {
    const s = sessionOf(h, req, res);
    if (!s) return;
    const app = liveApp(portal, s.clientId);
    const b = req.body as { name?: unknown; value?: unknown };
    if (!app || typeof b.name !== 'string' || !b.name) {
      res.status(400).json({ error: 'ERROR_ARGUMENT', error_description: 'name is required' });
      return;
    }
    if (kind === 'app') {
      const user = portal.users.get(s.userId);
      if (!user?.isAdmin) {
        res.status(403).json({ error: 'ACCESS_DENIED', error_description: 'Only an administrator can set application options' });
        return;
      }
      app.options[b.name] = b.value;
    } else {
      (app.userOptions[s.userId] ??= {})[b.name] = b.value;
    }
    res.json({ result: true });
  };
}
