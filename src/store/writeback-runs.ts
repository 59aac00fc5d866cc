/**
 * The pipeline's stage after the sync, for the Sync page: a score run being computed, and the
 * latest write-back run with its progress (writeback_runs.counts.progress, src/writeback/eta.ts).
 * A 'running' row whose process died stays 'running': it counts as live only while it was
 * touched within `staleSec` (a score run since it started, a write-back since its last batch).
 */
import type { Db } from './db.js';

export interface WritebackRunView {
  id: number;
  scoreRunId: number | null;
  status: 'running' | 'done' | 'failed';
  startedAt: Date;
  finishedAt: Date | null;
  considered: number;
  written: number;
  failed: number;
  /** the last progress snapshot (while running) */
  progress: Record<string, unknown> | null;
  /** the row is running and was touched within staleSec */
  live: boolean;
}

export async function latestWritebackRun(db: Db, portalId: number, staleSec = 1800): Promise<WritebackRunView | null> {
  const { rows } = await db.query<WritebackRunView & { touched: Date }>(
    `SELECT id, score_run_id AS "scoreRunId", status, started_at AS "startedAt", finished_at AS "finishedAt", considered, written, failed,
            counts->'progress' AS progress,
            status = 'running' AND GREATEST(started_at, COALESCE((counts->'progress'->>'at')::timestamptz, started_at)) > now() - make_interval(secs => $2) AS live
       FROM writeback_runs WHERE portal_id = $1 ORDER BY started_at DESC, id DESC LIMIT 1`,
    [portalId, staleSec],
  );
  const r = rows[0];
  return r ? { ...r, id: Number(r.id), scoreRunId: r.scoreRunId === null ? null : Number(r.scoreRunId) } : null;
}

/** A score run being computed now (started within staleSec), or null. */
export async function runningScoreRun(db: Db, portalId: number, staleSec = 3 * 3600): Promise<{ id: number; createdAt: Date } | null> {
  const { rows } = await db.query<{ id: number; createdAt: Date }>(
    `SELECT id, created_at AS "createdAt" FROM score_runs WHERE portal_id = $1 AND status = 'running' AND created_at > now() - make_interval(secs => $2)
      ORDER BY created_at DESC, id DESC LIMIT 1`,
    [portalId, staleSec],
  );
  return rows[0] ? { id: Number(rows[0].id), createdAt: rows[0].createdAt } : null;
}
