/**
 * Campaigns with holdout groups (src/campaigns, docs/campaigns.md):
 *   GET  /campaigns                 the portal's campaigns (a non-admin: those with a member they are responsible for, counting only those)
 *   POST /campaigns                 admins: create from a saved segment (201; a repeated `requestKey`: 200 with the first campaign)
 *   GET  /campaigns/:id             the campaign with its measurement (a non-admin: over their own customers; 404 without one)
 *   GET  /campaigns/:id/export      the measurement as CSV, in the user's language
 *   POST /campaigns/:id/run         admins: run the portal's due steps now (at most RUN_NOW_SENDS sends; `pending` says what is left)
 * "Own customers" are those whose responsible (ASSIGNED_BY_ID, as synced) is the session's user.
 * Ids are checked by zod (a forged or foreign id is 404: every query is scoped by the session's portal).
 */
import express, { type Router } from 'express';
import { z } from 'zod';
import { CampaignError, createCampaign, listCampaigns, measureCampaign, runDueSteps } from '../../../campaigns/index.js';
import { campaignCsv } from '../campaign-csv.js';
import { authed, HttpError, parse, requireAdmin, wrap, type AReq, type Authed } from '../http.js';
import type { RouteDeps } from './shared.js';
import { portalLeaseHeld } from '../../../store/index.js';

/** Sends one "run now" request may make (the job pipeline sends the rest after the next scoring). */
export const RUN_NOW_SENDS = 200;
/** Group-field writes one "run now" request may make (the rest follow with the next runs). */
export const RUN_NOW_FIELDS = 500;

const idParams = z.object({ id: z.coerce.number().int().positive().max(2 ** 53 - 1) }).strict();
const noQuery = z.object({}).strict();

/** CampaignError → the HTTP answer. */
async function answer<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof CampaignError) throw new HttpError(e.status, e.code, e.message);
    throw e;
  }
}

/** Whose customers the user sees: null (admins: all), else the user's id. */
const onlyOf = (a: Authed): number | null => (a.session.a ? null : a.session.u);

export function campaignRoutes(deps: RouteDeps): Router {
  const { ctx, db } = deps;
  const r = express.Router();

  r.get('/campaigns', wrap(async (req) => {
    const a = authed(req);
    parse(noQuery, req.query);
    return { campaigns: await listCampaigns(db, a.portal.id, { onlyResponsible: onlyOf(a) }), admin: a.session.a };
  }));

  r.post('/campaigns', wrap(async (req, res) => {
    const a = authed(req);
    requireAdmin(a);
    const made = await answer(createCampaign(db, a.portal.id, req.body, new Date(), a.session.u));
    res.status(made.created ? 201 : 200);
    return made;
  }));

  /** The measurement the user may see; 404 for a campaign of another portal, or without one of a non-admin's customers. */
  const measured = async (req: AReq) => {
    const a = authed(req);
    const { id } = parse(idParams, req.params);
    parse(noQuery, req.query);
    const only = onlyOf(a);
    const m = await answer(measureCampaign(db, a.portal.id, id, new Date(), { onlyResponsible: only }));
    if (only !== null && m.treated + m.holdout === 0) throw new HttpError(404, 'CAMPAIGN_NOT_FOUND', 'no such campaign');
    // a manager's figures cover their own customers only: the campaign's costs (and so ROI, which sets
    // the whole cost against that part) and the margin setting are the admins'
    return { a, m: only === null ? m : { ...m, roi: null } };
  };

  r.get('/campaigns/:id', wrap(async (req) => {
    const { a, m } = await measured(req);
    return onlyOf(a) === null ? m : { ...m, cost: null, marginPercent: null, campaign: { ...m.campaign, costFixed: null, costPerMessage: null } };
  }));

  r.get('/campaigns/:id/export', wrap(async (req, res) => {
    const { a, m } = await measured(req);
    const name = `campaign-${m.campaign.code}-${new Date().toISOString().slice(0, 10)}.csv`;
    res.status(200).set({ 'Content-Type': 'text/csv; charset=utf-8', 'Content-Disposition': `attachment; filename="${name}"` });
    res.send(campaignCsv(m, a.lang));
  }));

  r.post('/campaigns/:id/run', wrap(async (req) => {
    const a = authed(req);
    requireAdmin(a);
    const { id } = parse(idParams, req.params);
    const { rows } = await db.query(`SELECT 1 FROM campaigns WHERE portal_id = $1 AND id = $2`, [a.portal.id, id]);
    if (!rows.length) throw new HttpError(404, 'CAMPAIGN_NOT_FOUND', 'no such campaign');
    // a sync, scoring or write-back job of this portal holds its lease: one writer at a time (the scoring job runs due steps itself)
    if (await portalLeaseHeld(db, a.portal.id)) throw new HttpError(409, 'PORTAL_BUSY', 'a run of this portal is in progress; try again when it ends');
    if (!ctx.clientFor) throw new HttpError(501, 'NOT_AVAILABLE', 'sending is not available in this server');
    const out = await runDueSteps(db, ctx.clientFor(a.portal.id), a.portal.id, new Date(), { maxSends: RUN_NOW_SENDS, maxFields: RUN_NOW_FIELDS });
    return { planned: out.planned, done: out.done, failed: out.failed, unknown: out.unknown, skipped: out.skipped, pending: out.pending, fields: out.fields.written, errors: out.errors };
  }));

  return r;
}
