/**
 * Effectiveness per segment (heavy: admitted by the portal gate):
 *   GET /effectiveness?run=<id>&window=30|90|180&entity=contact|company   the figures (JSON)
 *   GET /effectiveness/export?(same)                                        the same as CSV, in the user's language
 *   PUT /effectiveness/settings {marginPercent}                             admins: the margin % (settings section `effectiveness`)
 * Query values are checked by zod (unknown, repeated or nested keys: 400 BAD_REQUEST); a run that is
 * not one of the portal's done runs is 404 RUN_NOT_FOUND; `company` is 409 NO_COMPANIES while the
 * latest run labelled no company (B2B off), as on the dashboard. Admins get every figure. A non-admin gets the portal-wide figures under the
 * dashboard's rule: a segment of fewer than MIN_GROUP members is withheld entirely, and no amount of
 * money is given (revenue and margin per member, average order value are null); shares, counts of
 * deals and days stay.
 */
import express, { type Router } from 'express';
import { z } from 'zod';
import { updatePortalSettings } from '../../../store/index.js';
import { readSection, settingsPatch } from '../../../settings/index.js';
import { effectivenessCsv } from '../effectiveness-csv.js';
import { effectiveness, WINDOWS, type Effectiveness, type RunFigures, type SegmentFigures, type Window } from '../effectiveness-query.js';
import { ENTITIES } from '../effectiveness-sql.js';
import { authed, fieldIssues, HttpError, issueText, requireAdmin, wrap, type AReq, type Authed } from '../http.js';
import { MIN_GROUP } from '../visibility.js';
import { runFor, type RouteDeps } from './shared.js';

const querySchema = z.object({
  run: z.string().regex(/^[1-9]\d{0,14}$/, 'a run id').optional(),
  window: z.enum(WINDOWS.map(String) as ['30', '90', '180']).optional(),
  entity: z.enum(ENTITIES).optional(),
}).strict();

function parseQuery(req: AReq) {
  const r = querySchema.safeParse(req.query);
  if (!r.success) throw new HttpError(400, 'BAD_REQUEST', issueText(r.error, '(query)'));
  const entity = r.data.entity ?? 'contact';
  return { entity, window: Number(r.data.window ?? 90) as Window, runId: r.data.run ? Number(r.data.run) : null };
}

/** A segment's figures as a viewer gets them (members and buyers withheld from non-admins in small groups). */
export type ShownFigures = Omit<SegmentFigures, 'members' | 'buyers'> & { members: number | null; buyers: number | null };
type ShownRun = Omit<RunFigures, 'segments'> & { segments: ShownFigures[] };

function nonAdminRun(r: RunFigures): ShownRun {
  return {
    ...r,
    segments: r.segments.map((s) => {
      if (s.members < MIN_GROUP) {
        return {
          segment: s.segment, members: null, buyers: null, conversion: null, winRate: null, wonDeals: null,
          lostDeals: null, revenuePerMember: null, marginPerMember: null, marginFromCatalog: null, retention: null, stayed: null,
          averageOrderValue: null, meanDaysBetweenOrders: null,
        };
      }
      return { ...s, revenuePerMember: null, marginPerMember: null, averageOrderValue: null };
    }),
  };
}

/** What the viewer may see (field by field for non-admins: a figure added later stays admin-only until added here). */
function viewOf(a: Authed, e: Effectiveness) {
  if (a.session.a) return { ...e, suppressedBelow: null };
  return { ...e, run: e.run && nonAdminRun(e.run), history: e.history.map(nonAdminRun), suppressedBelow: MIN_GROUP };
}

export function effectivenessRoutes({ db }: RouteDeps): Router {
  const r = express.Router();
  const load = async (req: AReq) => {
    const a = authed(req);
    const q = parseQuery(req);
    if (q.entity === 'company') await runFor(db, a, q.entity); // 409 NO_COMPANIES while B2B is off
    const { marginPercent } = readSection(a.portal.settings, 'effectiveness').value;
    return { a, view: viewOf(a, await effectiveness(db, a.portal.id, { ...q, marginPercent })) };
  };

  r.get('/effectiveness', wrap(async (req) => (await load(req)).view));

  r.get('/effectiveness/export', wrap(async (req, res) => {
    const { a, view } = await load(req);
    const name = `effectiveness-${view.entity}-${view.window}d-${new Date().toISOString().slice(0, 10)}.csv`;
    res.status(200).set({ 'Content-Type': 'text/csv; charset=utf-8', 'Content-Disposition': `attachment; filename="${name}"` });
    res.send(effectivenessCsv(view, a.lang));
  }));

  r.put('/effectiveness/settings', wrap(async (req) => {
    const a = authed(req);
    requireAdmin(a);
    const patch = settingsPatch(['effectiveness'], { effectiveness: req.body as unknown });
    if (!patch.ok) throw new HttpError(400, 'INVALID_SETTINGS', issueText(patch.error), { issues: fieldIssues(patch.error) });
    await updatePortalSettings(db, a.portal.id, patch.stored);
    return { settings: patch.settings.effectiveness };
  }));

  return r;
}
