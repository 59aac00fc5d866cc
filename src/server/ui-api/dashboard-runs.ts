/**
 * The score runs a dashboard compares: every done run the store keeps (score_runs; how many is
 * the production retention's business, nothing here prunes), each marked when its rules differ
 * from the run before it, so the moves between two runs are not reported as customers' behaviour
 * when the rules changed in between:
 *   'settings' — the admin changed the scoring settings that place customers (RFM mode, scale,
 *                fixed bounds, segment rules, lifecycle and sleeping thresholds);
 *   'bounds'   — the level bounds themselves moved (quantile bounds recomputed because the
 *                customers shifted by more than the re-anchoring share, src/pipeline/score.ts).
 * And which two runs to compare: the latest and the one before it, or a run some days back
 * (7 / 30 / 90), or the runs at two dates.
 */
import type { Db } from '../../store/index.js';

export interface RunInfo {
  id: number;
  /** the run's as-of day (ISO) */
  asOf: string;
  /** when it ran (ISO date and time) */
  createdAt: string;
  rulesChanged: 'settings' | 'bounds' | null;
  /** counts.segments of runs by runScoring; null for runs stored without it */
  sizes: Record<string, number> | null;
  /** counts.partialUpdates: bumped when event rescoring changed the run's labels in place */
  updates: number;
  scale: number;
}

const iso = (d: Date | string) => (d instanceof Date ? d.toISOString() : String(d));

/** The parts of the scoring settings that place a customer in a segment. */
function rulesKey(settings: Record<string, unknown> | null): string {
  const s = settings ?? {};
  return JSON.stringify([s.rfm ?? null, s.segments ?? null, s.sleeping ?? null, s.lifecycle ?? null]);
}

/** Every done run of the portal, oldest first, each marked when its rules differ from the one before. */
export async function keptRuns(db: Db, portalId: number): Promise<RunInfo[]> {
  const { rows } = await db.query<{ id: number; asOf: Date; createdAt: Date; settings: Record<string, unknown> | null; thresholds: unknown; counts: Record<string, unknown> | null }>(
    `SELECT id, as_of AS "asOf", created_at AS "createdAt", settings, thresholds, counts FROM score_runs
      WHERE portal_id = $1 AND status = 'done' ORDER BY created_at, id`,
    [portalId],
  );
  let prevRules: string | null = null;
  let prevBounds: string | null = null;
  return rows.map((r) => {
    const rules = rulesKey(r.settings);
    const bounds = JSON.stringify(r.thresholds ?? {});
    const rulesChanged = prevRules === null ? null : rules !== prevRules ? 'settings' : bounds !== prevBounds ? 'bounds' : null;
    prevRules = rules;
    prevBounds = bounds;
    const sizes = r.counts?.segments;
    const scale = (r.settings as { rfm?: { scale?: number } } | null)?.rfm?.scale === 3 ? 3 : 5;
    return {
      id: Number(r.id), asOf: iso(r.asOf), createdAt: iso(r.createdAt), rulesChanged,
      sizes: sizes && typeof sizes === 'object' ? (sizes as Record<string, number>) : null,
      updates: Number(r.counts?.partialUpdates ?? 0), scale,
    };
  });
}

/** What the user asked to compare: a run id, a day (YYYY-MM-DD), or a number of days before `to`. */
export type RunSpec = { run: number } | { day: string } | { daysBack: number } | null;

/** Parses a query value: "run:12", "2026-09-01", "30d"; anything else is null (the default). */
export function parseRunSpec(v: unknown): RunSpec {
  if (typeof v !== 'string') return null;
  const run = /^run:(\d{1,15})$/.exec(v);
  if (run) return { run: Number(run[1]) };
  if (/^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(`${v}T00:00:00Z`))) return { day: v };
  const days = /^(\d{1,4})d$/.exec(v);
  return days ? { daysBack: Number(days[1]) } : null;
}

/** The last run as of the end of `day`, else the oldest one (`clamped`: none was that old). */
function runAt(runs: RunInfo[], day: string): { run: RunInfo; clamped: boolean } {
  const end = Date.parse(`${day}T23:59:59.999Z`);
  let hit: RunInfo | undefined;
  for (const r of runs) if (Date.parse(r.asOf) <= end) hit = r;
  return hit ? { run: hit, clamped: false } : { run: runs[0]!, clamped: true };
}

export interface Comparison {
  from: RunInfo | null;
  to: RunInfo;
  /** the asked day or days were older than every kept run: `from` is the oldest */
  clamped: boolean;
  /** runs after `from` up to `to` whose rules changed (their moves are not customers' behaviour) */
  rulesChanged: RunInfo[];
}

/** The two runs to compare (runs: oldest first, at least one). */
export function pickComparison(runs: RunInfo[], fromSpec: RunSpec, toSpec: RunSpec): Comparison {
  let to = runs[runs.length - 1]!;
  if (toSpec && 'run' in toSpec) to = runs.find((r) => r.id === toSpec.run) ?? to;
  else if (toSpec && 'day' in toSpec) to = runAt(runs, toSpec.day).run;
  const before = runs.filter((r) => r.createdAt < to.createdAt || (r.createdAt === to.createdAt && r.id < to.id));
  let from: RunInfo | null = before[before.length - 1] ?? null;
  let clamped = false;
  if (fromSpec && 'run' in fromSpec) from = before.find((r) => r.id === fromSpec.run) ?? from;
  else if (fromSpec && before.length) {
    const day = 'day' in fromSpec ? fromSpec.day : new Date(Date.parse(to.asOf) - fromSpec.daysBack * 86_400_000).toISOString().slice(0, 10);
    ({ run: from, clamped } = runAt(before, day));
  }
  const span = from ? runs.filter((r) => (r.createdAt > from!.createdAt || (r.createdAt === from!.createdAt && r.id > from!.id)) && (r.createdAt < to.createdAt || (r.createdAt === to.createdAt && r.id <= to.id))) : [];
  return { from, to, clamped, rulesChanged: span.filter((r) => r.rulesChanged !== null) };
}
