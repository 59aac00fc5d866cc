/**
 * The scoring step of a cycle, incremental: only the contacts touched since the last full run are
 * loaded and rescored, in place in the latest run, with its thresholds and fits (./rescore.ts); a
 * full run (pipeline/score.ts) when pipeline/incremental.ts says one is needed, with the reason.
 */
import type { Db } from '../store/db.js';
import { getPortal, latestScoreRun } from '../store/index.js';
import { portalToday, runScoring, type RunScoringOptions, type ScoringResult } from '../pipeline/score.js';
import { partialPlan } from '../pipeline/incremental.js';
import { readSection } from '../settings/index.js';
import { rescoreContacts } from './rescore.js';

export async function runCycleScoring(db: Db, portalId: number, asOf?: string, opts: RunScoringOptions = {}): Promise<ScoringResult> {
  const t0 = performance.now();
  const portal = await getPortal(db, portalId);
  if (!portal) throw new Error(`runCycleScoring: portal ${portalId} not found`);
  const now = opts.now ?? new Date();
  const asOfDay = asOf ?? portalToday(portal.timeZone, now);
  const prev = await latestScoreRun(db, portalId);
  const b2b = opts.b2b ?? readSection(portal.settings, 'b2b').value;
  const plan = opts.settings ? { full: 'settings given by the caller' } : await partialPlan(db, portalId, prev, { asOfDay, settings: portal.settings, b2b, at: now });
  if (!('ids' in plan)) return runScoring(db, portalId, asOfDay, { ...opts, fullReason: plan.full });
  const r = await rescoreContacts(db, portalId, plan.ids, { asOf: asOfDay, now });
  // the run's sync mark moves on, so the next cycle starts from here
  await db.query(`UPDATE score_runs SET counts = counts || jsonb_build_object('syncMark', $3::bigint) WHERE portal_id = $1 AND id = $2`, [portalId, prev!.id, plan.mark]);
  const c = prev!.counts as { buyers?: number; thresholdMode?: ScoringResult['thresholds'] };
  const ms = Math.round(performance.now() - t0);
  return {
    runId: prev!.id, asOf: asOfDay, contacts: plan.contacts, buyers: c.buyers ?? 0,
    segmentChanges: r.changes.filter((x) => x.before?.segment !== x.after?.segment).length,
    thresholds: c.thresholdMode ?? 'pinned', drift: null, warnings: [], companies: null, mode: 'partial', rescored: r.rescored + r.removed,
    ms: { load: 0, score: ms, store: 0 },
  };
}
