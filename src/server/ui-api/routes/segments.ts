/**
 * The filter builder's requests (heavy: admitted by the portal gate):
 *   POST /segments/count    live count, share and revenue share (money for admins only)
 *   POST /segments/list     a sorted page of contacts
 *   POST /segments/quality  reach, revenue and deal figures of the segment
 *   POST /segments/export   the segment as CSV (streamed)
 * Non-admins: exact numbers over the contacts they see when that set is known (scope 'visible':
 * every contact counted is visible to them, so no small-group rule applies), else portal-wide
 * with groups under MIN_GROUP withheld (those aggregates include contacts they cannot see); pages and CSV rows only of visible contacts
 * (visibility.ts). Pages are pages of visible rows: a page is full, and neither its length nor its
 * order reveals hidden contacts.
 */
import express, { type Router } from 'express';
import { z } from 'zod';
import { segmentFilterSchema, SORT_COLUMNS, type SegmentFilter } from '../../../segments/index.js';
import { csvHeader, csvLines } from '../csv.js';
import { authed, parse, wrap, type AReq, type Authed } from '../http.js';
import {
  countSegment, iterateSegment, pageSegment, runTotals, segmentQuality, visibleSegmentSums, type ListRow,
} from '../queries.js';
import { MIN_GROUP, suppress, type Visibility } from '../visibility.js';
import { ALL, bounded, compileOpts, runOr404, type RouteDeps } from './shared.js';

/** Rows read per step while filling a page of visible rows, and at most per request. */
const SCAN_CHUNK = 500;
const SCAN_LIMIT = 50_000;

const listSchema = z.object({
  filter: segmentFilterSchema,
  sort: z.enum(Object.keys(SORT_COLUMNS) as [keyof typeof SORT_COLUMNS, ...(keyof typeof SORT_COLUMNS)[]]).default('monetary'),
  dir: z.enum(['asc', 'desc']).default('desc'),
  page: z.number().int().min(1).max(100_000).default(1),
  pageSize: z.number().int().min(1).max(200).default(25),
});
type ListQuery = z.infer<typeof listSchema>;
const filterBody = z.object({ filter: segmentFilterSchema });

/** The helpers the handlers share, over one set of dependencies. */
function helpers({ db, vis }: RouteDeps) {
  return {
    /** Count and revenue of the filter's rows the user sees (only with a known visible set): one SQL aggregate over those ids. */
    visibleSums: (a: Authed, runId: number, filter: SegmentFilter, set: ReadonlySet<number>) =>
      visibleSegmentSums(db, a.portal.id, runId, filter, compileOpts(a), [...set]),
    /** null for an admin, else the non-admin's view (visibility.ts). */
    viewOf: (req: AReq, a: Authed) => (a.session.a ? null : vis.visibility(req, a)),
    /** The body's filter, within the limits. */
    filterOf: (req: AReq, a: Authed) => bounded(a, parse(filterBody, req.body).filter),
  };
}

function count(deps: RouteDeps) {
  const { db } = deps;
  const h = helpers(deps);
  return wrap(async (req) => {
    const a = authed(req);
    const filter = h.filterOf(req, a);
    const run = await runOr404(db, a);
    const v = await h.viewOf(req, a);
    if (v?.set) {
      // over exactly the contacts this user sees: every contact counted is one they may see, so the
      // number is exact however small (the small-group rule is for aggregates over hidden contacts)
      const [c, t] = await Promise.all([h.visibleSums(a, run.id, filter, v.set), h.visibleSums(a, run.id, ALL, v.set)]);
      return {
        count: c.count, total: t.count, share: t.count ? c.count / t.count : null,
        revenueShare: t.revenue ? c.revenue / t.revenue : null, revenue: null, scope: 'visible',
      };
    }
    const [c, t] = await Promise.all([countSegment(db, a.portal.id, run.id, filter, compileOpts(a)), runTotals(db, a.portal.id, run.id)]);
    const n = suppress(a, c.count);
    return {
      count: n,
      total: a.session.a ? t.count : null,
      share: n === null || !t.count ? null : c.count / t.count,
      revenueShare: n === null || !t.revenue ? null : c.revenue / t.revenue,
      revenue: a.session.a ? c.revenue : null,
      scope: 'portal',
    };
  });
}

/**
 * A page of the rows this user sees, in the requested order: read the sorted segment in chunks
 * and keep the visible rows until the page is filled. Hidden rows leave no trace (no short pages,
 * no gaps, no hidden count).
 */
async function visiblePage({ db, vis }: RouteDeps, a: Authed, v: Visibility, runId: number, q: ListQuery) {
  const from = (q.page - 1) * q.pageSize;
  const need = from + q.pageSize;
  const got: ListRow[] = [];
  let offset = 0;
  let exhausted = false;
  while (got.length < need && offset < SCAN_LIMIT) {
    const rows = await pageSegment(db, a.portal.id, runId, q.filter, compileOpts(a), { sort: q.sort, dir: q.dir, limit: SCAN_CHUNK, offset });
    offset += rows.length;
    got.push(...(await vis.keepVisible(a, v, rows)));
    if (rows.length < SCAN_CHUNK) {
      exhausted = true;
      break;
    }
  }
  return {
    page: q.page, pageSize: q.pageSize, rows: got.slice(from, need), hiddenOnPage: 0,
    more: got.length > need || (!exhausted && got.length >= need),
    /** true when the scan limit stopped before the page could be filled */
    truncated: !exhausted && got.length < need,
  };
}

function list(deps: RouteDeps) {
  const { db, vis } = deps;
  return wrap(async (req) => {
    const a = authed(req);
    const q = parse(listSchema, req.body);
    bounded(a, q.filter);
    const run = await runOr404(db, a);
    if (!a.session.a) return visiblePage(deps, a, await vis.visibility(req, a), run.id, q);
    const from = (q.page - 1) * q.pageSize;
    const rows = await pageSegment(db, a.portal.id, run.id, q.filter, compileOpts(a), { sort: q.sort, dir: q.dir, limit: q.pageSize, offset: from });
    return { page: q.page, pageSize: q.pageSize, rows, hiddenOnPage: 0 };
  });
}

function quality(deps: RouteDeps) {
  const { db } = deps;
  const h = helpers(deps);
  return wrap(async (req) => {
    const a = authed(req);
    const filter = h.filterOf(req, a);
    const run = await runOr404(db, a);
    const v = await h.viewOf(req, a);
    if (v?.set) {
      // the shares computable from the visible rows (exact: only contacts the user sees); deal figures need the whole segment
      const [c, t] = await Promise.all([h.visibleSums(a, run.id, filter, v.set), h.visibleSums(a, run.id, ALL, v.set)]);
      const per = (x: number) => (c.count ? x / c.count : null);
      return {
        size: c.count, emailShare: per(c.email), phoneShare: per(c.phone), reachableShare: per(c.reach),
        revenue: null, revenueShare: t.revenue ? c.revenue / t.revenue : 0, openDeals: null, openDealsValue: null, winRate90: null,
        scope: 'visible',
      };
    }
    const q = await segmentQuality(db, a.portal.id, run.id, filter, compileOpts(a));
    if (!a.session.a && q.size < MIN_GROUP) return { suppressed: true, size: null };
    return a.session.a ? q : { ...q, revenue: null, openDealsValue: null };
  });
}

function exportCsv(deps: RouteDeps) {
  const { db, vis } = deps;
  const h = helpers(deps);
  return wrap(async (req, res) => {
    const a = authed(req);
    const filter = h.filterOf(req, a);
    const run = await runOr404(db, a);
    const v = await h.viewOf(req, a);
    // the first batch runs before anything is sent, so a refused or cancelled query is still a
    // JSON error (a later one cuts the stream: see the error handler)
    const batches = iterateSegment(db, a.portal.id, run.id, filter, compileOpts(a));
    let next = await batches.next();
    res.status(200).set({
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': `attachment; filename="segment-${new Date().toISOString().slice(0, 10)}.csv"`,
    });
    res.write(csvHeader());
    for (; !next.done; next = await batches.next()) res.write(csvLines(v ? await vis.keepVisible(a, v, next.value) : next.value));
    res.end();
    return undefined;
  });
}

export function segmentRoutes(deps: RouteDeps): Router {
  const r = express.Router();
  r.post('/segments/count', count(deps));
  r.post('/segments/list', list(deps));
  r.post('/segments/quality', quality(deps));
  r.post('/segments/export', exportCsv(deps));
  return r;
}
