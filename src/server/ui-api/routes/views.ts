/**
 * Saved views of the segment list (src/store/views.ts), per portal and user:
 *   GET    /views        the user's own views and the portal's shared ones
 *   POST   /views        save {name, shared?, view, replace?}: a name the owner (or, shared, the
 *                        portal) already uses is 409 NAME_TAKEN {id} unless `replace` (the UI asks
 *                        first); sharing is for administrators
 *   DELETE /views/:id    the owner's view, or (administrators) a shared one
 * Every query is scoped to the session's portal and user. A view's filter is validated and kept
 * within the filter limits like any other (src/segments/limits.ts, also the number of views).
 */
import express, { type Router } from 'express';
import { z } from 'zod';
import { MAX_PERSONAL_VIEWS, MAX_SHARED_VIEWS, segmentFilterSchema, SORT_COLUMNS } from '../../../segments/index.js';
import { countViews, deleteView, insertView, listViews, updateView, viewNamed, viewNameKey, type UiView } from '../../../store/index.js';
import { CSV_COLUMN_KEYS } from '../csv.js';
import { authed, HttpError, parse, wrap, type AReq, type Authed } from '../http.js';
import type { UiLang } from '../labels.js';
import { bounded, checkFields, type RouteDeps } from './shared.js';

export const viewSchema = z.object({
  filter: segmentFilterSchema,
  sort: z.enum(Object.keys(SORT_COLUMNS) as [keyof typeof SORT_COLUMNS, ...(keyof typeof SORT_COLUMNS)[]]).optional(),
  dir: z.enum(['asc', 'desc']).optional(),
  columns: z.array(z.enum(CSV_COLUMN_KEYS)).max(CSV_COLUMN_KEYS.length).optional(),
});
const saveSchema = z.object({
  name: z.string().trim().min(1).max(120),
  shared: z.boolean().default(false),
  view: viewSchema,
  /** replace the view that has this name (after the user confirmed) */
  replace: z.boolean().default(false),
});

const LOCALE: Record<UiLang, string> = { en: 'en', ru: 'ru', de: 'de', pl: 'pl', ua: 'uk' };

const out = (a: Authed, v: UiView) => ({ id: v.id, name: v.name, shared: v.shared, mine: v.userId === a.session.u, view: v.view, updatedAt: v.updatedAt });

async function save(deps: RouteDeps, req: AReq, a: Authed, body: z.infer<typeof saveSchema>) {
  const { db } = deps;
  if (body.shared && !a.session.a) throw new HttpError(403, 'ADMIN_ONLY', 'only a portal administrator can share a view');
  bounded(a, body.view.filter);
  await checkFields(deps, req, a, body.view.filter);
  const v = { name: body.name, nameKey: viewNameKey(body.name, LOCALE[a.lang]), shared: body.shared, view: body.view };
  const clash = await viewNamed(db, a.portal.id, a.session.u, v.nameKey, v.shared);
  if (clash) {
    if (!body.replace) throw new HttpError(409, 'NAME_TAKEN', `a view named "${clash.name}" exists already`, { id: clash.id, name: clash.name });
    const done = await updateView(db, a.portal.id, a.session.u, a.session.a, clash.id, v);
    if (!done) throw new HttpError(403, 'NOT_YOURS', 'this view belongs to someone else');
    return done;
  }
  const n = await countViews(db, a.portal.id, a.session.u);
  if (n.own >= MAX_PERSONAL_VIEWS) throw new HttpError(400, 'TOO_MANY_VIEWS', `you keep at most ${MAX_PERSONAL_VIEWS} views (limit ${MAX_PERSONAL_VIEWS}); delete one first`);
  if (v.shared && n.shared >= MAX_SHARED_VIEWS) throw new HttpError(400, 'TOO_MANY_VIEWS', `a portal shares at most ${MAX_SHARED_VIEWS} views (limit ${MAX_SHARED_VIEWS}); delete one first`);
  return insertView(db, a.portal.id, a.session.u, v);
}

export function viewRoutes(deps: RouteDeps): Router {
  const { db } = deps;
  const r = express.Router();
  r.get('/views', wrap(async (req) => {
    const a = authed(req);
    return { views: (await listViews(db, a.portal.id, a.session.u)).map((v) => out(a, v)), limits: { personal: MAX_PERSONAL_VIEWS, shared: MAX_SHARED_VIEWS } };
  }));
  r.post('/views', wrap(async (req) => {
    const a = authed(req);
    return { view: out(a, await save(deps, req, a, parse(saveSchema, req.body))) };
  }));
  r.delete('/views/:id', wrap(async (req) => {
    const a = authed(req);
    const id = Number(req.params.id);
    if (!Number.isSafeInteger(id) || id <= 0 || !(await deleteView(db, a.portal.id, a.session.u, a.session.a, id))) {
      throw new HttpError(404, 'NOT_FOUND', 'no such view of yours');
    }
    return { deleted: id };
  }));
  return r;
}
