/**
 * Bulk actions on the contacts a user selected in the list (bulk.ts: done as the user, with their
 * token, within their CRM rights and the portal's limits; at most MAX_BULK contacts per request):
 *   POST /bulk/todo      {ids, title, description?, deadlineDays}  a to-do for each contact's responsible
 *   POST /bulk/assign    {ids, userId}                             a new responsible (crm.contact.update)
 *   POST /bulk/workflow  {ids, templateId}                         a business process on each contact
 *   GET  /bulk/workflows                                           the contact workflow templates the user can see
 *   POST /bulk/list      {ids, view? | saved? | newName?}          add to a list (a saved view or, admins, a saved
 *                                                                  segment, holding a fixed list of contacts): the
 *                                                                  app's own data, no CRM call
 * Each answers {done, refused, failed, items}; a contact the user may not see is refused first.
 */
import express, { type Router } from 'express';
import { z } from 'zod';
import { withSavedSegment } from '../../../segments/index.js';
import { readSection, settingsPatch, type SegmentFilter } from '../../../settings/index.js';
import { getView, insertView, updatePortalSettings, updateView, viewNameKey } from '../../../store/index.js';
import { deadlineIn, emptyResult, record, sendAll, type BulkResult } from '../bulk.js';
import { authed, HttpError, parse, wrap, type AReq, type Authed } from '../http.js';
import type { RouteDeps } from './shared.js';

/** Contacts one bulk request may act on. */
export const MAX_BULK = 500;
/** Contacts a list can hold (a filter's values: src/segments/limits.ts MAX_FILTER_VALUES). */
export const MAX_LIST = 1000;

const ids = z.array(z.number().int().positive()).min(1).max(MAX_BULK);
const todoSchema = z.object({ ids, title: z.string().trim().min(1).max(255), description: z.string().max(4000).default(''), deadlineDays: z.number().int().min(0).max(365).default(1) });
const assignSchema = z.object({ ids, userId: z.number().int().positive() });
const workflowSchema = z.object({ ids, templateId: z.number().int().positive() });
const listSchema = z.object({
  ids, view: z.number().int().positive().optional(), saved: z.string().max(40).optional(), newName: z.string().trim().min(1).max(120).optional(),
}).refine((b) => [b.view, b.saved, b.newName].filter((x) => x !== undefined).length === 1, { message: 'name one list: view, saved or newName' });

/** The user's verified token, and the selected contacts split into visible (to act on) and refused. */
async function start(deps: RouteDeps, req: AReq, a: Authed, wanted: readonly number[]) {
  const token = await deps.vis.userToken(req, a);
  const out = emptyResult();
  const unique = [...new Set(wanted)];
  if (a.session.a) return { token, ok: unique, out };
  const seen = await deps.verifier.visibleContactIds(a.portal, token, unique);
  for (const id of unique) if (!seen.has(id)) record(out, id, 'refused', 'not visible to you');
  return { token, ok: unique.filter((id) => seen.has(id)), out };
}

/** Each contact's responsible from the store; contacts the store does not hold fail. */
async function responsibles(deps: RouteDeps, a: Authed, ok: number[], out: BulkResult): Promise<Map<number, number | null>> {
  const { rows } = await deps.db.query<{ id: number; resp: number | null }>(
    `SELECT id, assigned_by_id AS resp FROM contacts WHERE portal_id = $1 AND id = ANY($2::bigint[])`, [a.portal.id, ok]);
  const m = new Map(rows.map((r) => [Number(r.id), r.resp === null ? null : Number(r.resp)]));
  for (const id of ok) if (!m.has(id)) record(out, id, 'failed', 'not found');
  return m;
}

function todo(deps: RouteDeps) {
  return wrap(async (req) => {
    const a = authed(req);
    const b = parse(todoSchema, req.body);
    const { token, ok, out } = await start(deps, req, a, b.ids);
    const resp = await responsibles(deps, a, ok, out);
    const deadline = deadlineIn(b.deadlineDays);
    const send = ok.filter((id) => resp.has(id));
    await sendAll(deps.verifier.asUser(a.portal, token), send, (id) => ['crm.activity.todo.add', {
      ownerTypeId: 3, ownerId: id, deadline, title: b.title, description: b.description, ...(resp.get(id) ? { responsibleId: resp.get(id) } : {}),
    }], out);
    // whose to-dos these are (the responsibles of the contacts done)
    const per = new Map<number, number>();
    for (const it of out.items) if (it.status === 'done') per.set(resp.get(it.id) ?? a.session.u, (per.get(resp.get(it.id) ?? a.session.u) ?? 0) + 1);
    return { ...out, recipients: [...per].map(([userId, count]) => ({ userId, count })) };
  });
}

function assign(deps: RouteDeps) {
  return wrap(async (req) => {
    const a = authed(req);
    const b = parse(assignSchema, req.body);
    const { token, ok, out } = await start(deps, req, a, b.ids);
    const dir = await deps.dir.get(a.portal, token);
    const user = dir.users.find((u) => u.id === b.userId);
    if (dir.known && (!user || !user.active)) throw new HttpError(400, 'INACTIVE_USER', 'the new responsible is not an active user of the portal');
    await sendAll(deps.verifier.asUser(a.portal, token), ok, (id) => ['crm.contact.update', { id, fields: { ASSIGNED_BY_ID: b.userId } }], out);
    return out;
  });
}

function workflow(deps: RouteDeps) {
  return wrap(async (req) => {
    const a = authed(req);
    const b = parse(workflowSchema, req.body);
    const { token, ok, out } = await start(deps, req, a, b.ids);
    await sendAll(deps.verifier.asUser(a.portal, token), ok, (id) => ['bizproc.workflow.start', {
      TEMPLATE_ID: b.templateId, DOCUMENT_ID: ['crm', 'CCrmDocumentContact', `CONTACT_${id}`],
    }], out);
    return out;
  });
}

function workflows(deps: RouteDeps) {
  return wrap(async (req) => {
    const a = authed(req);
    const client = deps.verifier.asUser(a.portal, await deps.vis.userToken(req, a));
    try {
      const rows = await client.call<Array<{ ID?: unknown; NAME?: unknown }>>('bizproc.workflow.template.list', {
        select: ['ID', 'NAME'], filter: { MODULE_ID: 'crm', ENTITY: 'CCrmDocumentContact' }, order: { NAME: 'ASC' },
      });
      return { templates: (Array.isArray(rows) ? rows : []).map((t) => ({ id: Number(t.ID), name: String(t.NAME ?? '') })).filter((t) => t.id > 0) };
    } catch (err) {
      deps.ctx.log?.('info', 'workflow templates not listed', { portalId: a.portal.id, error: (err as Error).message });
      return { templates: [], unavailable: true };
    }
  });
}

const listIdsOf = (f: SegmentFilter | undefined): number[] | null => {
  const c = f?.all.length === 1 && !f.any?.length && !f.exclude ? f.all[0] : undefined;
  return c?.field === 'contact' ? c.ids : null;
};

/** The merged list: the ones it holds plus the new ones (up to MAX_LIST; the rest fail as "the list is full"). */
function merge(have: readonly number[], add: readonly number[], out: BulkResult): number[] {
  const list = [...have];
  const set = new Set(have);
  for (const id of add) {
    if (set.has(id)) record(out, id, 'done', 'already in the list');
    else if (list.length >= MAX_LIST) record(out, id, 'failed', `the list is full (${MAX_LIST})`);
    else { list.push(id); set.add(id); record(out, id, 'done'); }
  }
  return list;
}

function addToList(deps: RouteDeps) {
  const { db } = deps;
  return wrap(async (req) => {
    const a = authed(req);
    const b = parse(listSchema, req.body);
    const { ok, out } = await start(deps, req, a, b.ids);
    const filterOf = (list: number[]): SegmentFilter => ({ all: [{ field: 'contact', ids: list }] });
    if (b.newName !== undefined) {
      const list = merge([], ok, out);
      const view = await insertView(db, a.portal.id, a.session.u, { name: b.newName, nameKey: viewNameKey(b.newName, a.lang === 'ua' ? 'uk' : a.lang), shared: false, view: { filter: filterOf(list) } })
        .catch(() => { throw new HttpError(409, 'NAME_TAKEN', `a view named "${b.newName}" exists already`); });
      return { ...out, view: { id: view.id, name: view.name } };
    }
    if (b.view !== undefined) {
      const v = await getView(db, a.portal.id, a.session.u, b.view);
      const have = listIdsOf(v?.view.filter as SegmentFilter | undefined);
      if (!v || have === null) throw new HttpError(400, 'NOT_A_LIST', 'that view is not a list of contacts');
      const list = merge(have, ok, out);
      const done = await updateView(db, a.portal.id, a.session.u, a.session.a, v.id, { name: v.name, nameKey: viewNameKey(v.name, a.lang === 'ua' ? 'uk' : a.lang), shared: v.shared, view: { ...v.view, filter: filterOf(list) } });
      if (!done) throw new HttpError(403, 'NOT_YOURS', 'this list belongs to someone else');
      return { ...out, view: { id: v.id, name: v.name } };
    }
    if (!a.session.a) throw new HttpError(403, 'ADMIN_ONLY', 'only a portal administrator can change a saved segment');
    const saved = readSection(a.portal.settings, 'savedSegments').value;
    const s = saved.find((x) => x.id === b.saved);
    const have = listIdsOf(s?.filter);
    if (!s || have === null) throw new HttpError(400, 'NOT_A_LIST', 'that saved segment is not a list of contacts');
    const patch = settingsPatch(['savedSegments'], { savedSegments: withSavedSegment(saved, { ...s, filter: filterOf(merge(have, ok, out)) }) });
    if (!patch.ok) throw patch.error;
    await updatePortalSettings(db, a.portal.id, patch.stored);
    return { ...out, saved: { id: s.id, name: s.name } };
  });
}

export function bulkRoutes(deps: RouteDeps): Router {
  const r = express.Router();
  r.post('/bulk/todo', todo(deps));
  r.post('/bulk/assign', assign(deps));
  r.post('/bulk/workflow', workflow(deps));
  r.get('/bulk/workflows', workflows(deps));
  r.post('/bulk/list', addToList(deps));
  return r;
}
