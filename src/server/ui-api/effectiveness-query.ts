/**
 * Effectiveness per segment (GET /api/ui/effectiveness): for one score run, and for the runs before
 * it, what each segment's members did in the `window` days (30, 90 or 180) after the run's as-of
 * day — conversion, win rate, revenue and margin per member, retention, average order value, mean
 * days between orders — and whether they stayed in the same or a better segment at the next run.
 *
 * A window has elapsed when as_of + window ≤ the horizon: the as-of day of the portal's latest done
 * run (the data the store was last scored on). Until then the window's figures are null and the
 * run is marked `complete: false`: an unfinished window is not a zero. "Stayed" needs a later run.
 *
 * The counts come from effectiveness-sql.ts; the ratios are made here. Each run's counts are cached
 * like the dashboard's (dashboard-query.ts `cached`: per run, its in-place updates, 10 minutes).
 */
import type { Db } from '../../store/index.js';
import { cached } from './dashboard-query.js';
import { keptRuns, type RunInfo } from './dashboard-runs.js';
import { effectivenessSql, SEGMENT_ORDER, type Entity, type SegmentCounts } from './effectiveness-sql.js';
import { HttpError } from './http.js';

export const WINDOWS = [30, 90, 180] as const;
export type Window = (typeof WINDOWS)[number];

/** At most this many runs are drawn over time (the latest, at least MIN_STEP_DAYS apart). */
export const HISTORY_POINTS = 24;
export const MIN_STEP_DAYS = 7;

export interface SegmentFigures {
  segment: string;
  members: number;
  /** members with a purchase before the run */
  buyers: number;
  /** share of members with a won deal in the window (0..1) */
  conversion: number | null;
  /** won / (won + lost) of the members' deals closed in the window; null without such deals */
  winRate: number | null;
  wonDeals: number | null;
  lostDeals: number | null;
  revenuePerMember: number | null;
  marginPerMember: number | null;
  /** won deals whose margin came from the catalog's purchase prices (the rest: the margin setting) */
  marginFromCatalog: number | null;
  /** share of the buyers who bought again in the window; null when the segment has no buyers */
  retention: number | null;
  /** share of the members (still there at the next run) in the same or a better segment then */
  stayed: number | null;
  averageOrderValue: number | null;
  meanDaysBetweenOrders: number | null;
}

export interface RunFigures {
  runId: number;
  asOf: string;
  /** the window has elapsed (else the window's figures are null) */
  complete: boolean;
  /** the day the window ends */
  windowEnd: string;
  /** the run "stayed" is measured at; null when there is none yet */
  nextRun: { id: number; asOf: string; rulesChanged: RunInfo['rulesChanged'] } | null;
  segments: SegmentFigures[];
}

export interface Effectiveness {
  entity: Entity;
  window: Window;
  marginPercent: number;
  /** the as-of day of the latest run: windows ending after it are incomplete */
  horizon: string | null;
  run: RunFigures | null;
  /** every kept done run (the latest 400), oldest first: whether its window has elapsed (for choosing one) */
  runs: Array<{ id: number; asOf: string; complete: boolean }>;
  /** the chosen run and the runs before it (at most HISTORY_POINTS), oldest first */
  history: RunFigures[];
}

const DAY_MS = 86_400_000;
const day = (iso: string) => iso.slice(0, 10);
const addDays = (iso: string, n: number) => new Date(Date.parse(`${day(iso)}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);
const ratio = (a: number, b: number) => (b > 0 ? a / b : null);

/** The ratios of one segment's counts (window figures null while the window runs). */
export function figuresOf(c: SegmentCounts, complete: boolean, hasNext: boolean): SegmentFigures {
  const w = <T>(v: T): T | null => (complete ? v : null);
  return {
    segment: c.segment, members: c.members, buyers: c.buyers,
    conversion: w(ratio(c.converted, c.members)),
    winRate: w(ratio(c.won, c.won + c.lost)),
    wonDeals: w(c.won), lostDeals: w(c.lost),
    revenuePerMember: w(ratio(c.revenue, c.members)),
    marginPerMember: w(ratio(c.margin, c.members)),
    marginFromCatalog: w(c.marginFromCatalog),
    retention: w(ratio(c.retained, c.buyers)),
    stayed: hasNext ? ratio(c.kept, c.next) : null,
    averageOrderValue: w(ratio(c.revenue, c.won)),
    meanDaysBetweenOrders: w(c.gap === null ? null : Number(c.gap)),
  };
}

async function countsOf(db: Db, portalId: number, entity: Entity, run: RunInfo, next: RunInfo | null, window: Window, pct: number) {
  const key = `eff:${portalId}:${entity}:${run.id}.${run.updates}:${next ? `${next.id}.${next.updates}` : '-'}:${window}:${pct}`;
  return cached(db, key, async () => (await db.query<SegmentCounts>(effectivenessSql(entity), [
    portalId, run.id, day(run.asOf), window, pct, next?.id ?? null, [...SEGMENT_ORDER],
  ])).rows);
}

async function runFigures(db: Db, portalId: number, entity: Entity, runs: RunInfo[], i: number, window: Window, pct: number, horizon: string): Promise<RunFigures> {
  const run = runs[i]!;
  const next = runs[i + 1] ?? null;
  const windowEnd = addDays(run.asOf, window);
  const complete = windowEnd <= horizon;
  const counts = await countsOf(db, portalId, entity, run, next, window, pct);
  return {
    runId: run.id, asOf: run.asOf, complete, windowEnd,
    nextRun: next ? { id: next.id, asOf: next.asOf, rulesChanged: next.rulesChanged } : null,
    segments: counts.map((c) => figuresOf(c, complete, next !== null)),
  };
}

/** Indexes of the runs drawn over time: the chosen one and those before it, MIN_STEP_DAYS apart, oldest first. */
export function historyPoints(runs: readonly RunInfo[], upTo: number): number[] {
  const out: number[] = [];
  let last = Infinity;
  for (let i = upTo; i >= 0 && out.length < HISTORY_POINTS; i--) {
    const t = Date.parse(runs[i]!.asOf);
    if (last - t >= MIN_STEP_DAYS * DAY_MS || out.length === 0) {
      out.push(i);
      last = t;
    }
  }
  return out.reverse();
}

/**
 * The figures of run `runId` (default: the latest run whose window has elapsed, else the latest)
 * and of the runs before it. 404 RUN_NOT_FOUND for a run that is not one of the portal's done runs.
 */
export async function effectiveness(db: Db, portalId: number, o: { entity: Entity; window: Window; runId: number | null; marginPercent: number }): Promise<Effectiveness> {
  const runs = await keptRuns(db, portalId);
  const base = { entity: o.entity, window: o.window, marginPercent: o.marginPercent };
  if (!runs.length) {
    if (o.runId !== null) throw new HttpError(404, 'RUN_NOT_FOUND', 'no such score run of this portal');
    return { ...base, horizon: null, run: null, runs: [], history: [] };
  }
  const horizon = day(runs[runs.length - 1]!.asOf);
  let at = o.runId === null ? -1 : runs.findIndex((r) => r.id === o.runId);
  if (o.runId !== null && at < 0) throw new HttpError(404, 'RUN_NOT_FOUND', 'no such score run of this portal');
  if (at < 0) {
    for (let i = runs.length - 1; i >= 0 && at < 0; i--) if (addDays(runs[i]!.asOf, o.window) <= horizon) at = i;
    if (at < 0) at = runs.length - 1;
  }
  const points = historyPoints(runs, at);
  // one run at a time: each is a scan of the run's labels and their deals (bounded by the statement timeout)
  const history: RunFigures[] = [];
  for (const i of points) history.push(await runFigures(db, portalId, o.entity, runs, i, o.window, o.marginPercent, horizon));
  const list = runs.slice(-400).map((r) => ({ id: r.id, asOf: r.asOf, complete: addDays(r.asOf, o.window) <= horizon }));
  return { ...base, horizon, run: history[history.length - 1]!, runs: list, history };
}
