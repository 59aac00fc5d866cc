/**
 * The dashboard's figures for a run (default: the latest) compared with another (default: the one
 * before; dashboard-runs.ts): totals, the R×F heat map, segments with their revenue shares, movement
 * between the two runs (the moves, and the full from × to matrix with counts and revenue), the run's
 * R / F / M bounds with the values of every level, sizes over the runs between them with sharp-change alerts (none across a
 * change of rules), sources, the value histogram and revenue concentration. A run's figures are
 * cached (its labels change only by event rescoring, which the cache key follows). What a non-admin
 * may see of them is decided by the route (routes/dashboard.ts). `entity` 'company' (B2B): the same
 * figures over the companies' labels of the same runs.
 */
import type { CustomerKind, Db, ScoreRun } from '../../store/index.js';
import { labelsFrom, labelsTable, REVENUE_SQL } from '../../segments/index.js';
import { keptRuns, pickComparison, type RunInfo, type RunSpec } from './dashboard-runs.js';
import { runTotals } from './queries.js';
import { levelRanges, type LevelRange } from '../../scoring/index.js';

type RunMark = Pick<RunInfo, 'id' | 'asOf' | 'createdAt' | 'rulesChanged'>;

export interface Dashboard {
  run: { id: number; asOf: string; scale: number } | null;
  /** the run compared with (default: the one before) */
  previousRun: { id: number; asOf: string } | null;
  /** every kept done run (the latest 400), oldest first, marked when its rules changed */
  runs: RunMark[];
  compare: { from: number | null; to: number; clamped: boolean; rulesChanged: RunMark[] } | null;
  totals: { count: number; revenue: number };
  /** revenueShare: the cell's revenue / the run's total revenue (0..1; 0 when there is none) */
  heatmap: Array<{ r: number; f: number; count: number; revenue: number; avgM: number; revenueShare: number }>;
  segments: Array<{ segment: string; count: number; revenue: number; revenueShare: number }>;
  movement: Array<{ from: string | null; to: string; count: number }>;
  /**
   * The full from × to matrix between the compared runs: every (previous segment, segment) pair
   * with members, the diagonal (stayed) included; from null = not in the previous run, to null = no
   * longer in this one. revenue: the members' revenue in this run (for to null: in the previous
   * one); revenueShare: of this run's total.
   */
  movementMatrix: Array<{ from: string | null; to: string | null; count: number; revenue: number; revenueShare: number }>;
  /** the run's R, F and M bounds, how it got them, and the values each level holds (levelRanges) */
  thresholds: RunThresholds | null;
  history: Array<{ runId: number; asOf: string; createdAt: string; rulesChanged: RunInfo['rulesChanged']; sizes: Record<string, number> }>;
  alerts: Array<{ segment: string; from: number; to: number; change: number }>;
  /**
   * where each segment's customers came from: the source of the converted lead that brought the
   * contact in (its earliest lead with semantic S), else the contact's own SOURCE_ID; viaLead = how
   * many of `count` took it from such a lead
   */
  sources: Array<{ segment: string; source: string | null; count: number; viaLead: number }>;
  /** log-spaced bands of revenue per buyer, bin 1 (lowest) to 12; from / to are amounts */
  valueHistogram: Array<{ bin: number; from: number; to: number; count: number }>;
  concentration: Array<{ topShare: number; revenueShare: number }>;
}

export const iso = (d: Date | string) => (d instanceof Date ? d.toISOString() : String(d));

export function runScale(run: ScoreRun): number {
  const s = (run.settings as { rfm?: { scale?: number } } | null)?.rfm?.scale;
  return s === 3 ? 3 : 5;
}

/** Threshold for the "sharp change" alert: ±25 % and at least 20 contacts. */
export const ALERT_RELATIVE = 0.25;
export const ALERT_ABSOLUTE = 20;

/** The per-run aggregates, each one query (run concurrently). */
function runAggregates(db: Db, portalId: number, runId: number, entity: CustomerKind) {
  const P = [portalId, runId];
  const L = labelsTable(entity);
  return Promise.all([
    db.query<{ r: number; f: number; count: number; revenue: number; avgM: number }>(
      `SELECT l.r::int AS r, l.f::int AS f, count(*)::int AS count, COALESCE(sum(${REVENUE_SQL}), 0)::float8 AS revenue,
              COALESCE(avg(l.m), 0)::float8 AS "avgM"
         FROM ${L} l WHERE l.portal_id = $1 AND l.run_id = $2 AND l.r IS NOT NULL AND l.f IS NOT NULL GROUP BY 1, 2`,
      P,
    ),
    db.query<{ segment: string; count: number; revenue: number }>(
      `SELECT l.segment, count(*)::int AS count, COALESCE(sum(${REVENUE_SQL}), 0)::float8 AS revenue
         FROM ${L} l WHERE l.portal_id = $1 AND l.run_id = $2 GROUP BY 1 ORDER BY 2 DESC`,
      P,
    ),
    // contacts: the source of the earliest converted lead that brought the customer in, else its own;
    // companies: their own SOURCE_ID (viaLead 0)
    db.query<{ segment: string; source: string | null; count: number; viaLead: number }>(
      entity === 'company'
        ? `SELECT l.segment, c.source_id AS source, count(*)::int AS count, 0 AS "viaLead"
         ${labelsFrom(true, entity)}
        WHERE l.portal_id = $1 AND l.run_id = $2 GROUP BY 1, 2`
        : `SELECT l.segment, COALESCE(ld.source_id, c.source_id) AS source, count(*)::int AS count,
              count(ld.source_id)::int AS "viaLead"
         FROM contact_labels l JOIN contacts c ON c.portal_id = l.portal_id AND c.id = l.contact_id
         LEFT JOIN LATERAL (
           SELECT x.source_id FROM leads x
            WHERE x.portal_id = l.portal_id AND x.contact_id = l.contact_id AND x.status_semantic = 'S'
            ORDER BY x.date_create NULLS LAST, x.id LIMIT 1
         ) ld ON true
        WHERE l.portal_id = $1 AND l.run_id = $2 GROUP BY 1, 2`,
      P,
    ),
    // value distribution: log-spaced buckets over buyers' revenue
    db.query<{ b: number; count: number; lo: number; hi: number }>(
      `WITH v AS (SELECT ${REVENUE_SQL}::float8 AS x FROM ${L} l WHERE l.portal_id = $1 AND l.run_id = $2 AND ${REVENUE_SQL} > 0),
            mm AS MATERIALIZED (SELECT ln(min(x)) AS lo, ln(max(x)) AS hi FROM v)
       SELECT b, count(*)::int AS count, exp(mm.lo + (b - 1) * (mm.hi - mm.lo) / 12)::float8 AS lo, exp(mm.lo + b * (mm.hi - mm.lo) / 12)::float8 AS hi
         FROM v, mm, LATERAL (SELECT CASE WHEN mm.hi = mm.lo THEN 1 ELSE least(12, 1 + floor((ln(v.x) - mm.lo) / ((mm.hi - mm.lo) / 12)))::int END AS b) z
        GROUP BY b, mm.lo, mm.hi ORDER BY b`,
      P,
    ),
    db.query<{ pct: number; revenue: number }>(
      `WITH v AS (SELECT ${REVENUE_SQL}::float8 AS x FROM ${L} l WHERE l.portal_id = $1 AND l.run_id = $2 AND ${REVENUE_SQL} > 0),
            r AS (SELECT x, ntile(100) OVER (ORDER BY x DESC) AS pct FROM v)
       SELECT pct, sum(x)::float8 AS revenue FROM r GROUP BY pct ORDER BY pct`,
      P,
    ),
  ]);
}

/** Contacts (companies) whose segment moved between two runs, per (from, to). */
async function movementBetween(db: Db, portalId: number, runId: number, prevId: number, entity: CustomerKind): Promise<Dashboard['movement']> {
  const { rows } = await db.query<{ from: string | null; to: string; count: number }>(
    `SELECT a.segment AS "from", b.segment AS "to", count(*)::int AS count
       FROM ${labelsTable(entity)} b
       LEFT JOIN ${labelsTable(entity)} a ON a.portal_id = b.portal_id AND a.run_id = $3 AND a.contact_id = b.contact_id
      WHERE b.portal_id = $1 AND b.run_id = $2 AND a.segment IS DISTINCT FROM b.segment
      GROUP BY 1, 2 ORDER BY 3 DESC`,
    [portalId, runId, prevId],
  );
  return rows;
}

/** The from × to matrix between two runs (see Dashboard['movementMatrix']); revenueShare is filled in by the caller. */
async function movementMatrix(db: Db, portalId: number, runId: number, prevId: number, entity: CustomerKind) {
  const { rows } = await db.query<{ from: string | null; to: string | null; count: number; revenue: number }>(
    `SELECT a.segment AS "from", l.segment AS "to", count(*)::int AS count, COALESCE(sum(COALESCE(l.monetary, a.monetary, 0)), 0)::float8 AS revenue
       FROM (SELECT contact_id, segment, monetary FROM ${labelsTable(entity)} x WHERE portal_id = $1 AND run_id = $2) l
       FULL JOIN (SELECT contact_id, segment, monetary FROM ${labelsTable(entity)} y WHERE portal_id = $1 AND run_id = $3) a ON a.contact_id = l.contact_id
      GROUP BY 1, 2 ORDER BY 3 DESC`,
    [portalId, runId, prevId],
  );
  return rows;
}

export interface DimensionBounds {
  bounds: number[];
  method: string | null;
  direction: string | null;
  levels: LevelRange[];
}
export interface RunThresholds {
  /** 'fresh' (quantiles of this run), 'pinned' (an earlier run's kept), 'fixed' (the admin's) or null (unknown) */
  mode: string | null;
  scale: number;
  recency: DimensionBounds;
  frequency: DimensionBounds;
  monetary: DimensionBounds;
}

type Dim = 'recency' | 'frequency' | 'monetary';
/** A run's stored thresholds with the range of every level; null when the run has none (nobody bought). */
export function runThresholdsOf(stored: unknown, mode: unknown, scale: number): RunThresholds | null {
  const th = (stored ?? {}) as Partial<Record<Dim, { bounds?: unknown; method?: unknown; direction?: unknown }>>;
  const dims = ['recency', 'frequency', 'monetary'] as const;
  if (!dims.every((d) => Array.isArray(th[d]?.bounds) && (th[d]!.bounds as unknown[]).length === scale - 1)) return null;
  const one = (d: Dim): DimensionBounds => {
    const bounds = (th[d]!.bounds as unknown[]).map(Number);
    const direction = d === 'recency' ? 'lower_better' : 'higher_better';
    return {
      bounds, method: typeof th[d]!.method === 'string' ? (th[d]!.method as string) : null, direction,
      levels: levelRanges({ bounds, direction, levels: scale as 3 | 5, dimension: d }),
    };
  };
  return { mode: typeof mode === 'string' ? mode : null, scale, recency: one('recency'), frequency: one('frequency'), monetary: one('monetary') };
}

async function runThresholds(db: Db, portalId: number, runId: number, scale: number, entity: CustomerKind): Promise<RunThresholds | null> {
  // companies keep thresholds of their own in counts.companies (pipeline/score.ts)
  const sql = entity === 'company'
    ? `SELECT counts->'companies'->'thresholds' AS thresholds, counts->'companies'->>'thresholdMode' AS mode FROM score_runs WHERE portal_id = $1 AND id = $2`
    : `SELECT thresholds, counts->>'thresholdMode' AS mode FROM score_runs WHERE portal_id = $1 AND id = $2`;
  const { rows } = await db.query<{ thresholds: unknown; mode: string | null }>(sql, [portalId, runId]);
  return rows[0] ? runThresholdsOf(rows[0].thresholds, rows[0].mode, scale) : null;
}

/** Segment sizes per run, oldest first: the run's stored counts (contacts), else counted from its labels. */
async function sizeHistory(db: Db, portalId: number, runs: readonly RunInfo[], entity: CustomerKind): Promise<Dashboard['history']> {
  const missing = runs.filter((r) => entity === 'company' || !r.sizes || r.updates > 0).map((r) => r.id);
  const counted = new Map<number, Record<string, number>>();
  if (missing.length) {
    const { rows } = await db.query<{ runId: number; segment: string | null; count: number }>(
      `SELECT l.run_id AS "runId", l.segment, count(*)::int AS count FROM ${labelsTable(entity)} l
        WHERE l.portal_id = $1 AND l.run_id = ANY($2::bigint[]) GROUP BY 1, 2`,
      [portalId, missing],
    );
    for (const s of rows) {
      const m = counted.get(Number(s.runId)) ?? {};
      m[s.segment ?? 'none'] = s.count;
      counted.set(Number(s.runId), m);
    }
  }
  return runs.map((r) => ({
    runId: r.id, asOf: r.asOf, createdAt: r.createdAt, rulesChanged: r.rulesChanged,
    sizes: counted.get(r.id) ?? (entity === 'company' ? {} : { ...(r.sizes ?? {}) }),
  }));
}

/** Segments whose size changed sharply from one size map to another (ALERT_RELATIVE and ALERT_ABSOLUTE). */
function sharpChanges(a: Record<string, number>, b: Record<string, number>): Dashboard['alerts'] {
  const alerts: Dashboard['alerts'] = [];
  for (const seg of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = a[seg] ?? 0;
    const y = b[seg] ?? 0;
    const change = x === 0 ? (y > 0 ? 1 : 0) : (y - x) / x;
    if (Math.abs(y - x) >= ALERT_ABSOLUTE && Math.abs(change) >= ALERT_RELATIVE) alerts.push({ segment: seg, from: x, to: y, change });
  }
  return alerts;
}

/** Revenue concentration: the share held by the top 1/5/10/20/50 % of buyers (rows: revenue per percentile). */
function concentrationOf(rows: ReadonlyArray<{ pct: number; revenue: number }>): Dashboard['concentration'] {
  const total = rows.reduce((s, r) => s + r.revenue, 0);
  return [1, 5, 10, 20, 50].map((p) => ({
    topShare: p / 100,
    revenueShare: total ? rows.filter((r) => r.pct <= p).reduce((s, r) => s + r.revenue, 0) / total : 0,
  }));
}

/** The figures of one run (the heat map, segments, sources, value bands, concentration). */
async function runFigures(db: Db, portalId: number, runId: number, entity: CustomerKind) {
  const [totals, [heat, segs, sources, hist, conc]] = await Promise.all([runTotals(db, portalId, runId, entity), runAggregates(db, portalId, runId, entity)]);
  const share = (revenue: number) => (totals.revenue ? revenue / totals.revenue : 0);
  return {
    totals,
    heatmap: heat.rows.map((h) => ({ ...h, revenueShare: share(h.revenue) })),
    segments: segs.rows.map((x) => ({ ...x, revenueShare: share(x.revenue) })),
    sources: sources.rows,
    valueHistogram: hist.rows.map((h) => ({ bin: h.b, from: h.lo, to: h.hi, count: h.count })),
    concentration: concentrationOf(conc.rows),
  };
}

/**
 * Figures of done runs, per database, portal and run (and the run's in-place updates: event
 * rescoring bumps them): a run's labels do not change otherwise, so the dashboard reads them once.
 * Entries also expire after CACHE_TTL_MS (the sources chart reads the contacts, which syncs change).
 */
const CACHE_TTL_MS = 10 * 60_000;
const CACHE_MAX = 500;
const caches = new WeakMap<Db, Map<string, { at: number; value: Promise<unknown> }>>();

export function cached<T>(db: Db, key: string, make: () => Promise<T>): Promise<T> {
  let c = caches.get(db);
  if (!c) caches.set(db, (c = new Map()));
  const hit = c.get(key);
  if (hit && Date.now() - hit.at < CACHE_TTL_MS) return hit.value as Promise<T>;
  if (c.size >= CACHE_MAX) c.delete(c.keys().next().value!);
  const value = make();
  c.set(key, { at: Date.now(), value });
  value.catch(() => c.delete(key));
  return value;
}

const EMPTY: Dashboard = {
  run: null, previousRun: null, runs: [], compare: null, totals: { count: 0, revenue: 0 }, heatmap: [], segments: [], movement: [], movementMatrix: [],
  thresholds: null, history: [],
  alerts: [], sources: [], valueHistogram: [], concentration: [],
};

/** At most this many runs are drawn on the sizes chart (the latest of the compared span). */
export const HISTORY_POINTS = 60;

/**
 * The dashboard of the `to` run (default: the latest) compared with the `from` run (default: the
 * one before it; or the run some days back, or at a day). Alerts are raised only when no run in
 * between changed the rules (dashboard-runs.ts): otherwise the moves are the rules', not the customers'.
 */
export async function dashboard(db: Db, portalId: number, fromSpec: RunSpec = null, toSpec: RunSpec = null, entity: CustomerKind = 'contact'): Promise<Dashboard> {
  const runs = await keptRuns(db, portalId);
  if (!runs.length) return EMPTY;
  const cmp = pickComparison(runs, fromSpec, toSpec);
  const { from, to } = cmp;
  const key = (id: number, u: number) => `${entity}:${portalId}:${id}:${u}`;
  const pair = from ? `${key(to.id, to.updates)}:${key(from.id, from.updates)}` : '';
  const [figures, movement, matrix, thresholds] = await Promise.all([
    cached(db, `fig:${key(to.id, to.updates)}`, () => runFigures(db, portalId, to.id, entity)),
    from ? cached(db, `mov:${pair}`, () => movementBetween(db, portalId, to.id, from.id, entity)) : Promise.resolve([]),
    from ? cached(db, `matrix:${pair}`, () => movementMatrix(db, portalId, to.id, from.id, entity)) : Promise.resolve([]),
    cached(db, `th:${key(to.id, to.updates)}`, () => runThresholds(db, portalId, to.id, to.scale, entity)),
  ]);
  const total = figures.totals.revenue;
  const span = runs.filter((r) => (!from || r.createdAt >= from.createdAt) && r.createdAt <= to.createdAt).slice(-HISTORY_POINTS);
  const history = await cached(db, `hist:${entity}:${span.map((r) => `${r.id}.${r.updates}`).join(',')}`, () => sizeHistory(db, portalId, span, entity));
  const first = history.find((h) => h.runId === from?.id);
  const last = history.find((h) => h.runId === to.id)!;
  return {
    run: { id: to.id, asOf: to.asOf, scale: to.scale },
    previousRun: from ? { id: from.id, asOf: from.asOf } : null,
    runs: runs.slice(-400).map(({ id, asOf, createdAt, rulesChanged }) => ({ id, asOf, createdAt, rulesChanged })),
    compare: { from: from?.id ?? null, to: to.id, clamped: cmp.clamped, rulesChanged: cmp.rulesChanged.map(({ id, asOf, createdAt, rulesChanged }) => ({ id, asOf, createdAt, rulesChanged })) },
    ...figures,
    movement,
    movementMatrix: matrix.map((m) => ({ ...m, revenueShare: total ? m.revenue / total : 0 })),
    thresholds,
    history,
    alerts: first && !cmp.rulesChanged.length ? sharpChanges(first.sizes, last.sizes) : [],
  };
}
