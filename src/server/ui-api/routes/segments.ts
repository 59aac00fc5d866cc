/**
 * The filter builder's requests (heavy: admitted by the portal gate):
 *   POST /segments/count    live count, share and revenue share (money for admins only)
 *   POST /segments/list     a sorted page of contacts (phones and e-mails when asked, read with the user's token)
 *   POST /segments/quality  reach, revenue and deal figures of the segment
 *   POST /segments/export   the segment as CSV (streamed; csv.ts: the screen's columns and order, in the user's language)
 * Non-admins: exact numbers over the contacts they see when that set is known (scope 'visible':
 * every contact counted is visible to them, so no small-group rule applies), else portal-wide
 * with groups under MIN_GROUP withheld (those aggregates include contacts they cannot see); pages
 * and CSV rows only of visible contacts (visibility.ts). Pages are pages of visible rows: a page is
 * full, and neither its length nor its order reveals hidden contacts. A search text that is a phone
 * or an e-mail is looked up with the user's token (shared.ts optsFor).
 * Every request takes `entity`: "contact" (default) or "company" (B2B: the companies' labels, the
 * same filters over the company's own fields; 409 NO_COMPANIES when the run labelled none).
 */
import express, { type Router } from 'express';
import { z } from 'zod';
import { segmentFilterSchema, SORT_COLUMNS, type CompileOptions, type SegmentFilter } from '../../../segments/index.js';
import { contactChannels } from '../channels.js';
import { csvDisposition, csvHeader, csvLines, CSV_COLUMN_KEYS, csvFormat, type CsvContext } from '../csv.js';
import { authed, parse, wrap, type AReq, type Authed } from '../http.js';
import {
  countSegment, iterateSegmentSorted, pageSegment, runTotals, segmentQuality, visibleSegmentSums, type ListRow,
} from '../queries.js';
import { MIN_GROUP, suppress, type Visibility } from '../visibility.js';
import { ALL, bounded, entitySchema, optsForEntity, runFor, type RouteDeps } from './shared.js';
import type { CustomerKind } from '../../../store/index.js';

/** Rows read per step while filling a page of visible rows, and at most per request. */
const SCAN_CHUNK = 500;
const SCAN_LIMIT = 50_000;

const sortSchema = z.enum(Object.keys(SORT_COLUMNS) as [keyof typeof SORT_COLUMNS, ...(keyof typeof SORT_COLUMNS)[]]).default('monetary');
const columnsSchema = z.array(z.enum(CSV_COLUMN_KEYS)).max(CSV_COLUMN_KEYS.length).optional();
const listSchema = z.object({
  filter: segmentFilterSchema,
  sort: sortSchema,
  dir: z.enum(['asc', 'desc']).default('desc'),
  page: z.number().int().min(1).max(100_000).default(1),
  pageSize: z.number().int().min(1).max(200).default(25),
  /** the screen's columns: phones / e-mails are read from the portal only when shown */
  columns: columnsSchema,
  entity: entitySchema,
});
type ListQuery = z.infer<typeof listSchema>;
const filterBody = z.object({ filter: segmentFilterSchema, entity: entitySchema });
const exportSchema = z.object({
  filter: segmentFilterSchema,
  sort: sortSchema,
  dir: z.enum(['asc', 'desc']).default('desc'),
  columns: columnsSchema,
  /** what the file is called (the view's name or the filter in words), without the date */
  name: z.string().max(200).optional(),
  entity: entitySchema,
});

/** The helpers the handlers share, over one set of dependencies. */
function helpers(deps: RouteDeps) {
  const { db, vis } = deps;
  return {
    /** Count and revenue of the filter's rows the user sees (only with a known visible set): one SQL aggregate over those ids. */
    visibleSums: (a: Authed, runId: number, filter: SegmentFilter, opts: CompileOptions, set: ReadonlySet<number>) =>
      visibleSegmentSums(db, a.portal.id, runId, filter, opts, [...set]),
    /** null for an admin, else the non-admin's view (visibility.ts) of contacts or companies. */
    viewOf: (req: AReq, a: Authed, entity: CustomerKind) => (a.session.a ? null : vis.visibility(req, a, entity)),
    /** The body's filter, within the limits, its entity and compile options. */
    filterOf: async (req: AReq, a: Authed) => {
      const body = parse(filterBody, req.body);
      const filter = bounded(a, body.filter);
      return { filter, entity: body.entity, opts: await optsForEntity(deps, req, a, filter, body.entity) };
    },
  };
}

function count(deps: RouteDeps) {
  const { db } = deps;
  const h = helpers(deps);
  return wrap(async (req) => {
    const a = authed(req);
    const { filter, opts, entity } = await h.filterOf(req, a);
    const run = await runFor(db, a, entity);
    const v = await h.viewOf(req, a, entity);
    if (v?.set) {
      // over exactly the contacts this user sees: every contact counted is one they may see, so the
      // number is exact however small (the small-group rule is for aggregates over hidden contacts)
      const [c, t] = await Promise.all([h.visibleSums(a, run.id, filter, opts, v.set), h.visibleSums(a, run.id, ALL, { entity }, v.set)]);
      return {
        count: c.count, total: t.count, share: t.count ? c.count / t.count : null,
        revenueShare: t.revenue ? c.revenue / t.revenue : null, revenue: null, scope: 'visible',
      };
    }
    const [c, t] = await Promise.all([countSegment(db, a.portal.id, run.id, filter, opts), runTotals(db, a.portal.id, run.id, entity)]);
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
async function visiblePage({ db, vis }: RouteDeps, a: Authed, v: Visibility, runId: number, q: ListQuery, opts: CompileOptions) {
  const from = (q.page - 1) * q.pageSize;
  const need = from + q.pageSize;
  const got: ListRow[] = [];
  let offset = 0;
  let exhausted = false;
  while (got.length < need && offset < SCAN_LIMIT) {
    const rows = await pageSegment(db, a.portal.id, runId, q.filter, opts, { sort: q.sort, dir: q.dir, limit: SCAN_CHUNK, offset });
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

/** Rows with the phones and e-mails the user may read (asked with their token), when the screen shows them. */
async function withChannels(deps: RouteDeps, req: AReq, a: Authed, rows: ListRow[], columns: readonly string[] | undefined, entity: CustomerKind) {
  // companies: their phones and e-mails are not read (the channels of contacts only)
  if (entity === 'company' || !columns?.some((c) => c === 'phone' || c === 'email') || !rows.length) return { rows, channels: 'off' as const };
  const token = await deps.vis.tokenIfAny(req, a);
  if (!token) return { rows, channels: 'unavailable' as const };
  try {
    const ch = await contactChannels(deps.verifier.asUser(a.portal, token), rows.map((r) => Number(r.id)));
    return { rows: rows.map((r) => ({ ...r, phones: ch.get(Number(r.id))?.phones ?? [], emails: ch.get(Number(r.id))?.emails ?? [] })), channels: 'on' as const };
  } catch (err) {
    deps.ctx.log?.('warn', 'phones / e-mails not read', { portalId: a.portal.id, error: (err as Error).message });
    return { rows, channels: 'unavailable' as const };
  }
}

function list(deps: RouteDeps) {
  const { db, vis } = deps;
  return wrap(async (req) => {
    const a = authed(req);
    const q = parse(listSchema, req.body);
    bounded(a, q.filter);
    const opts = await optsForEntity(deps, req, a, q.filter, q.entity);
    const run = await runFor(db, a, q.entity);
    let page;
    if (!a.session.a) page = await visiblePage(deps, a, await vis.visibility(req, a, q.entity), run.id, q, opts);
    else {
      const from = (q.page - 1) * q.pageSize;
      const rows = await pageSegment(db, a.portal.id, run.id, q.filter, opts, { sort: q.sort, dir: q.dir, limit: q.pageSize, offset: from });
      page = { page: q.page, pageSize: q.pageSize, rows, hiddenOnPage: 0 };
    }
    return { ...page, entity: q.entity, ...(await withChannels(deps, req, a, page.rows, q.columns, q.entity)) };
  });
}

function quality(deps: RouteDeps) {
  const { db } = deps;
  const h = helpers(deps);
  return wrap(async (req) => {
    const a = authed(req);
    const { filter, opts, entity } = await h.filterOf(req, a);
    const run = await runFor(db, a, entity);
    const v = await h.viewOf(req, a, entity);
    if (v?.set) {
      // the shares computable from the visible rows (exact: only contacts the user sees); deal figures need the whole segment
      const [c, t] = await Promise.all([h.visibleSums(a, run.id, filter, opts, v.set), h.visibleSums(a, run.id, ALL, { entity }, v.set)]);
      const per = (x: number) => (c.count ? x / c.count : null);
      return {
        size: c.count, emailShare: per(c.email), phoneShare: per(c.phone), reachableShare: per(c.reach),
        revenue: null, revenueShare: t.revenue ? c.revenue / t.revenue : 0, openDeals: null, openDealsValue: null, winRate90: null,
        scope: 'visible',
      };
    }
    const q = await segmentQuality(db, a.portal.id, run.id, filter, opts);
    if (!a.session.a && q.size < MIN_GROUP) return { suppressed: true, size: null };
    return a.session.a ? q : { ...q, revenue: null, openDealsValue: null };
  });
}

/** What the CSV needs besides the rows: the user's language, names, and a client to read phones and e-mails with the user's token. */
async function csvContext(deps: RouteDeps, req: AReq, a: Authed, columns: readonly string[], entity: CustomerKind): Promise<CsvContext> {
  const token = await deps.vis.tokenIfAny(req, a);
  const dir = await deps.dir.get(a.portal, token);
  const wantChannels = entity === 'contact' && (columns.includes('phone') || columns.includes('email'));
  return {
    format: csvFormat(a.lang),
    columns,
    directory: dir,
    channels: wantChannels && token ? (ids) => contactChannels(deps.verifier.asUser(a.portal, token), ids) : null,
  };
}

function exportCsv(deps: RouteDeps) {
  const { db, vis } = deps;
  return wrap(async (req, res) => {
    const a = authed(req);
    const body = parse(exportSchema, req.body);
    const filter = bounded(a, body.filter);
    const opts = await optsForEntity(deps, req, a, filter, body.entity);
    const run = await runFor(db, a, body.entity);
    const v = a.session.a ? null : await vis.visibility(req, a, body.entity);
    const columns = body.columns?.length ? body.columns : [...CSV_COLUMN_KEYS];
    const ctx = await csvContext(deps, req, a, columns, body.entity);
    // the first batch runs before anything is sent, so a refused or cancelled query is still a
    // JSON error (a later one cuts the stream: see the error handler)
    const batches = iterateSegmentSorted(db, a.portal.id, run.id, filter, opts, body.sort, body.dir);
    let next = await batches.next();
    res.status(200).set({ 'Content-Type': 'text/csv; charset=utf-8', 'Content-Disposition': csvDisposition(body.name, new Date()) });
    res.write(csvHeader(ctx));
    for (; !next.done; next = await batches.next()) res.write(await csvLines(v ? await vis.keepVisible(a, v, next.value) : next.value, ctx));
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
