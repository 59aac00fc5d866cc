/** GET /sync (the sync page: the running run, the last ten, the last score run, the schedule and its next run) and POST /sync/run (admins: "run now"). */
import express, { type Router } from 'express';
import { latestScoreRun, latestSyncRun, listSyncRuns } from '../../../store/index.js';
import { nextRunOf, readSection } from '../../../settings/index.js';
import { authed, HttpError, requireAdmin, wrap } from '../http.js';
import type { RouteDeps } from './shared.js';

export function syncRoutes({ ctx, db }: RouteDeps): Router {
  const r = express.Router();

  r.get('/sync', wrap(async (req) => {
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
