/**
 * Start or resume: picks up the portal's unfinished run from its checkpoint, or starts a new
 * one (full, or incremental from the last watermark). A 'running' run not updated for
 * `staleAfterSec` is taken over (its process died); a fresh one means another sync is running.
 */
import type { Db } from '../store/db.js';
import { SyncAlreadyRunningError, createSyncRun, lastWatermark, latestSyncRun, type SyncRun } from '../store/syncRuns.js';
import { type Checkpoint, type SyncOptions, zeroCounts, zeroDeleted } from './types.js';

const DEFAULT_OVERLAP_SEC = 600;

export interface StartedRun {
  run: SyncRun;
  /** The checkpoint the run continues from (fresh for a new run). */
  cp: Checkpoint;
  /** True when an interrupted run is continued. */
  resumed: boolean;
}

function isCheckpoint(v: unknown): v is Checkpoint {
  return !!v && typeof v === 'object' && (v as Checkpoint).v === 1 && typeof (v as Checkpoint).cursors === 'object';
}

function freshCheckpoint(kind: 'full' | 'incremental', since: number | null, overlapSec: number): Checkpoint {
  return {
    v: 1, kind, startedAt: 0, since, overlapSec, reference: false,
    cursors: { contacts: 0, companies: 0, deals: 0 },
    done: { contacts: false, companies: false, deals: false, productRows: false },
    prCursor: 0, derived: false, deletions: false,
    counts: zeroCounts(), deleted: zeroDeleted(), expected: {}, ratesChanged: false, resumes: 0,
  };
}

/** Continues an interrupted run: back to 'running' (same id). */
async function reviveRun(db: Db, portalId: number, runId: number): Promise<boolean> {
  try {
    const r = await db.query(
      `UPDATE sync_runs SET status = 'running', finished_at = NULL, updated_at = now()
        WHERE portal_id = $1 AND id = $2 AND status = 'interrupted'`,
      [portalId, runId],
    );
    return r.rowCount === 1;
  } catch (err) {
    if ((err as { code?: string }).code === '23505') throw new SyncAlreadyRunningError(portalId);
    throw err;
  }
}

export async function startOrResume(db: Db, portalId: number, opts: SyncOptions, now: () => Date): Promise<StartedRun> {
  let run: SyncRun | null = await latestSyncRun(db, portalId);
  if (run?.status === 'running') {
    const staleMs = (opts.staleAfterSec ?? 120) * 1000;
    if (run.updatedAt.getTime() > now().getTime() - staleMs) throw new SyncAlreadyRunningError(portalId);
    await db.query(`UPDATE sync_runs SET status = 'interrupted', finished_at = now(), updated_at = now() WHERE portal_id = $1 AND id = $2 AND status = 'running'`, [portalId, run.id]);
    run = { ...run, status: 'interrupted' };
  }
  if (opts.resume !== false && run?.status === 'interrupted' && isCheckpoint(run.checkpoint) && (opts.kind === 'auto' || opts.kind === run.kind) && (await reviveRun(db, portalId, run.id))) {
    const cp = run.checkpoint as Checkpoint;
    cp.resumes++;
    return { run, cp, resumed: true };
  }
  let kind: 'full' | 'incremental' = opts.kind === 'auto' ? 'incremental' : opts.kind;
  const wm = kind === 'incremental' ? await lastWatermark(db, portalId) : null;
  if (kind === 'incremental' && !wm) kind = 'full';
  const cp = freshCheckpoint(kind, wm ? wm.getTime() : null, opts.overlapSec ?? DEFAULT_OVERLAP_SEC);
  return { run: await createSyncRun(db, portalId, kind, { phase: 'reference', checkpoint: cp }), cp, resumed: false };
}
