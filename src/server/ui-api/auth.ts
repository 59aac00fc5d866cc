/**
 * Session check of every /api/ui call: `Authorization: Bearer <session>` (session.ts, issued by
 * the app page or the renewal endpoint), signed, unexpired, for a portal that still exists under
 * the session's member_id and is not uninstalled. 401 NO_SESSION otherwise. Sets req.ui.
 */
import type { NextFunction, Response } from 'express';
import { getPortal, type Db } from '../../store/index.js';
import type { AReq } from './http.js';
import { uiLang } from './labels.js';
import { verifySession } from './session.js';

export function sessionAuth(db: Db, secret: string) {
  return (req: AReq, res: Response, next: NextFunction): void => {
    res.set('Cache-Control', 'no-store');
    const h = req.get('authorization') ?? '';
    const token = h.startsWith('Bearer ') ? h.slice(7).trim() : undefined;
    const s = verifySession(secret, token);
    if (typeof s === 'string') {
      res.status(401).json({ error: 'NO_SESSION', message: `session ${s}` });
      return;
    }
    getPortal(db, s.p)
      .then((portal) => {
        if (!portal || portal.memberId !== s.m || portal.status === 'uninstalled') {
          res.status(401).json({ error: 'NO_SESSION', message: 'portal not found or uninstalled' });
          return;
        }
        req.ui = { session: s, portal, lang: uiLang(s.l) };
        next();
      })
      .catch(next);
  };
}
