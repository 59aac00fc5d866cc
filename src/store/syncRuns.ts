/**
 * Sync runs: one row per full/incremental sync of a portal, updated as it progresses
 * (phase, rows, ETA, REST usage, checkpoint for resume, watermark for the next incremental).
 * At most one 'running' run per portal (partial unique index): createSyncRun throws
 * SyncAlreadyRunningError when one exists.
 */
import type { Db } from './db.js';

export type SyncKind = 'full' | 'incremental';
export type SyncStatus = 'running' | 'done' | 'failed' | 'interrupted';

export interface SyncRun {
  id: number;
  portalId: number;
  kind: SyncKind;
  phase: string | null;
  status: SyncStatus;
  startedAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
  rowsDone: number;
  rowsExpected: number | null;
  etaSeconds: number | null;
  counts: Record<string, number>;
  requests: number;
  calls: number;
  operatingSeconds: number;
  errors: unknown[];
  checkpoint: unknown;
  watermark: Date | null;
}

const COLS = `id, portal_id AS "portalId", kind, phase, status, started_at AS "startedAt", updated_at AS "updatedAt",
  finished_at AS "finishedAt", rows_done AS "rowsDone", rows_expected AS "rowsExpected", eta_seconds AS "etaSeconds",
  counts, requests, calls, operating_seconds AS "operatingSeconds", errors, checkpoint, watermark`;

export class SyncAlreadyRunningError extends Error {
  override name = 'SyncAlreadyRunningError';
  constructor(public readonly portalId: number) {
    super(`a sync is already running for portal ${portalId}`);
  }
}

export async function createSyncRun(
  db: Db,
  portalId: number,
  kind: SyncKind,
  init: { phase?: string; rowsExpected?: number; checkpoint?: unknown; watermark?: Date | null } = {},
): Promise<SyncRun> {
  try {
    const { rows } = await db.query<SyncRun>(
      `INSERT INTO sync_runs (portal_id, kind, phase, rows_expected, checkpoint, watermark)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6) RETURNING ${COLS}`,
      [portalId, kind, init.phase ?? null, init.rowsExpected ?? null, init.checkpoint === undefined ? null : JSON.stringify(init.checkpoint), init.watermark ?? null],
    );
    return rows[0]!;
  } catch (err) {
    if ((err as { code?: string }).code === '23505') throw new SyncAlreadyRunningError(portalId);
    throw err;
  }
}

export interface SyncProgress {
  phase?: string;
  rowsDone?: number;
  rowsExpected?: number | null;
  etaSeconds?: number | null;
  /** Replaces the counts object (e.g. { contacts: 1200, deals: 800 }). */
  counts?: Record<string, number>;
  /** Added to the stored totals. */
  addRequests?: number;
  addCalls?: number;
  addOperatingSeconds?: number;
  /** Appended to errors (keep them small: code, message, method, at). */
  appendErrors?: unknown[];
  /** Replaces the checkpoint (what a resumed run needs to continue). */
  checkpoint?: unknown;
  /** Raised only: the stored watermark becomes max(old, new). */
  watermark?: Date | null;
}

/** Updates a running run of this portal. Returns false if no such running run. */
export async function updateSyncProgress(db: Db, portalId: number, runId: number, p: SyncProgress): Promise<boolean> {
  const r = await db.query(
    `UPDATE sync_runs SET
       phase = COALESCE($3::text, phase),
       rows_done = COALESCE($4::bigint, rows_done),
       rows_expected = CASE WHEN $5::boolean THEN $6::bigint ELSE rows_expected END,
       eta_seconds = CASE WHEN $7::boolean THEN $8::integer ELSE eta_seconds END,
       counts = COALESCE($9::jsonb, counts),
       requests = requests + $10::integer,
       calls = calls + $11::integer,
       operating_seconds = operating_seconds + $12::numeric,
       errors = errors || $13::jsonb,
       checkpoint = CASE WHEN $14::boolean THEN $15::jsonb ELSE checkpoint END,
       watermark = GREATEST(watermark, $16::timestamptz),
       updated_at = now()
     WHERE portal_id = $1 AND id = $2 AND status = 'running'`,
    [
      portalId,
      runId,
      p.phase ?? null,
      p.rowsDone ?? null,
      p.rowsExpected !== undefined,
      p.rowsExpected ?? null,
      p.etaSeconds !== undefined,
      p.etaSeconds ?? null,
      p.counts === undefined ? null : JSON.stringify(p.counts),
      p.addRequests ?? 0,
      p.addCalls ?? 0,
      p.addOperatingSeconds ?? 0,
      JSON.stringify(p.appendErrors ?? []),
      p.checkpoint !== undefined,
      p.checkpoint === undefined || p.checkpoint === null ? null : JSON.stringify(p.checkpoint),
      p.watermark ?? null,
    ],
  );
  return r.rowCount === 1;
}

/** Ends a running run: status 'done' | 'failed' | 'interrupted'; optional final progress. */
export async function finishSyncRun(
  db: Db,
  portalId: number,
  runId: number,
  status: Exclude<SyncStatus, 'running'>,
  final: SyncProgress = {},
): Promise<SyncRun | null> {
  return db.transaction(async (tx) => {
    await updateSyncProgress(tx, portalId, runId, final);
    const { rows } = await tx.query<SyncRun>(
      `UPDATE sync_runs SET status = $3, finished_at = now(), updated_at = now(),
         eta_seconds = CASE WHEN $3 = 'done' THEN 0 ELSE eta_seconds END
       WHERE portal_id = $1 AND id = $2 AND status = 'running' RETURNING ${COLS}`,
      [portalId, runId, status],
    );
    return rows[0] ?? null;
  });
}

export async function getSyncRun(db: Db, portalId: number, runId: number): Promise<SyncRun | null> {
  const { rows } = await db.query<SyncRun>(`SELECT ${COLS} FROM sync_runs WHERE portal_id = $1 AND id = $2`, [portalId, runId]);
  return rows[0] ?? null;
}

/** Latest run of the portal (optionally of a kind / status). */
export async function latestSyncRun(
  db: Db,
  portalId: number,
  filter: { kind?: SyncKind; status?: SyncStatus } = {},
): Promise<SyncRun | null> {
  const { rows } = await db.query<SyncRun>(
    `SELECT ${COLS} FROM sync_runs WHERE portal_id = $1 AND ($2::text IS NULL OR kind = $2)
       AND ($3::text IS NULL OR status = $3) ORDER BY started_at DESC, id DESC LIMIT 1`,
    [portalId, filter.kind ?? null, filter.status ?? null],
  );
  return rows[0] ?? null;
}

export async function listSyncRuns(db: Db, portalId: number, limit = 20): Promise<SyncRun[]> {
  const { rows } = await db.query<SyncRun>(
    `SELECT ${COLS} FROM sync_runs WHERE portal_id = $1 ORDER BY started_at DESC, id DESC LIMIT $2`,
    [portalId, limit],
  );
  return rows;
}

/** Watermark for the next incremental sync: max watermark of the portal's 'done' runs. */
export async function lastWatermark(db: Db, portalId: number): Promise<Date | null> {
  const { rows } = await db.query<{ w: Date | null }>(
    `SELECT max(watermark) AS w FROM sync_runs WHERE portal_id = $1 AND status = 'done'`,
    [portalId],
  );
  return rows[0]?.w ?? null;
}

/**
 * Startup recovery (system-wide by design): marks 'running' runs not updated since
 * `staleBefore` as 'interrupted' (their checkpoint stays for a resume). Returns how many.
 */
export async function interruptStaleSyncRuns(db: Db, staleBefore: Date = new Date()): Promise<number> {
  const r = await db.query(
    `UPDATE sync_runs SET status = 'interrupted', finished_at = now(), updated_at = now()
      WHERE status = 'running' AND updated_at < $1`,
    [staleBefore],
  );
  return r.rowCount;
}
