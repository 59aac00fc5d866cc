/**
 * What the settings page shows next to the RFM bounds: the bounds the latest run used (in
 * quantile mode they come from the customers, so the fixed inputs do not apply), and how the
 * buyers spread (10th, 25th, 50th, 75th and 90th percentile of days since the last purchase,
 * purchase days and revenue), so bounds far from the customers stand out before a preview.
 */
import type { Db } from '../../store/index.js';
import { latestScoreRun } from '../../store/index.js';
import { runThresholdsOf, type RunThresholds } from './dashboard-query.js';

const runScaleOf = (settings: unknown): number => ((settings as { rfm?: { scale?: number } } | null)?.rfm?.scale === 3 ? 3 : 5);

type Dim = 'recency' | 'frequency' | 'monetary';

export interface CurrentBounds {
  runId: number;
  asOf: string;
  /** how the run got its bounds: 'fixed', 'fresh' (quantiles computed), 'pinned' (the previous run's kept) */
  mode: string | null;
  bounds: Record<Dim, number[]> | null;
  /** the same bounds with the values each level holds, for explaining every level (dashboard-query.ts runThresholdsOf) */
  thresholds: RunThresholds | null;
  spread: Record<Dim, number[]> | null;
  buyers: number;
}

export async function currentBounds(db: Db, portalId: number): Promise<CurrentBounds | null> {
  const run = await latestScoreRun(db, portalId);
  if (!run) return null;
  const th = run.thresholds as Partial<Record<Dim, { bounds?: unknown }>>;
  const b = (d: Dim) => (Array.isArray(th?.[d]?.bounds) ? (th[d]!.bounds as unknown[]).map(Number) : null);
  const bounds = b('recency') && b('frequency') && b('monetary') ? { recency: b('recency')!, frequency: b('frequency')!, monetary: b('monetary')! } : null;
  const p = `ARRAY[0.1, 0.25, 0.5, 0.75, 0.9]`;
  const { rows } = await db.query<{ r: number[] | null; f: number[] | null; m: number[] | null; n: number }>(
    `SELECT percentile_cont(${p}) WITHIN GROUP (ORDER BY recency_days) AS r, percentile_cont(${p}) WITHIN GROUP (ORDER BY frequency) AS f,
            percentile_cont(${p}) WITHIN GROUP (ORDER BY monetary::float8) AS m, count(*)::int AS n
       FROM contact_labels WHERE portal_id = $1 AND run_id = $2 AND recency_days IS NOT NULL`,
    [portalId, run.id],
  );
  const x = rows[0];
  const round = (v: number[] | null) => (v ?? []).map((n) => Math.round(Number(n) * 100) / 100);
  return {
    runId: run.id,
    asOf: run.asOf instanceof Date ? run.asOf.toISOString() : String(run.asOf),
    mode: typeof run.counts?.thresholdMode === 'string' ? run.counts.thresholdMode : null,
    bounds,
    thresholds: runThresholdsOf(run.thresholds, run.counts?.thresholdMode, runScaleOf(run.settings)),
    spread: x && x.n ? { recency: round(x.r), frequency: round(x.f), monetary: round(x.m) } : null,
    buyers: x?.n ?? 0,
  };
}
