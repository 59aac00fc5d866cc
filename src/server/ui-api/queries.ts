/**
 * Read side of the UI API: segment counts, pages, CSV rows, quality, dashboard aggregates,
 * one contact's scores, and the settings preview. All SQL is parameterised; filters compile
 * through filter.ts.
 */
import type { Db } from '../../store/index.js';
import { iterateContactBatches, latestScoreRun, readFactsDicts, type FactsDicts, type ScoreRun } from '../../store/index.js';
import { scorePortal, scoringSettingsSchema, type CustomerInput, type ScoringSettings } from '../../scoring/index.js';
import {
  compileCount, compileFilter, compilePredicate, cubeAnswers, needsContacts, Params, REVENUE_SQL, SORT_COLUMNS,
  type CompileOptions, type SegmentFilter, type SortColumn,
} from './filter.js';

/**
 * Revenue of a contact in the run = M (total purchase value in base currency with the default
 * `rfm.monetary: 'total'`), a plain column (label_cube sums it per cell, label_facts copies it).
 */
export { REVENUE_SQL };

export interface ListRow {
  id: number;
  name: string;
  segment: string | null;
  rfm: string | null;
  monetary: number | null;
  clv: number | null;
  pAlive: number | null;
  lastPurchase: string | null;
  recencyDays: number | null;
  frequency: number | null;
  lifecycle: string | null;
  sleeping: boolean;
  interests: string[];
  hasEmail: boolean;
  hasPhone: boolean;
  city: string | null;
  sourceId: string | null;
  assignedById: number | null;
}

const ROW_SELECT = `l.contact_id AS id,
  trim(coalesce(c.name, '') || ' ' || coalesce(c.last_name, '')) AS name,
  l.segment, l.rfm, l.monetary, l.clv, l.p_alive AS "pAlive", l.last_purchase AS "lastPurchase",
  l.recency_days AS "recencyDays", l.frequency, l.lifecycle, l.sleeping, l.interests,
  c.has_email AS "hasEmail", c.has_phone AS "hasPhone", c.city, c.source_id AS "sourceId", c.assigned_by_id AS "assignedById"`;

/**
 * The portals' count-table dictionaries, per database handle: read once, then checked by every
 * query compiled with them (its `tracked` is false once a rebuild has replaced them, and they are
 * read again).
 */
const dictsCache = new WeakMap<Db, Map<number, FactsDicts>>();

/**
 * The filter builder's live count: contacts of the run matching f, and their revenue. Answered
 * from label_cube (filters on segment / lifecycle / RFM / R, F, M / sleeping only) or label_facts
 * (migration 005), which hold the portal's latest done run; for any other run (or before the
 * first tracked one) from contact_labels joined to contacts. Same numbers either way.
 */
export async function countSegment(db: Db, portalId: number, runId: number, f: SegmentFilter, opts: CompileOptions) {
  type Row = { tracked: boolean; count: number; revenue: number };
  if (cubeAnswers(f, opts.saved)) {
    const c = compileCount(portalId, runId, f, opts);
    const { rows } = await db.query<Row>(c.sql, c.params);
    if (rows[0]?.tracked) return { count: rows[0].count, revenue: rows[0].revenue };
  } else {
    let cache = dictsCache.get(db);
    if (!cache) dictsCache.set(db, (cache = new Map()));
    for (let attempt = 0; attempt < 2; attempt++) {
      let dicts = cache.get(portalId);
      if (!dicts || dicts.runId !== runId || attempt > 0) {
        dicts = (await readFactsDicts(db, portalId)) ?? undefined;
        if (dicts) cache.set(portalId, dicts);
        else cache.delete(portalId);
      }
      if (!dicts || dicts.runId !== runId) break;
      const c = compileCount(portalId, runId, f, opts, dicts);
      const { rows } = await db.query<Row>(c.sql, c.params);
      if (rows[0]?.tracked) return { count: rows[0].count, revenue: rows[0].revenue };
    }
  }
  const q = compileFilter(portalId, runId, f, opts);
  const { rows: slow } = await db.query<{ count: number; revenue: number }>(
    `SELECT count(*)::int AS count, COALESCE(sum(${REVENUE_SQL}), 0)::float8 AS revenue ${q.fromWhere}`,
    q.params,
  );
  return slow[0] ?? { count: 0, revenue: 0 };
}

/** Totals of the run (for shares): from label_cube when it holds the run, else from contact_labels. */
export async function runTotals(db: Db, portalId: number, runId: number) {
  return countSegment(db, portalId, runId, { all: [] }, {});
}

export interface PageRequest {
  sort: SortColumn;
  dir: 'asc' | 'desc';
  offset: number;
  limit: number;
}

export async function pageSegment(db: Db, portalId: number, runId: number, f: SegmentFilter, opts: CompileOptions, pg: PageRequest): Promise<ListRow[]> {
  const q = compileFilter(portalId, runId, f, opts, true);
  const col = SORT_COLUMNS[pg.sort];
  const dir = pg.dir === 'desc' ? 'DESC NULLS LAST' : 'ASC NULLS LAST';
  const n = q.params.length;
  const { rows } = await db.query<ListRow>(
    `SELECT ${ROW_SELECT} ${q.fromWhere} ORDER BY ${col} ${dir}, l.contact_id ${pg.dir === 'desc' ? 'DESC' : 'ASC'} LIMIT $${n + 1} OFFSET $${n + 2}`,
    [...q.params, pg.limit, pg.offset],
  );
  return rows;
}

/** All matching rows in contact id order, in batches (CSV export). */
export async function* iterateSegment(db: Db, portalId: number, runId: number, f: SegmentFilter, opts: CompileOptions, batch = 2000): AsyncGenerator<ListRow[]> {
  const q = compileFilter(portalId, runId, f, opts, true);
  const n = q.params.length;
  let after = -1;
  for (;;) {
    const { rows } = await db.query<ListRow>(
      `SELECT ${ROW_SELECT} ${q.fromWhere} AND l.contact_id > $${n + 1} ORDER BY l.contact_id LIMIT $${n + 2}`,
      [...q.params, after, batch],
    );
    if (rows.length === 0) return;
    yield rows;
    after = rows[rows.length - 1]!.id;
    if (rows.length < batch) return;
  }
}

export interface SegmentQuality {
  size: number;
  emailShare: number;
  phoneShare: number;
  reachableShare: number;
  revenue: number;
  revenueShare: number;
  openDeals: number;
  openDealsValue: number;
  /** won / (won + lost) of the segment's deals closed in the last 90 days of the data; null if none */
  winRate90: number | null;
}

/**
 * Count, revenue and reach of the filter's rows among the given contact ids (a non-admin's
 * visible set, at most a few tens of thousands): one aggregate with `contact_id = ANY(ids)`, so
 * the rows are found by the label key instead of reading the whole segment.
 */
export async function visibleSegmentSums(db: Db, portalId: number, runId: number, f: SegmentFilter, opts: CompileOptions, ids: readonly number[]) {
  const q = compileFilter(portalId, runId, f, opts, true);
  const n = q.params.length;
  const { rows } = await db.query<{ count: number; revenue: number; email: number; phone: number; reach: number }>(
    `SELECT count(*)::int AS count, COALESCE(sum(${REVENUE_SQL}), 0)::float8 AS revenue,
            count(*) FILTER (WHERE c.has_email)::int AS email, count(*) FILTER (WHERE c.has_phone)::int AS phone,
            count(*) FILTER (WHERE c.has_email OR c.has_phone)::int AS reach
       ${q.fromWhere} AND l.contact_id = ANY($${n + 1}::bigint[])`,
    [...q.params, [...ids]],
  );
  const r = rows[0]!;
  return { count: r.count, revenue: r.revenue, email: r.email, phone: r.phone, reach: r.reach };
}

export async function segmentQuality(db: Db, portalId: number, runId: number, f: SegmentFilter, opts: CompileOptions): Promise<SegmentQuality> {
  const q = compileFilter(portalId, runId, f, opts, true);
  const [{ rows: a }, totals] = await Promise.all([
    db.query<{ size: number; email: number; phone: number; reach: number; revenue: number }>(
      `SELECT count(*)::int AS size, count(*) FILTER (WHERE c.has_email)::int AS email, count(*) FILTER (WHERE c.has_phone)::int AS phone,
              count(*) FILTER (WHERE c.has_email OR c.has_phone)::int AS reach, COALESCE(sum(${REVENUE_SQL}), 0)::float8 AS revenue
         ${q.fromWhere}`,
      q.params,
    ),
    runTotals(db, portalId, runId),
  ]);
  const n = q.params.length;
  const { rows: d } = await db.query<{ open: number; openValue: number; won: number; lost: number }>(
    `WITH seg AS (SELECT l.contact_id ${q.fromWhere}),
          dl AS (SELECT DISTINCT d.id, d.stage_semantic, d.close_date, COALESCE(d.opportunity_base, d.opportunity, 0) AS amount
                   FROM seg JOIN deal_contacts dc ON dc.portal_id = $1 AND dc.contact_id = seg.contact_id
                   JOIN deals d ON d.portal_id = $1 AND d.id = dc.deal_id),
          lastday AS (SELECT max(close_date) AS m FROM deals WHERE portal_id = $1 AND stage_semantic IN ('S', 'F'))
     SELECT count(*) FILTER (WHERE stage_semantic = 'P')::int AS open,
            COALESCE(sum(amount) FILTER (WHERE stage_semantic = 'P'), 0)::float8 AS "openValue",
            count(*) FILTER (WHERE stage_semantic = 'S' AND close_date > (SELECT m FROM lastday) - $${n + 1}::int)::int AS won,
            count(*) FILTER (WHERE stage_semantic = 'F' AND close_date > (SELECT m FROM lastday) - $${n + 1}::int)::int AS lost
       FROM dl`,
    [...q.params, 90],
  );
  const r = a[0]!;
  const dd = d[0] ?? { open: 0, openValue: 0, won: 0, lost: 0 };
  const share = (x: number) => (r.size ? x / r.size : 0);
  return {
    size: r.size,
    emailShare: share(r.email),
    phoneShare: share(r.phone),
    reachableShare: share(r.reach),
    revenue: r.revenue,
    revenueShare: totals.revenue ? r.revenue / totals.revenue : 0,
    openDeals: dd.open,
    openDealsValue: dd.openValue,
    winRate90: dd.won + dd.lost > 0 ? dd.won / (dd.won + dd.lost) : null,
  };
}

// ---- dashboard ---------------------------------------------------------------------------

export interface Dashboard {
  run: { id: number; asOf: string; scale: number } | null;
  previousRun: { id: number; asOf: string } | null;
  totals: { count: number; revenue: number };
  /** revenueShare: the cell's revenue / the run's total revenue (0..1; 0 when there is none) */
  heatmap: Array<{ r: number; f: number; count: number; revenue: number; avgM: number; revenueShare: number }>;
  segments: Array<{ segment: string; count: number; revenue: number; revenueShare: number }>;
  movement: Array<{ from: string | null; to: string; count: number }>;
  history: Array<{ runId: number; asOf: string; sizes: Record<string, number> }>;
  alerts: Array<{ segment: string; from: number; to: number; change: number }>;
  sources: Array<{ segment: string; source: string | null; count: number }>;
  /** log-spaced bands of revenue per buyer, bin 1 (lowest) to 12; from / to are amounts */
  valueHistogram: Array<{ bin: number; from: number; to: number; count: number }>;
  concentration: Array<{ topShare: number; revenueShare: number }>;
}

const iso = (d: Date | string) => (d instanceof Date ? d.toISOString() : String(d));

export function runScale(run: ScoreRun): number {
  const s = (run.settings as { rfm?: { scale?: number } } | null)?.rfm?.scale;
  return s === 3 ? 3 : 5;
}

async function recentRuns(db: Db, portalId: number, limit: number) {
  const { rows } = await db.query<{ id: number; asOf: Date; counts: Record<string, unknown> }>(
    `SELECT id, as_of AS "asOf", counts FROM score_runs WHERE portal_id = $1 AND status = 'done' ORDER BY created_at DESC, id DESC LIMIT $2`,
    [portalId, limit],
  );
  return rows.reverse();
}

/** Threshold for the "sharp change" alert: ±25 % and at least 20 contacts. */
export const ALERT_RELATIVE = 0.25;
export const ALERT_ABSOLUTE = 20;

export async function dashboard(db: Db, portalId: number): Promise<Dashboard> {
  const run = await latestScoreRun(db, portalId);
  const empty: Dashboard = {
    run: null, previousRun: null, totals: { count: 0, revenue: 0 }, heatmap: [], segments: [], movement: [], history: [],
    alerts: [], sources: [], valueHistogram: [], concentration: [],
  };
  if (!run) return empty;
  const P = [portalId, run.id];
  const runs = await recentRuns(db, portalId, 12);
  const prev = runs.length >= 2 ? runs[runs.length - 2]! : null;
  const [totals, heat, segs, sources, hist, conc] = await Promise.all([
    runTotals(db, portalId, run.id),
    db.query<{ r: number; f: number; count: number; revenue: number; avgM: number }>(
      `SELECT l.r::int AS r, l.f::int AS f, count(*)::int AS count, COALESCE(sum(${REVENUE_SQL}), 0)::float8 AS revenue,
              COALESCE(avg(l.m), 0)::float8 AS "avgM"
         FROM contact_labels l WHERE l.portal_id = $1 AND l.run_id = $2 AND l.r IS NOT NULL AND l.f IS NOT NULL GROUP BY 1, 2`,
      P,
    ),
    db.query<{ segment: string; count: number; revenue: number }>(
      `SELECT l.segment, count(*)::int AS count, COALESCE(sum(${REVENUE_SQL}), 0)::float8 AS revenue
         FROM contact_labels l WHERE l.portal_id = $1 AND l.run_id = $2 GROUP BY 1 ORDER BY 2 DESC`,
      P,
    ),
    db.query<{ segment: string; source: string | null; count: number }>(
      `SELECT l.segment, c.source_id AS source, count(*)::int AS count
         FROM contact_labels l JOIN contacts c ON c.portal_id = l.portal_id AND c.id = l.contact_id
        WHERE l.portal_id = $1 AND l.run_id = $2 GROUP BY 1, 2`,
      P,
    ),
    // value distribution: log-spaced buckets over buyers' revenue
    db.query<{ b: number; count: number; lo: number; hi: number }>(
      `WITH v AS (SELECT ${REVENUE_SQL}::float8 AS x FROM contact_labels l WHERE l.portal_id = $1 AND l.run_id = $2 AND ${REVENUE_SQL} > 0),
            mm AS (SELECT ln(min(x)) AS lo, ln(max(x)) AS hi FROM v)
       SELECT b, count(*)::int AS count, exp(mm.lo + (b - 1) * (mm.hi - mm.lo) / 12)::float8 AS lo, exp(mm.lo + b * (mm.hi - mm.lo) / 12)::float8 AS hi
         FROM v, mm, LATERAL (SELECT CASE WHEN mm.hi = mm.lo THEN 1 ELSE least(12, 1 + floor((ln(v.x) - mm.lo) / ((mm.hi - mm.lo) / 12)))::int END AS b) z
        GROUP BY b, mm.lo, mm.hi ORDER BY b`,
      P,
    ),
    db.query<{ pct: number; revenue: number }>(
      `WITH v AS (SELECT ${REVENUE_SQL}::float8 AS x FROM contact_labels l WHERE l.portal_id = $1 AND l.run_id = $2 AND ${REVENUE_SQL} > 0),
            r AS (SELECT x, ntile(100) OVER (ORDER BY x DESC) AS pct FROM v)
       SELECT pct, sum(x)::float8 AS revenue FROM r GROUP BY pct ORDER BY pct`,
      P,
    ),
  ]);
  // movement since the previous run
  let movement: Dashboard['movement'] = [];
  if (prev) {
    const { rows } = await db.query<{ from: string | null; to: string; count: number }>(
      `SELECT a.segment AS "from", b.segment AS "to", count(*)::int AS count
         FROM contact_labels b
         LEFT JOIN contact_labels a ON a.portal_id = b.portal_id AND a.run_id = $3 AND a.contact_id = b.contact_id
        WHERE b.portal_id = $1 AND b.run_id = $2 AND a.segment IS DISTINCT FROM b.segment
        GROUP BY 1, 2 ORDER BY 3 DESC`,
      [portalId, run.id, prev.id],
    );
    movement = rows;
  }
  // sizes over time (last 12 runs)
  const { rows: sizeRows } = await db.query<{ runId: number; segment: string; count: number }>(
    `SELECT l.run_id AS "runId", l.segment, count(*)::int AS count FROM contact_labels l
      WHERE l.portal_id = $1 AND l.run_id = ANY($2::bigint[]) GROUP BY 1, 2`,
    [portalId, runs.map((r) => r.id)],
  );
  const history = runs.map((r) => ({ runId: r.id, asOf: iso(r.asOf), sizes: {} as Record<string, number> }));
  const byRun = new Map(history.map((h) => [h.runId, h]));
  for (const s of sizeRows) byRun.get(s.runId)!.sizes[s.segment ?? 'none'] = s.count;
  const alerts: Dashboard['alerts'] = [];
  if (history.length >= 2) {
    const a = history[history.length - 2]!.sizes;
    const b = history[history.length - 1]!.sizes;
    for (const seg of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const x = a[seg] ?? 0;
      const y = b[seg] ?? 0;
      const change = x === 0 ? (y > 0 ? 1 : 0) : (y - x) / x;
      if (Math.abs(y - x) >= ALERT_ABSOLUTE && Math.abs(change) >= ALERT_RELATIVE) alerts.push({ segment: seg, from: x, to: y, change });
    }
  }
  const share = (revenue: number) => (totals.revenue ? revenue / totals.revenue : 0);
  // revenue concentration: share held by the top 1/5/10/20/50 %
  const total = conc.rows.reduce((s, r) => s + r.revenue, 0);
  const concentration = [1, 5, 10, 20, 50].map((p) => ({
    topShare: p / 100,
    revenueShare: total ? conc.rows.filter((r) => r.pct <= p).reduce((s, r) => s + r.revenue, 0) / total : 0,
  }));
  return {
    run: { id: run.id, asOf: iso(run.asOf), scale: runScale(run) },
    previousRun: prev ? { id: prev.id, asOf: iso(prev.asOf) } : null,
    totals,
    heatmap: heat.rows.map((h) => ({ ...h, revenueShare: share(h.revenue) })),
    segments: segs.rows.map((x) => ({ ...x, revenueShare: share(x.revenue) })),
    movement,
    history,
    alerts,
    sources: sources.rows,
    valueHistogram: hist.rows.map((h) => ({ bin: h.b, from: h.lo, to: h.hi, count: h.count })),
    concentration,
  };
}

// ---- one contact -------------------------------------------------------------------------

export interface ContactCard {
  contact: { id: number; name: string; city: string | null; hasEmail: boolean; hasPhone: boolean; sourceId: string | null; assignedById: number | null } | null;
  label: (ListRow & { r: number | null; f: number | null; m: number | null; nextPurchase: string | null; firstPurchase: string | null; extra: Record<string, unknown> }) | null;
  run: { id: number; asOf: string } | null;
  purchaseDays: number;
  medianGapDays: number | null;
  daysSinceLast: number | null;
  history: Array<{ runId: number; asOf: string; segment: string | null; lifecycle: string | null; rfm: string | null }>;
}

export async function contactCard(db: Db, portalId: number, contactId: number): Promise<ContactCard> {
  const run = await latestScoreRun(db, portalId);
  const { rows: cs } = await db.query<ContactCard['contact'] & object>(
    `SELECT id, trim(coalesce(name, '') || ' ' || coalesce(last_name, '')) AS name, city, has_email AS "hasEmail", has_phone AS "hasPhone",
            source_id AS "sourceId", assigned_by_id AS "assignedById" FROM contacts WHERE portal_id = $1 AND id = $2`,
    [portalId, contactId],
  );
  let label: ContactCard['label'] = null;
  if (run) {
    const { rows } = await db.query<NonNullable<ContactCard['label']>>(
      `SELECT ${ROW_SELECT}, l.r, l.f, l.m, l.next_purchase AS "nextPurchase", l.first_purchase AS "firstPurchase", l.extra
         FROM contact_labels l LEFT JOIN contacts c ON c.portal_id = l.portal_id AND c.id = l.contact_id
        WHERE l.portal_id = $1 AND l.run_id = $2 AND l.contact_id = $3`,
      [portalId, run.id, contactId],
    );
    label = rows[0] ?? null;
  }
  const { rows: days } = await db.query<{ day: string }>(
    `SELECT DISTINCT d.close_date::text AS day FROM deal_contacts dc JOIN deals d ON d.portal_id = dc.portal_id AND d.id = dc.deal_id
      WHERE dc.portal_id = $1 AND dc.contact_id = $2 AND d.stage_semantic = 'S' AND d.close_date IS NOT NULL ORDER BY 1`,
    [portalId, contactId],
  );
  const t = days.map((d) => Date.parse(`${d.day}T00:00:00Z`) / 86_400_000);
  const gaps = t.slice(1).map((x, i) => x - t[i]!).sort((a, b) => a - b);
  const medianGapDays = gaps.length ? Math.round(gaps.length % 2 ? gaps[(gaps.length - 1) / 2]! : (gaps[gaps.length / 2 - 1]! + gaps[gaps.length / 2]!) / 2) : null;
  const asOfDay = run ? Math.floor(new Date(run.asOf).getTime() / 86_400_000) : null;
  const { rows: history } = await db.query<ContactCard['history'][number]>(
    `SELECT r.id AS "runId", r.as_of AS "asOf", l.segment, l.lifecycle, l.rfm FROM contact_labels l
       JOIN score_runs r ON r.portal_id = l.portal_id AND r.id = l.run_id
      WHERE l.portal_id = $1 AND l.contact_id = $2 AND r.status = 'done' ORDER BY r.created_at DESC, r.id DESC LIMIT 24`,
    [portalId, contactId],
  );
  return {
    contact: cs[0] ?? null,
    label,
    run: run ? { id: run.id, asOf: iso(run.asOf) } : null,
    purchaseDays: t.length,
    medianGapDays,
    daysSinceLast: label?.recencyDays ?? (asOfDay !== null && t.length ? Math.round(asOfDay - t[t.length - 1]!) : null),
    history: history.map((h) => ({ ...h, asOf: iso(h.asOf) })).reverse(),
  };
}

// ---- settings preview --------------------------------------------------------------------

export interface PreviewResult {
  asOf: string;
  scored: number;
  current: Record<string, number>;
  draft: Record<string, number>;
  /** from → to with count, only contacts that would change segment */
  moves: Array<{ from: string | null; to: string; count: number }>;
  changed: number;
  warnings: string[];
}

/**
 * Re-scores the portal in memory with the draft settings (won deals from the store, as of the
 * latest run) and diffs the segments with the current labels. Segments depend on won deals only,
 * so lost/open deals are not loaded here.
 */
export async function previewSettings(db: Db, portalId: number, draftInput: unknown): Promise<PreviewResult> {
  const draft: ScoringSettings = scoringSettingsSchema.parse(draftInput);
  const run = await latestScoreRun(db, portalId);
  const asOf = (run ? new Date(run.asOf) : new Date()).toISOString().slice(0, 10);
  const customers: CustomerInput[] = [];
  for await (const batch of iterateContactBatches(db, portalId, { includeProductRows: false, batchSize: 5000 })) {
    for (const { contact, wonDeals } of batch) {
      customers.push({
        id: String(contact.id),
        won: wonDeals
          .filter((d) => d.closeDate)
          .map((d) => ({ date: d.closeDate!, amount: Number(d.opportunityBase ?? d.opportunity ?? 0) })),
      });
    }
  }
  const scored = scorePortal({ asOf, customers }, { ...draft, models: { ...draft.models, enabled: false } });
  const current = new Map<number, string | null>();
  if (run) {
    let after = -1;
    for (;;) {
      const { rows } = await db.query<{ id: number; segment: string | null }>(
        `SELECT contact_id AS id, segment FROM contact_labels WHERE portal_id = $1 AND run_id = $2 AND contact_id > $3 ORDER BY contact_id LIMIT 20000`,
        [portalId, run.id, after],
      );
      if (!rows.length) break;
      for (const r of rows) current.set(r.id, r.segment);
      after = rows[rows.length - 1]!.id;
    }
  }
  const moves = new Map<string, { from: string | null; to: string; count: number }>();
  const cur: Record<string, number> = {};
  const dr: Record<string, number> = {};
  let changed = 0;
  for (const s of current.values()) cur[s ?? 'none'] = (cur[s ?? 'none'] ?? 0) + 1;
  for (const c of scored.customers) {
    dr[c.segment] = (dr[c.segment] ?? 0) + 1;
    const from = current.get(Number(c.id)) ?? null;
    if (from === c.segment) continue;
    changed++;
    const k = `${from}\0${c.segment}`;
    const m = moves.get(k);
    if (m) m.count++;
    else moves.set(k, { from, to: c.segment, count: 1 });
  }
  return {
    asOf,
    scored: scored.customers.length,
    current: cur,
    draft: dr,
    moves: [...moves.values()].sort((a, b) => b.count - a.count),
    changed,
    warnings: scored.warnings.filter((w) => !w.startsWith('BG/NBD') && !w.startsWith('Gamma-Gamma')),
  };
}

export async function currentRun(db: Db, portalId: number) {
  return latestScoreRun(db, portalId);
}

// ---- saved segments → one per contact (for write-back) ------------------------------------

/**
 * Each contact's highest-priority saved segment in the latest run (contacts in none are
 * skipped), in contact id order, in batches. One SQL CASE over the compiled predicates, highest
 * priority first (ties: the order given). For the write-back of "segment field" (settings
 * `segmentField.enabled`): `for await (const rows of savedSegmentAssignments(db, portalId)) ...`.
 */
export async function* savedSegmentAssignments(
  db: Db,
  portalId: number,
  saved: ReadonlyArray<{ id: string; priority: number; filter: SegmentFilter }>,
  batch = 5000,
): AsyncGenerator<Array<{ contactId: number; savedId: string }>> {
  const run = await latestScoreRun(db, portalId);
  if (!run || saved.length === 0) return;
  const ordered = [...saved].sort((a, b) => b.priority - a.priority);
  const opts: CompileOptions = { saved: new Map(saved.map((s) => [s.id, s.filter])) };
  const ps = new Params([portalId, run.id]);
  const cases = ordered.map((s) => `WHEN ${compilePredicate(s.filter, ps, opts)} THEN ${ps.p(s.id)}::text`).join(' ');
  const joins = ordered.some((s) => needsContacts(s.filter, opts.saved));
  const from = joins
    ? 'FROM contact_labels l JOIN contacts c ON c.portal_id = l.portal_id AND c.id = l.contact_id'
    : 'FROM contact_labels l';
  const n = ps.values.length;
  let after = -1;
  for (;;) {
    const { rows } = await db.query<{ contactId: number; savedId: string | null }>(
      `SELECT contact_id AS "contactId", "savedId" FROM (
         SELECT l.contact_id, CASE ${cases} END AS "savedId" ${from}
          WHERE l.portal_id = $1 AND l.run_id = $2 AND l.contact_id > $${n + 1}
          ORDER BY l.contact_id LIMIT $${n + 2}) s`,
      [...ps.values, after, batch],
    );
    if (rows.length === 0) return;
    after = rows[rows.length - 1]!.contactId;
    const hit = rows.filter((r): r is { contactId: number; savedId: string } => r.savedId !== null);
    if (hit.length) yield hit;
    if (rows.length < batch) return;
  }
}
