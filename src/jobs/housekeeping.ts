/**
 * The nightly housekeeping: one job per cluster (a pg-boss schedule on `b24seg-housekeeping`,
 * HOUSEKEEPING_CRON in UTC; pg-boss creates one job per tick however many workers run, and one
 * worker takes it). A pass:
 *  - prunes every portal's score runs: the latest N plus the first run of each of the last M
 *    months (src/store/retention.ts; RETAIN_SCORE_RUNS, RETAIN_SCORE_MONTHS);
 *  - drops CRM event inbox rows older than RETAIN_INBOX_DAYS (src/events/inbox.ts);
 *  - drops expired HTTP rate-limit counters (src/store/retention.ts);
 *  - keeps only each portal's newest row of the company-change log (migration 029).
 * Every delete is batched and the pass stops after `maxMs`; what is left waits for the next night.
 * A second pass right after the first deletes nothing.
 *
 * pg-boss's own job history is not hand-deleted: `bossRetention` configures pg-boss's maintenance
 * (every few minutes, one process per cluster under pg-boss's advisory lock) to move finished jobs
 * to its archive after a day and to delete them from the archive after RETAIN_JOBS_DAYS.
 */
import type PgBoss from 'pg-boss';
import type { Db } from '../store/db.js';
import { listPortals } from '../store/portals.js';
import { pruneCompanyChanges, pruneRateLimits, pruneScoreRuns } from '../store/retention.js';
import { dropStaleInbox } from '../events/inbox.js';
import { QUEUES, type JobLog } from './queues.js';

export interface HousekeepingOptions {
  /** latest done score runs kept per portal (RETAIN_SCORE_RUNS) */
  scoreRuns: number;
  /** months whose first run is kept (RETAIN_SCORE_MONTHS; default 12) */
  scoreMonths?: number;
  /** CRM event inbox rows older than this are dropped (RETAIN_INBOX_DAYS) */
  inboxDays: number;
  /** finished jobs stay in pg-boss's archive this long (RETAIN_JOBS_DAYS) */
  jobsDays: number;
  /** cron expression in UTC (HOUSEKEEPING_CRON); null: no schedule (run it with runHousekeeping) */
  cron: string | null;
  /** rows per DELETE statement (default 5000) */
  batch?: number;
  /** a pass stops starting new deletes after this many ms (default 20 minutes) */
  maxMs?: number;
}

export const DEFAULT_HOUSEKEEPING: HousekeepingOptions = { scoreRuns: 10, scoreMonths: 12, inboxDays: 7, jobsDays: 7, cron: '17 3 * * *' };

export interface HousekeepingResult {
  portals: number;
  runsDeleted: number;
  labelsDeleted: number;
  inboxDeleted: number;
  rateLimitsDeleted: number;
  companyChangesDeleted: number;
  /** stopped at maxMs with work left */
  more: boolean;
  ms: number;
}

/** pg-boss constructor options: its maintenance archives finished jobs after a day and deletes them `jobsDays` later. */
export function bossRetention(o: Pick<HousekeepingOptions, 'jobsDays'>): Pick<PgBoss.ConstructorOptions, 'archiveCompletedAfterSeconds' | 'archiveFailedAfterSeconds' | 'deleteAfterDays'> {
  return { archiveCompletedAfterSeconds: 86_400, archiveFailedAfterSeconds: 86_400, deleteAfterDays: Math.max(1, Math.floor(o.jobsDays)) };
}

/** One housekeeping pass over every portal (any status: an uninstalled portal's old runs go too). */
export async function runHousekeeping(db: Db, o: HousekeepingOptions, log: JobLog): Promise<HousekeepingResult> {
  const started = Date.now();
  const until = started + (o.maxMs ?? 20 * 60_000);
  const out: HousekeepingResult = { portals: 0, runsDeleted: 0, labelsDeleted: 0, inboxDeleted: 0, rateLimitsDeleted: 0, companyChangesDeleted: 0, more: false, ms: 0 };
  for (const p of await listPortals(db)) {
    if (Date.now() > until) {
      out.more = true;
      break;
    }
    out.portals++;
    const r = await pruneScoreRuns(db, p.id, { keepLatest: o.scoreRuns, keepMonths: o.scoreMonths, batch: o.batch, maxMs: until - Date.now() });
    out.runsDeleted += r.runsDeleted;
    out.labelsDeleted += r.labelsDeleted;
    out.more ||= r.more;
  }
  out.inboxDeleted = await dropStaleInbox(db, o.inboxDays, { batch: o.batch, until });
  out.rateLimitsDeleted = await pruneRateLimits(db, { batch: o.batch, until });
  out.companyChangesDeleted = await pruneCompanyChanges(db, { batch: o.batch, until });
  out.more ||= Date.now() > until;
  out.ms = Date.now() - started;
  log.info('housekeeping: done', { ...out });
  return out;
}

/** The housekeeping worker and its schedule (or the schedule's removal when `cron` is null). */
export async function registerHousekeeping(boss: PgBoss, db: Db, o: HousekeepingOptions, log: JobLog, pollingIntervalSeconds: number): Promise<void> {
  await boss.work(QUEUES.housekeeping, { batchSize: 1, pollingIntervalSeconds: Math.max(pollingIntervalSeconds, 5) }, async () => runHousekeeping(db, o, log));
  if (o.cron) await boss.schedule(QUEUES.housekeeping, o.cron, {}, { tz: 'UTC', singletonKey: 'housekeeping' });
  else await boss.unschedule(QUEUES.housekeeping).catch(() => {});
}
