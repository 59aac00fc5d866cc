/**
 * The dashboard's figures for a portal's latest run: totals, the R×F heat map, segments with
 * their revenue shares, movement since the previous run, sizes over the last runs with sharp-change
 * alerts, sources, the value histogram and revenue concentration. What a non-admin may see of
 * them is decided by the route (routes/dashboard.ts).
 */
import type { Db, ScoreRun } from '../../store/index.js';
import { latestScoreRun } from '../../store/index.js';
import { REVENUE_SQL } from '../../segments/index.js';
import { runTotals } from './queries.js';

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

export const iso = (d: Date | string) => (d instanceof Date ? d.toISOString() : String(d));

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

/** The per-run aggregates, each one query (run concurrently). */
function runAggregates(db: Db, portalId: number, runId: number) {
  const P = [portalId, runId];
  return Promise.all([
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
}

/** Contacts whose segment moved between the previous run and this one, per (from, to). */
async function movementSince(db: Db, portalId: number, runId: number, prevId: number): Promise<Dashboard['movement']> {
  const { rows } = await db.query<{ from: string | null; to: string; count: number }>(
    `SELECT a.segment AS "from", b.segment AS "to", count(*)::int AS count
       FROM contact_labels b
       LEFT JOIN contact_labels a ON a.portal_id = b.portal_id AND a.run_id = $3 AND a.contact_id = b.contact_id
      WHERE b.portal_id = $1 AND b.run_id = $2 AND a.segment IS DISTINCT FROM b.segment
      GROUP BY 1, 2 ORDER BY 3 DESC`,
    [portalId, runId, prevId],
  );
  return rows;
}

/** Segment sizes per run, oldest first. */
async function sizeHistory(db: Db, portalId: number, runs: ReadonlyArray<{ id: number; asOf: Date }>): Promise<Dashboard['history']> {
  const { rows } = await db.query<{ runId: number; segment: string; count: number }>(
    `SELECT l.run_id AS "runId", l.segment, count(*)::int AS count FROM contact_labels l
      WHERE l.portal_id = $1 AND l.run_id = ANY($2::bigint[]) GROUP BY 1, 2`,
    [portalId, runs.map((r) => r.id)],
  );
  const history = runs.map((r) => ({ runId: r.id, asOf: iso(r.asOf), sizes: {} as Record<string, number> }));
  const byRun = new Map(history.map((h) => [h.runId, h]));
  for (const s of rows) byRun.get(s.runId)!.sizes[s.segment ?? 'none'] = s.count;
  return history;
}

/** Segments whose size changed sharply between the last two runs (ALERT_RELATIVE and ALERT_ABSOLUTE). */
function sharpChanges(history: Dashboard['history']): Dashboard['alerts'] {
  const alerts: Dashboard['alerts'] = [];
  if (history.length < 2) return alerts;
  const a = history[history.length - 2]!.sizes;
  const b = history[history.length - 1]!.sizes;
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

export async function dashboard(db: Db, portalId: number): Promise<Dashboard> {
  const run = await latestScoreRun(db, portalId);
  if (!run) {
    return {
      run: null, previousRun: null, totals: { count: 0, revenue: 0 }, heatmap: [], segments: [], movement: [], history: [],
      alerts: [], sources: [], valueHistogram: [], concentration: [],
    };
  }
  const runs = await recentRuns(db, portalId, 12);
  const prev = runs.length >= 2 ? runs[runs.length - 2]! : null;
  const [totals, [heat, segs, sources, hist, conc]] = await Promise.all([runTotals(db, portalId, run.id), runAggregates(db, portalId, run.id)]);
  const movement = prev ? await movementSince(db, portalId, run.id, prev.id) : [];
  const history = await sizeHistory(db, portalId, runs);
  const share = (revenue: number) => (totals.revenue ? revenue / totals.revenue : 0);
  return {
    run: { id: run.id, asOf: iso(run.asOf), scale: runScale(run) },
    previousRun: prev ? { id: prev.id, asOf: iso(prev.asOf) } : null,
    totals,
    heatmap: heat.rows.map((h) => ({ ...h, revenueShare: share(h.revenue) })),
    segments: segs.rows.map((x) => ({ ...x, revenueShare: share(x.revenue) })),
    movement,
    history,
    alerts: sharpChanges(history),
    sources: sources.rows,
    valueHistogram: hist.rows.map((h) => ({ bin: h.b, from: h.lo, to: h.hi, count: h.count })),
    concentration: concentrationOf(conc.rows),
  };
}
