/**
 * GET /sync (the sync page: the running run, the last ten, the last score run, the write-back with its
 * progress and ETA, the stage the cycle is in, the schedule and its next run) and POST /sync/run (admins: "run now").
 */
import express, { type Router } from 'express';
import { latestScoreRun, latestSyncRun, latestWritebackRun, listSyncRuns, runningScoreRun, type WritebackRunView } from '../../../store/index.js';
import { etaNow } from '../../../writeback/eta.js';
import { nextRunOf, readSection } from '../../../settings/index.js';
import { authed, HttpError, requireAdmin, wrap } from '../http.js';
import type { RouteDeps } from './shared.js';

export function syncRoutes({ ctx, db }: RouteDeps): Router {
  const r = express.Router();

  r.get('/sync', wrap(async (req) => {
    const a = authed(req);
    const [current, runs, score, scoring, wb] = await Promise.all([
      latestSyncRun(db, a.portal.id, { status: 'running' }),
      listSyncRuns(db, a.portal.id, 10),
      latestScoreRun(db, a.portal.id),
      runningScoreRun(db, a.portal.id),
      latestWritebackRun(db, a.portal.id),
    ]);
    const strip = <T extends { checkpoint?: unknown }>(x: T) => ({ ...x, checkpoint: undefined });
    return {
      current: current ? strip(current) : null,
      runs: runs.map(strip),
      lastScore: score ? { id: score.id, asOf: score.asOf, createdAt: score.createdAt, counts: score.counts } : null,
      // the cycle's stage: the lists and the dashboard read the last finished score run, so they are usable during the write-back
      stage: current ? 'sync' : scoring ? 'score' : wb?.live ? 'writeback' : null,
      writeBack: wb ? writeBackView(wb) : null,
      canRunNow: a.session.a && !!ctx.runNow,
      // the nightly reconciliation's schedule and when it runs next (src/jobs/schedules.ts runs it)
      schedule: readSection(a.portal.settings, 'schedule').value,
      nextRun: nextRunOf(readSection(a.portal.settings, 'schedule').value, a.portal.timeZone),
      timeZone: a.portal.timeZone,
    };
  }));

  r.post('/sync/run', wrap(async (req) => {
    const a = authed(req);
    requireAdmin(a);
    if (!ctx.runNow) throw new HttpError(501, 'NOT_AVAILABLE', 'this server has no background runner configured');
    return ctx.runNow(a.portal.id);
  }));

  return r;
}

/** The write-back run for the Sync page: done / total of the pass, the top-priority customers, the ETA now (eta.ts). */
function writeBackView(w: WritebackRunView) {
  const p = w.live ? w.progress as { kind?: string; planned?: number; done?: number; topPlanned?: number; topDone?: number; etaSec?: number; at?: string } | null : null;
  const known = p && typeof p.etaSec === 'number' && typeof p.at === 'string';
  return {
    id: w.id, status: w.live ? 'running' : w.status === 'running' ? 'failed' : w.status, startedAt: w.startedAt, finishedAt: w.finishedAt,
    written: w.written, considered: w.considered, failed: w.failed,
    progress: p ? { kind: p.kind ?? 'contact', planned: p.planned ?? 0, done: p.done ?? 0, topPlanned: p.topPlanned ?? 0, topDone: p.topDone ?? 0 } : null,
    etaSeconds: known ? etaNow({ etaSec: p.etaSec!, at: p.at! }) : null,
  };
}
