/**
 * POST /api/ui/session — a fresh UI session for a page that stays open longer than the
 * session's hour.
 *
 * The body carries what B24Frame knows in the frame: `member_id` and the user's CURRENT access
 * token (`auth_id`; the SDK refreshes it through the portal page). The token is verified with
 * the portal exactly like the app page's AUTH_ID (profile + app.info with that token, cached
 * 60 s), so a renewed session is never more than a fresh page load would give: same portal,
 * the token's own user, admin as the portal says now. The old session is not needed (an expired
 * or forged one proves nothing either way).
 *
 * Errors, as JSON { error, message }: 400 BAD_REQUEST (body), 400 BAD_JSON (malformed JSON), 413
 * PAYLOAD_TOO_LARGE (body over 4 KB); 401 UNAUTHORIZED, one answer for an unknown or uninstalled
 * member_id and for a token the portal refuses or that belongs to another app (so the endpoint does
 * not tell which member_ids are installed); 502 when the portal cannot be asked.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { bodyFault } from './errors.js';
import { z } from 'zod';
import { openPortalSession } from './open-session.js';
import { PortalAuthError } from './portal-user.js';
import { memberIdOf, rateLimit } from '../rate-limit.js';
import type { UiContext } from './context.js';
import { SESSION_TTL_SECONDS } from './session.js';

const RENEW_BODY_LIMIT = { text: '4kb', bytes: 4 * 1024 };

const renewSchema = z.object({
  member_id: z.string().min(1).max(64),
  auth_id: z.string().min(1).max(512),
  lang: z.string().max(8).optional(),
});

/** The one answer for every refused renewal (unknown portal, bad token, another app's token). */
export const UNAUTHORIZED = { error: 'UNAUTHORIZED', message: 'no session for this portal and access token' } as const;

export function createSessionRenewRouter(ctx: UiContext): Router {
  const r = express.Router();
  const log = (level: 'info' | 'warn' | 'error') => (msg: string, extra?: Record<string, unknown>) => ctx.log?.(level, msg, extra);
  const limit = rateLimit({
    db: ctx.db, endpoint: 'session', limits: ctx.rateLimits, memberOf: memberIdOf,
    log: { debug: () => {}, info: log('info'), warn: log('warn'), error: log('error') },
  });
  r.post('/api/ui/session', express.json({ limit: RENEW_BODY_LIMIT.text }), limit, (req, res, next) => {
    res.set('Cache-Control', 'no-store');
    const body = renewSchema.safeParse(req.body);
    if (!body.success) {
      res.status(400).json({ error: 'BAD_REQUEST', message: body.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ') });
      return;
    }
    void (async () => {
      const opened = await openPortalSession(ctx, body.data.member_id, body.data.auth_id, body.data.lang);
      const refuse = () => void res.status(401).json(UNAUTHORIZED);
      if (opened.kind === 'not_installed') return refuse();
      if (opened.kind === 'refused') {
        const err = opened.error;
        if (!(err instanceof PortalAuthError)) throw err;
        ctx.log?.('warn', 'ui session renewal refused', { portalId: opened.portal.id, code: err.code });
        if (err.status === 401 || err.status === 403) return refuse();
        res.status(err.status).json({ error: err.code, message: 'the portal could not be asked about this access token' });
        return;
      }
      const { user, lang, session } = opened;
      res.json({ session, userId: user.userId, isAdmin: user.isAdmin, lang, expiresIn: SESSION_TTL_SECONDS });
    })().catch(next);
  });
  // an unreadable body: one log line, no stack (other errors go on to the app's handler)
  r.use('/api/ui/session', (err: unknown, req: Request, res: Response, next: NextFunction) => {
    const k = bodyFault(err, RENEW_BODY_LIMIT);
    if (!k) return next(err);
    res.locals.logged = true;
    ctx.log?.('info', 'ui api: refused', { method: req.method, path: req.originalUrl.split('?')[0], status: k.status, error: k.code });
    res.set('Cache-Control', 'no-store').status(k.status).json({ error: k.code, message: k.message });
  });
  return r;
}
