/**
 * The UI API (/api/ui/*) and the built UI's static assets (/ui/assets/*).
 *
 * Auth: every /api/ui call carries `Authorization: Bearer <session>` (issued by renderAppPage
 * after verifying the user's AUTH_ID with the portal). Non-admin calls that reveal contacts also
 * carry `X-B24-Auth: <the user's current access token>` (from B24Frame); the server checks it
 * belongs to the session's user and uses it to ask the portal which contacts the user may see.
 *
 * Non-admins: everything about single contacts — list pages, CSV, the contact tab — and the
 * segment numbers (count, shares, quality) cover only the contacts the portal's own CRM
 * permissions let the user see, asked with the user's own token: the full set of visible IDs
 * (crm.contact.list with the user's token, all pages in batches; cached briefly) when the user
 * sees at most VISIBLE_MAX contacts, else per checked page (crm.contact.list {"@ID": ids}).
 * Pages are pages of visible rows (a page is full; neither its length nor its order reveals
 * hidden contacts). Aggregates are shown to non-admins only for groups of at least MIN_GROUP
 * contacts; smaller groups come back as null ("fewer than 10"). The dashboard stays a
 * portal-wide overview under that rule, as do segment numbers for a user who sees more than
 * VISIBLE_MAX contacts; filter pick lists (cities, interests) offer only values held by at
 * least MIN_GROUP contacts.
 */
import path from 'node:path';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { AppConfig } from '../../config.js';
import { loadManifest } from '../../../manifest/index.js';
import type { EndpointLimits, LimitedEndpoint } from '../rate-limit.js';
import { getPortal, latestSyncRun, listSyncRuns, updatePortalSettings, type Db, type Portal } from '../../store/index.js';
import { LIFECYCLE_CODES, SEGMENT_CODES } from '../../scoring/index.js';
import {
  checkFilterBounds, FILTER_TOO_LARGE, FilterCycleError, FilterError, FilterTooLargeError, SORT_COLUMNS, segmentFilterSchema,
  type CompileOptions, type SegmentFilter,
} from './filter.js';
import { bodyFault, isQueryTimeout, type Answer } from './errors.js';
import { MAX_SAVED_SEGMENTS, UI_BODY_LIMIT, UI_PORTAL_RUNNING, UI_PORTAL_WAITING, UI_STATEMENT_TIMEOUT_MS } from './limits.js';
import { PortalGate } from './portal-gate.js';
import { lifecycleLabel, segmentLabel, uiLang, UI_LANGS, type UiLang } from './labels.js';
import { PortalAuthError, PortalUserVerifier } from './portal-user.js';
import {
  contactCard, countSegment, dashboard, iterateSegment, visibleSegmentSums, pageSegment, previewSettings, runTotals, segmentQuality,
  type ListRow,
} from './queries.js';
import { latestScoreRun } from '../../store/index.js';
import { resolveSessionSecret, verifySession, type UiSession } from './session.js';
import { portalUiSettingsSchema, readSavedSegments, readUiSettings, savedSegmentSchema } from './settings.js';

export const MIN_GROUP = 10;
/** Non-admins who see at most this many contacts get numbers over exactly what they see. */
export const VISIBLE_MAX = 20_000;
/** Rows read per step while filling a page of visible rows, and at most per request. */
const SCAN_CHUNK = 500;
const SCAN_LIMIT = 50_000;

export interface RunNowResult {
  started: boolean;
  runId?: number;
  message?: string;
}

export interface UiContext {
  db: Db;
  config: Pick<AppConfig, 'sessionSecret' | 'production' | 'clientId' | 'appCode'>;
  /** defaults to a shared verifier over global fetch */
  verifier?: PortalUserVerifier;
  /** "Run now" on the sync page: start sync + score in the background for this portal */
  runNow?: (portalId: number) => Promise<RunNowResult>;
  /** queue a write-back now (saved segments changed while the segment field is on) */
  writeBackNow?: (portalId: number) => Promise<void>;
  /** empty UF_CRM_SEG_SAVED on every contact that holds a value (src/writeback/saved-segment.ts) */
  clearSavedField?: (portalId: number) => Promise<{ cleared: number; failed: number }>;
  /** where the built UI lives (default <repo>/ui/dist) */
  uiDist?: string;
  /** overrides of the rate limits (src/server/rate-limit.ts); POST /api/ui/session is limited */
  rateLimits?: Partial<Record<LimitedEndpoint, EndpointLimits>>;
  /** statement timeout of the API's database work, ms (default UI_STATEMENT_TIMEOUT_MS; PostgreSQL only, see Db.withStatementTimeout) */
  statementTimeoutMs?: number;
  /** per-portal admission of heavy requests (default: UI_PORTAL_RUNNING running, UI_PORTAL_WAITING waiting) */
  gate?: PortalGate;
  log?: (level: 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>) => void;
}

export const DEFAULT_UI_DIST = path.resolve(new URL('.', import.meta.url).pathname, '../../../ui/dist');

/** The codes `app.info` gives for this app: the client_id (local apps) and APP_CODE (default: the manifest's app code). */
export function appCodesOf(config: Pick<AppConfig, 'clientId' | 'appCode'>): string[] {
  return [config.clientId, config.appCode ?? loadManifest().app.code];
}

const verifiers = new WeakMap<UiContext, PortalUserVerifier>();
export function verifierOf(ctx: UiContext): PortalUserVerifier {
  if (ctx.verifier) return ctx.verifier;
  let v = verifiers.get(ctx);
  if (!v) verifiers.set(ctx, (v = new PortalUserVerifier(appCodesOf(ctx.config))));
  return v;
}

interface Authed {
  session: UiSession;
  portal: Portal;
  lang: UiLang;
}

type AReq = Request & { ui?: Authed };

class HttpError extends Error {
  constructor(public status: number, public code: string, message: string) {
    super(message);
  }
}

function authed(req: AReq): Authed {
  if (!req.ui) throw new HttpError(401, 'NO_SESSION', 'no session');
  return req.ui;
}

function requireAdmin(a: Authed) {
  if (!a.session.a) throw new HttpError(403, 'ADMIN_ONLY', 'only a portal administrator can do this');
}

const listSchema = z.object({
  filter: segmentFilterSchema,
  sort: z.enum(Object.keys(SORT_COLUMNS) as [keyof typeof SORT_COLUMNS, ...(keyof typeof SORT_COLUMNS)[]]).default('monetary'),
  dir: z.enum(['asc', 'desc']).default('desc'),
  page: z.number().int().min(1).max(100_000).default(1),
  pageSize: z.number().int().min(1).max(200).default(25),
});
const filterBody = z.object({ filter: segmentFilterSchema });

function parse<T>(schema: z.ZodType<T>, v: unknown): T {
  const r = schema.safeParse(v);
  if (!r.success) {
    // a filter nested past MAX_FILTER_DEPTH is refused by the schema before it recurses
    const big = r.error.issues.find((i) => (i as { params?: { error?: unknown } }).params?.error === FILTER_TOO_LARGE);
    if (big) throw new HttpError(400, FILTER_TOO_LARGE, big.message);
    throw new HttpError(400, 'BAD_REQUEST', r.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; '));
  }
  return r.data;
}

/**
 * Spreadsheet formula injection. A spreadsheet runs a cell as a formula when its text starts with
 * = + - @; Excel and LibreOffice also skip leading whitespace before one on some import paths
 * (space, tab, CR, LF, no-break and other Unicode spaces, zero-width characters), and a cell
 * that starts with a tab or CR is a formula vector of its own (OWASP "CSV injection"). The
 * full-width forms (＝ ＋ － ＠) count as well: some CJK setups read them as the ASCII signs.
 * Such a cell gets a leading ' (the spreadsheet shows it as text and runs nothing).
 *
 * One exception keeps negative amounts readable: a cell that is exactly a decimal number
 * ("-12.5", "-3e-7": our revenue / CLV / P(alive) columns, or a CRM value that is only a number)
 * is written as is. After the sign it has only digits, a point and an exponent: no operator,
 * reference or function, so there is nothing to run, and spreadsheets read it as the number.
 * Anything else starting with "-" (e.g. "-2+3", " -5") is neutralised.
 */
const FORMULA_START = /^(?:[\t\r\n]|[\s\u00A0\u1680\u180E\u2000-\u200F\u2028-\u202F\u205F-\u2064\u3000\uFEFF]*[=+\-@\uFF1D\uFF0B\uFF0D\uFF20])/;
const PLAIN_NUMBER = /^-\d+(?:\.\d+)?(?:e[+-]?\d+)?$/i;

const csvCell = (v: unknown): string => {
  if (v === null || v === undefined) return '';
  let s = Array.isArray(v) ? v.join('|') : String(v);
  if (FORMULA_START.test(s) && !PLAIN_NUMBER.test(s)) s = `'${s}`;
  return /[",\n\r;]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export const CSV_COLUMNS: Array<[keyof ListRow, string]> = [
  ['id', 'ID'], ['name', 'Name'], ['segment', 'Segment'], ['rfm', 'RFM'], ['lifecycle', 'Lifecycle'], ['sleeping', 'Sleeping'],
  ['monetary', 'Revenue'], ['clv', 'CLV'], ['pAlive', 'P(alive)'], ['lastPurchase', 'Last purchase'],
  ['recencyDays', 'Days since last purchase'], ['frequency', 'Purchase days'], ['interests', 'Interests'],
  ['hasEmail', 'Has email'], ['hasPhone', 'Has phone'], ['city', 'City'], ['sourceId', 'Source'], ['assignedById', 'Responsible'],
];

export function createUiRouter(ctx: UiContext): Router {
  const r = express.Router();
  // Every statement the API runs is bounded (PostgreSQL: cancelled by the server; 503 QUERY_TIMEOUT).
  const timeoutMs = ctx.statementTimeoutMs ?? UI_STATEMENT_TIMEOUT_MS;
  const db = ctx.db.withStatementTimeout(timeoutMs);
  const secret = resolveSessionSecret(ctx.config.sessionSecret, ctx.config.production);
  const verifier = verifierOf(ctx);
  const dist = ctx.uiDist ?? DEFAULT_UI_DIST;

  r.use('/ui/assets', express.static(path.join(dist, 'assets'), { immutable: true, maxAge: '365d', index: false }));
  r.use('/ui/assets', (_req, res) => void res.status(404).type('text').send('not found'));

  const api = express.Router();
  api.use(express.json({ limit: UI_BODY_LIMIT }));
  api.use((req: AReq, res, next) => {
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
  });

  // Heavy requests wait for one of their portal's UI_PORTAL_RUNNING slots (portal-gate.ts); the
  // slot is given back when the response is done or the client goes away.
  const gate = ctx.gate ?? new PortalGate(UI_PORTAL_RUNNING, UI_PORTAL_WAITING);
  api.use(['/segments', '/dashboard', '/settings/preview'], (req: AReq, res, next) => {
    const a = req.ui;
    if (!a) return next();
    const entered = gate.enter(a.portal.id);
    if (!entered) {
      res.set('Retry-After', '1');
      return next(new HttpError(429, 'TOO_MANY_REQUESTS',
        `this portal already has ${gate.maxRunning} requests running and ${gate.maxWaiting} waiting (limit ${gate.maxRunning} running, ${gate.maxWaiting} waiting); try again shortly`));
    }
    void entered.then((release) => {
      if (res.writableFinished || res.destroyed) return release();
      res.once('close', release);
      res.once('finish', release);
      next();
    });
  });

  const wrap = (fn: (req: AReq, res: Response) => Promise<unknown>) => (req: Request, res: Response, next: NextFunction) => {
    fn(req as AReq, res).then((out) => {
      if (out !== undefined && !res.headersSent) res.json(out);
    }, next);
  };

  /** The user's own token, checked to belong to the session's user. */
  const userToken = async (req: AReq, a: Authed): Promise<string> => {
    const t = req.get('x-b24-auth');
    if (!t) throw new HttpError(401, 'NO_USER_TOKEN', 'X-B24-Auth (the user\'s current access token) is required');
    const u = await verifier.verify(a.portal, t);
    if (u.userId !== a.session.u) throw new HttpError(401, 'TOKEN_USER_MISMATCH', 'the access token belongs to another user');
    return t;
  };

  /** What a non-admin may see: the user's token and, when enumerable, every visible contact ID. */
  interface Visibility {
    token: string;
    set: ReadonlySet<number> | null;
  }
  const visibility = async (req: AReq, a: Authed): Promise<Visibility> => {
    const token = await userToken(req, a);
    return { token, set: await verifier.visibleContactSet(a.portal, token, VISIBLE_MAX) };
  };

  /** Keeps only rows the user may see (order kept). */
  const keepVisible = async (a: Authed, v: Visibility, rows: ListRow[]): Promise<ListRow[]> => {
    if (rows.length === 0) return rows;
    const ok = v.set ?? (await verifier.visibleContactIds(a.portal, v.token, rows.map((x) => x.id)));
    return rows.filter((x) => ok.has(x.id));
  };

  /** Count and revenue of the filter's rows the user sees (only with a known visible set): one SQL aggregate over those ids. */
  const visibleSums = (a: Authed, runId: number, filter: SegmentFilter, set: ReadonlySet<number>) =>
    visibleSegmentSums(db, a.portal.id, runId, filter, opts(a), [...set]);

  const suppress = (a: Authed, n: number): number | null => (a.session.a || n >= MIN_GROUP ? n : null);
  const ALL: SegmentFilter = { all: [] };

  const savedMap = (portal: Portal): Map<string, SegmentFilter> =>
    new Map(readSavedSegments(portal.settings).map((s) => [s.id, s.filter]));

  const runOr404 = async (a: Authed) => {
    const run = await latestScoreRun(db, a.portal.id);
    if (!run) throw new HttpError(409, 'NOT_SCORED', 'no scoring run yet: run the sync first');
    return run;
  };

  api.get('/me', wrap(async (req) => {
    const a = authed(req);
    return { userId: a.session.u, isAdmin: a.session.a, lang: a.lang, languages: UI_LANGS, portal: { domain: a.portal.domain, memberId: a.portal.memberId }, sessionExpires: a.session.exp };
  }));

  api.get('/meta', wrap(async (req) => {
    const a = authed(req);
    const run = await latestScoreRun(db, a.portal.id);
    const P = [a.portal.id];
    const [interests, sources, responsibles, cities, ufKeys] = await Promise.all([
      run
        ? db.query<{ tag: string; name: string | null }>(
            `SELECT t.tag, max(l.extra->'interestNames'->>t.tag) AS name
               FROM contact_labels l, unnest(l.interests) AS t(tag)
              WHERE l.portal_id = $1 AND l.run_id = $2 GROUP BY t.tag HAVING count(*) >= $3 ORDER BY 2, 1 LIMIT 500`,
            [a.portal.id, run.id, a.session.a ? 0 : MIN_GROUP],
          )
        : { rows: [] },
      db.query<{ v: string }>(`SELECT DISTINCT source_id AS v FROM contacts WHERE portal_id = $1 AND source_id IS NOT NULL ORDER BY 1 LIMIT 200`, P),
      db.query<{ v: number }>(`SELECT DISTINCT assigned_by_id AS v FROM contacts WHERE portal_id = $1 AND assigned_by_id IS NOT NULL ORDER BY 1 LIMIT 500`, P),
      db.query<{ v: string; n: number }>(
        `SELECT city AS v, count(*)::int AS n FROM contacts WHERE portal_id = $1 AND city IS NOT NULL AND city <> '' GROUP BY 1 HAVING count(*) >= $2 ORDER BY 2 DESC LIMIT 100`,
        [a.portal.id, a.session.a ? 0 : MIN_GROUP],
      ),
      db.query<{ v: string }>(
        `SELECT DISTINCT jsonb_object_keys(uf) AS v FROM (SELECT uf FROM contacts WHERE portal_id = $1 LIMIT 2000) s ORDER BY 1`,
        P,
      ),
    ]);
    const scale = run ? ((run.settings as { rfm?: { scale?: number } })?.rfm?.scale === 3 ? 3 : 5) : 5;
    return {
      run: run ? { id: run.id, asOf: run.asOf } : null,
      scale,
      segments: SEGMENT_CODES.map((c) => ({ code: c, ...segmentLabel(c, a.lang) })),
      lifecycles: LIFECYCLE_CODES.map((c) => ({ code: c, ...lifecycleLabel(c, a.lang) })),
      interests: interests.rows.map((x) => x.tag),
      interestNames: Object.fromEntries(interests.rows.map((x) => [x.tag, x.name || x.tag])),
      sources: sources.rows.map((x) => x.v),
      responsibles: responsibles.rows.map((x) => x.v),
      cities: cities.rows.map((x) => x.v),
      ufKeys: ufKeys.rows.map((x) => x.v).filter((k) => /^UF_CRM_[A-Z0-9_]{1,60}$/.test(k)),
      saved: readSavedSegments(a.portal.settings),
      minGroup: a.session.a ? null : MIN_GROUP,
    };
  }));

  const opts = (a: Authed): CompileOptions => ({ saved: savedMap(a.portal) });
  /** The filter's expansion is within the limits (limits.ts); checked before any other work. */
  const bounded = (a: Authed, filter: SegmentFilter): SegmentFilter => {
    checkFilterBounds(filter, savedMap(a.portal));
    return filter;
  };

  api.post('/segments/count', wrap(async (req) => {
    const a = authed(req);
    const filter = bounded(a, parse(filterBody, req.body).filter);
    const run = await runOr404(a);
    const v = a.session.a ? null : await visibility(req, a);
    if (v?.set) {
      // over exactly the contacts this user sees
      const [c, t] = await Promise.all([visibleSums(a, run.id, filter, v.set), visibleSums(a, run.id, ALL, v.set)]);
      const count = suppress(a, c.count);
      return {
        count,
        total: null,
        share: count === null || !t.count ? null : c.count / t.count,
        revenueShare: count === null || !t.revenue ? null : c.revenue / t.revenue,
        revenue: null,
        scope: 'visible',
      };
    }
    const [c, t] = await Promise.all([countSegment(db, a.portal.id, run.id, filter, opts(a)), runTotals(db, a.portal.id, run.id)]);
    const count = suppress(a, c.count);
    return {
      count,
      total: a.session.a ? t.count : null,
      share: count === null || !t.count ? null : c.count / t.count,
      revenueShare: count === null || !t.revenue ? null : c.revenue / t.revenue,
      revenue: a.session.a ? c.revenue : null,
      scope: 'portal',
    };
  }));

  api.post('/segments/list', wrap(async (req) => {
    const a = authed(req);
    const q = parse(listSchema, req.body);
    bounded(a, q.filter);
    const run = await runOr404(a);
    const from = (q.page - 1) * q.pageSize;
    if (a.session.a) {
      const rows = await pageSegment(db, a.portal.id, run.id, q.filter, opts(a), { sort: q.sort, dir: q.dir, limit: q.pageSize, offset: from });
      return { page: q.page, pageSize: q.pageSize, rows, hiddenOnPage: 0 };
    }
    // A page of the rows this user sees, in the requested order: read the sorted segment in
    // chunks and keep the visible rows until the page is filled. Hidden rows leave no trace
    // (no short pages, no gaps, no hidden count).
    const v = await visibility(req, a);
    const need = from + q.pageSize;
    const got: ListRow[] = [];
    let offset = 0;
    let exhausted = false;
    while (got.length < need && offset < SCAN_LIMIT) {
      const rows = await pageSegment(db, a.portal.id, run.id, q.filter, opts(a), { sort: q.sort, dir: q.dir, limit: SCAN_CHUNK, offset });
      offset += rows.length;
      got.push(...(await keepVisible(a, v, rows)));
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
  }));

  api.post('/segments/quality', wrap(async (req) => {
    const a = authed(req);
    const filter = bounded(a, parse(filterBody, req.body).filter);
    const run = await runOr404(a);
    const v = a.session.a ? null : await visibility(req, a);
    if (v?.set) {
      // the shares computable from the visible rows; deal figures need the whole segment
      const [c, t] = await Promise.all([visibleSums(a, run.id, filter, v.set), visibleSums(a, run.id, ALL, v.set)]);
      if (c.count < MIN_GROUP) return { suppressed: true, size: null };
      return {
        size: c.count, emailShare: c.email / c.count, phoneShare: c.phone / c.count, reachableShare: c.reach / c.count,
        revenue: null, revenueShare: t.revenue ? c.revenue / t.revenue : 0, openDeals: null, openDealsValue: null, winRate90: null,
        scope: 'visible',
      };
    }
    const q = await segmentQuality(db, a.portal.id, run.id, filter, opts(a));
    if (!a.session.a && q.size < MIN_GROUP) return { suppressed: true, size: null };
    return a.session.a ? q : { ...q, revenue: null, openDealsValue: null };
  }));

  api.post('/segments/export', wrap(async (req, res) => {
    const a = authed(req);
    const filter = bounded(a, parse(filterBody, req.body).filter);
    const run = await runOr404(a);
    const v = a.session.a ? null : await visibility(req, a);
    // the first batch runs before anything is sent, so a refused or cancelled query is still a
    // JSON error (a later one cuts the stream: see the error handler)
    const batches = iterateSegment(db, a.portal.id, run.id, filter, opts(a));
    let next = await batches.next();
    res.status(200).set({
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': `attachment; filename="segment-${new Date().toISOString().slice(0, 10)}.csv"`,
    });
    res.write('\uFEFF' + CSV_COLUMNS.map(([, h]) => csvCell(h)).join(',') + '\r\n');
    for (; !next.done; next = await batches.next()) {
      const rows = v ? await keepVisible(a, v, next.value) : next.value;
      res.write(rows.map((row) => CSV_COLUMNS.map(([k]) => csvCell(row[k])).join(',')).join('\r\n') + (rows.length ? '\r\n' : ''));
    }
    res.end();
    return undefined;
  }));

  api.get('/saved', wrap(async (req) => ({ saved: readSavedSegments(authed(req).portal.settings) })));

  api.put('/saved', wrap(async (req) => {
    const a = authed(req);
    requireAdmin(a);
    const seg = parse(savedSegmentSchema, req.body);
    const before = readSavedSegments(a.portal.settings);
    const list = before.filter((s) => s.id !== seg.id);
    if (list.length === before.length && list.length >= MAX_SAVED_SEGMENTS) {
      throw new HttpError(400, 'TOO_MANY_SAVED_SEGMENTS', `a portal keeps at most ${MAX_SAVED_SEGMENTS} saved segments (limit ${MAX_SAVED_SEGMENTS}); delete one first`);
    }
    list.push(seg);
    // The new segment must be within the limits once its references are inlined, and must not
    // push a segment that refers to it over them (or into a cycle). Segments that were already
    // unusable before this change (e.g. stored before the limits) do not block it.
    const oldMap = new Map(before.map((s) => [s.id, s.filter]));
    const newMap = new Map(list.map((s) => [s.id, s.filter]));
    checkFilterBounds(seg.filter, newMap, { what: `saved segment "${seg.id}"`, selfId: seg.id });
    for (const s of list) {
      if (s === seg) continue;
      let okBefore = true;
      try {
        checkFilterBounds(s.filter, oldMap, { selfId: s.id });
      } catch {
        okBefore = false;
      }
      if (okBefore) checkFilterBounds(s.filter, newMap, { what: `saved segment "${s.id}" (which refers to "${seg.id}")`, selfId: s.id });
    }
    list.sort((x, y) => y.priority - x.priority);
    await updatePortalSettings(db, a.portal.id, { savedSegments: list });
    return { saved: list, writeBack: savedChanged(a.portal) };
  }));

  api.delete('/saved/:id', wrap(async (req) => {
    const a = authed(req);
    requireAdmin(a);
    const list = readSavedSegments(a.portal.settings).filter((s) => s.id !== req.params.id);
    await updatePortalSettings(db, a.portal.id, { savedSegments: list });
    return { saved: list, writeBack: savedChanged(a.portal) };
  }));

  /**
   * Saved segments changed: with the segment field on, queue a write-back so the CRM field follows
   * now rather than at the next cycle (the write-back diffs, so only moved contacts are written).
   */
  function savedChanged(portal: Portal): boolean {
    if (!readUiSettings(portal.settings).segmentField.enabled || !ctx.writeBackNow) return false;
    ctx.writeBackNow(portal.id).catch((err: unknown) => ctx.log?.('warn', 'write-back not queued', { portalId: portal.id, error: (err as Error).message }));
    return true;
  }

  /**
   * POST /saved-field/clear (admins): empty the saved-segment field on every contact holding a
   * value, in the background. Only while the option is off (else the next write-back refills it):
   * 409. One clear per portal at a time: 409 while one runs. GET shows the last result.
   */
  const clearing = new Map<number, { running: boolean; cleared?: number; failed?: number; error?: string; at: string }>();
  api.get('/saved-field/clear', wrap(async (req) => {
    const a = authed(req);
    requireAdmin(a);
    return { status: clearing.get(a.portal.id) ?? null };
  }));
  api.post('/saved-field/clear', wrap(async (req, res) => {
    const a = authed(req);
    requireAdmin(a);
    if (!ctx.clearSavedField) throw new HttpError(501, 'NOT_AVAILABLE', 'clearing is not available in this server');
    if (readUiSettings(a.portal.settings).segmentField.enabled) {
      throw new HttpError(409, 'FIELD_ENABLED', 'turn off "write the highest-priority saved segment to a contact field" and save first; otherwise the next write-back fills the field again');
    }
    if (clearing.get(a.portal.id)?.running) throw new HttpError(409, 'ALREADY_RUNNING', 'the field is being cleared already');
    const portalId = a.portal.id;
    clearing.set(portalId, { running: true, at: new Date().toISOString() });
    ctx.clearSavedField(portalId).then(
      (r) => clearing.set(portalId, { running: false, ...r, at: new Date().toISOString() }),
      (err: unknown) => {
        clearing.set(portalId, { running: false, error: (err as Error).message, at: new Date().toISOString() });
        ctx.log?.('warn', 'saved-segment field clear failed', { portalId, error: (err as Error).message });
      },
    );
    res.status(202);
    return { started: true };
  }));

  api.get('/contacts/:id', wrap(async (req) => {
    const a = authed(req);
    const id = Number(req.params.id);
    if (!Number.isSafeInteger(id) || id <= 0) throw new HttpError(400, 'BAD_REQUEST', 'bad contact id');
    if (!a.session.a) {
      const token = await userToken(req, a);
      const ok = await verifier.visibleContactIds(a.portal, token, [id]);
      if (!ok.has(id)) throw new HttpError(403, 'ACCESS_DENIED', 'your CRM permissions do not include this contact');
    }
    const card = await contactCard(db, a.portal.id, id);
    return {
      ...card,
      segmentText: card.label?.segment ? segmentLabel(card.label.segment, a.lang) : null,
      lifecycleText: card.label?.lifecycle ? lifecycleLabel(card.label.lifecycle, a.lang) : null,
    };
  }));

  /**
   * The dashboard. Admins get every figure. A non-admin (e.g. a head of sales) gets counts (groups
   * under MIN_GROUP withheld) and SHARES of revenue (revenueShare = the group's revenue / the run's
   * total, 0..1), never an amount of money: no absolute or average revenue, and the value
   * histogram's band edges (amounts; the top edge is the largest customer's revenue) become null,
   * leaving the band number and its count. The non-admin payload is built field by field, so a
   * figure added to `dashboard()` later stays admin-only until it is added here.
   */
  api.get('/dashboard', wrap(async (req) => {
    const a = authed(req);
    const d = await dashboard(db, a.portal.id);
    if (a.session.a) return { ...d, suppressedBelow: null };
    const s = (n: number) => suppress(a, n);
    return {
      run: d.run,
      previousRun: d.previousRun,
      totals: { count: d.totals.count, revenue: null },
      heatmap: d.heatmap.map((h) => ({
        r: h.r, f: h.f, count: s(h.count), revenue: null, avgM: null, revenueShare: s(h.count) === null ? null : h.revenueShare,
      })),
      segments: d.segments.map((x) => ({ segment: x.segment, count: s(x.count), revenue: null, revenueShare: s(x.count) === null ? null : x.revenueShare })),
      movement: d.movement.filter((m) => m.count >= MIN_GROUP),
      history: d.history.map((h) => ({ runId: h.runId, asOf: h.asOf, sizes: Object.fromEntries(Object.entries(h.sizes).filter(([, n]) => n >= MIN_GROUP)) })),
      alerts: d.alerts,
      sources: d.sources.filter((m) => m.count >= MIN_GROUP),
      valueHistogram: d.valueHistogram.map((h) => ({ bin: h.bin, from: null, to: null, count: s(h.count) })),
      concentration: d.concentration,
      suppressedBelow: MIN_GROUP,
    };
  }));

  api.get('/settings', wrap(async (req) => {
    const a = authed(req);
    requireAdmin(a);
    return { settings: readUiSettings(a.portal.settings) };
  }));

  api.post('/settings/preview', wrap(async (req) => {
    const a = authed(req);
    requireAdmin(a);
    const body = parse(z.object({ scoring: z.unknown() }), req.body);
    const draft = portalUiSettingsSchema.shape.scoring.safeParse(body.scoring);
    if (!draft.success) throw new HttpError(400, 'INVALID_SETTINGS', draft.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    return previewSettings(db, a.portal.id, draft.data);
  }));

  api.put('/settings', wrap(async (req) => {
    const a = authed(req);
    requireAdmin(a);
    const r = portalUiSettingsSchema.safeParse(req.body?.settings);
    if (!r.success) throw new HttpError(400, 'INVALID_SETTINGS', r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    const wasOn = readUiSettings(a.portal.settings).segmentField.enabled;
    await updatePortalSettings(db, a.portal.id, { ...r.data });
    ctx.log?.('info', 'ui settings saved', { portalId: a.portal.id, userId: a.session.u });
    // the segment field just turned on: write it now rather than at the next cycle
    const writeBack = !wasOn && r.data.segmentField.enabled && !!ctx.writeBackNow;
    if (writeBack) ctx.writeBackNow!(a.portal.id).catch((err: unknown) => ctx.log?.('warn', 'write-back not queued', { portalId: a.portal.id, error: (err as Error).message }));
    return { settings: r.data, writeBack };
  }));

  api.get('/sync', wrap(async (req) => {
    const a = authed(req);
    const [current, runs, score] = await Promise.all([
      latestSyncRun(db, a.portal.id, { status: 'running' }),
      listSyncRuns(db, a.portal.id, 10),
      latestScoreRun(db, a.portal.id),
    ]);
    const strip = <T extends { checkpoint?: unknown }>(x: T) => ({ ...x, checkpoint: undefined });
    return {
      current: current ? strip(current) : null,
      runs: runs.map(strip),
      lastScore: score ? { id: score.id, asOf: score.asOf, createdAt: score.createdAt, counts: score.counts } : null,
      canRunNow: a.session.a && !!ctx.runNow,
    };
  }));

  api.post('/sync/run', wrap(async (req) => {
    const a = authed(req);
    requireAdmin(a);
    if (!ctx.runNow) throw new HttpError(501, 'NOT_AVAILABLE', 'this server has no background runner configured');
    return ctx.runNow(a.portal.id);
  }));

  api.use((req, res) => {
    res.status(404).json({ error: 'NOT_FOUND', message: `no ${req.method} ${req.path}` });
  });
  /**
   * Errors. Known ones (the client's fault, the portal's refusal, a cancelled query) are answered
   * with their status and logged as ONE line without a stack: 4xx at info, 5xx at warn. Anything
   * else is a 500, logged at error with its stack. Never a body, a header or a token; the line
   * replaces the access log's (res.locals.logged).
   */
  const known = (err: unknown): Answer | null => {
    if (err instanceof HttpError) return { status: err.status, code: err.code, message: err.message };
    if (err instanceof PortalAuthError) return { status: err.status, code: err.code, message: err.message };
    if (err instanceof FilterTooLargeError) return { status: 400, code: FILTER_TOO_LARGE, message: err.message };
    if (err instanceof FilterCycleError) return { status: 400, code: 'FILTER_CYCLE', message: err.message };
    if (err instanceof FilterError) return { status: 400, code: 'BAD_FILTER', message: err.message };
    if (err instanceof z.ZodError) return { status: 400, code: 'BAD_REQUEST', message: err.message };
    if (isQueryTimeout(err)) {
      return { status: 503, code: 'QUERY_TIMEOUT', message: `the database query ran longer than ${timeoutMs} ms and was cancelled (limit ${timeoutMs} ms); narrow the filter or try again later` };
    }
    return bodyFault(err);
  };
  api.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const where = { method: req.method, path: req.originalUrl.split('?')[0], portalId: (req as AReq).ui?.portal.id };
    res.locals.logged = true;
    const k = known(err);
    if (k) {
      ctx.log?.(k.status >= 500 ? 'warn' : 'info', 'ui api: refused', { ...where, status: k.status, error: k.code });
      if (!res.headersSent) return void res.status(k.status).json({ error: k.code, message: k.message });
      return void res.destroy();
    }
    const e = err as Error | undefined;
    ctx.log?.('error', 'ui api error', { ...where, status: 500, error: String(e?.message ?? err), stack: e?.stack });
    if (!res.headersSent) res.status(500).json({ error: 'INTERNAL', message: 'internal error' });
    // a stream already under way (CSV): cut it, so the client sees a failed download, not a short file
    else res.destroy();
  });
  r.use('/api/ui', api);
  return r;
}
