/**
 * The app's CRM fields (admins, the Settings page):
 *   POST /settings/fields/remove  {confirm: "DELETE"}: deletes every field of the app on the portal
 *     (src/writeback/remove-fields.ts) and turns the write-back off until they are re-created.
 *     Without the exact confirmation: 400. A write-back running now (it would create them again):
 *     409 WRITEBACK_RUNNING. One removal per portal at a time: 409 ALREADY_RUNNING. Repeating it
 *     is harmless (nothing left to delete).
 *   POST /settings/fields/restore {}: registers the fields again, the write-back is on again and
 *     one is queued now (fills them).
 * Both are rate-limited per address and per portal (src/server/rate-limit.ts 'fields'): they
 * create or delete fields on the portal.
 */
import express, { type RequestHandler, type Router } from 'express';
import { z } from 'zod';
import { readSection } from '../../../settings/index.js';
import { writeBackRunning } from '../../../writeback/remove-fields.js';
import { rateLimit } from '../../rate-limit.js';
import { authed, HttpError, parse, requireAdmin, wrap, type AReq } from '../http.js';
import type { RouteDeps } from './shared.js';

/** The word the admin types in the confirmation dialog; the API takes nothing else. */
export const REMOVE_CONFIRMATION = 'DELETE';

export function fieldsRoutes({ ctx, db }: RouteDeps): Router {
  const r = express.Router();
  const log = (level: 'info' | 'warn' | 'error') => (msg: string, extra?: Record<string, unknown>) => ctx.log?.(level, msg, extra);
  const limit = rateLimit({
    db: ctx.db, endpoint: 'fields', limits: ctx.rateLimits, memberOf: (req) => (req as AReq).ui?.portal.memberId,
    log: { debug: () => {}, info: log('info'), warn: log('warn'), error: log('error') },
  });
  // admins only, before the rate limit counts the request
  const admin: RequestHandler = (req, _res, next) => {
    try {
      requireAdmin(authed(req as AReq));
      next();
    } catch (e) {
      next(e);
    }
  };
  const busy = new Set<number>();

  r.get('/settings/fields', wrap(async (req) => {
    const a = authed(req);
    requireAdmin(a);
    return { fields: readSection(a.portal.settings, 'fields').value };
  }));

  r.post('/settings/fields/remove', admin, limit, wrap(async (req) => {
    const a = authed(req);
    parse(z.object({ confirm: z.literal(REMOVE_CONFIRMATION) }).strict(), req.body);
    if (!ctx.removeFields) throw new HttpError(501, 'NOT_AVAILABLE', 'removing fields is not available in this server');
    if (busy.has(a.portal.id)) throw new HttpError(409, 'ALREADY_RUNNING', 'the fields are being removed already');
    if (await writeBackRunning(db, a.portal.id)) {
      throw new HttpError(409, 'WRITEBACK_RUNNING', 'a write-back is running now and would create the fields again; try again when it has finished');
    }
    busy.add(a.portal.id);
    try {
      const out = await ctx.removeFields(a.portal.id);
      ctx.log?.('info', 'ui: app fields removed', { portalId: a.portal.id, userId: a.session.u, deleted: out.deleted.length, errors: out.errors.length });
      return { ...out, fields: { removed: true } };
    } finally {
      busy.delete(a.portal.id);
    }
  }));

  r.post('/settings/fields/restore', admin, limit, wrap(async (req) => {
    const a = authed(req);
    parse(z.object({}).strict(), req.body ?? {});
    if (!ctx.restoreFields) throw new HttpError(501, 'NOT_AVAILABLE', 're-creating fields is not available in this server');
    const out = await ctx.restoreFields(a.portal.id);
    ctx.log?.('info', 'ui: app fields re-created', { portalId: a.portal.id, userId: a.session.u, created: out.created.length });
    const writeBack = !!ctx.writeBackNow;
    if (ctx.writeBackNow) ctx.writeBackNow(a.portal.id).catch((err: unknown) => ctx.log?.('warn', 'write-back not queued', { portalId: a.portal.id, error: (err as Error).message }));
    return { created: out.created, existing: out.existing, errors: out.errors, fields: { removed: false }, writeBack };
  }));

  return r;
}
