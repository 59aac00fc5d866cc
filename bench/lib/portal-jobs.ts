/**
 * A bench phase's jobs as pg-boss recorded them (the `pgboss.job` table the workers share): waiting
 * until every portal's cycle is done, and the phase's figures. A job that found its portal busy
 * completes with `{deferred: true}` after re-queuing itself; it is counted apart, never as a run.
 */
import type { Db } from '../../src/store/index.js';
import { QUEUES } from '../../src/jobs/index.js';

const CYCLE_QUEUES = [QUEUES.sync, QUEUES.score, QUEUES.writeback, QUEUES.reconcile];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The database's clock now: phases are cut on pg-boss's own timestamps. */
export async function dbNow(db: Db): Promise<Date> {
  const { rows } = await db.query<{ t: Date }>('SELECT clock_timestamp() AS t');
  return rows[0]!.t;
}

/** Completed runs (not deferrals) of `queue` per portal since `since`. */
async function donePerPortal(db: Db, queue: string, since: Date): Promise<Map<number, number>> {
  const { rows } = await db.query<{ portal_id: number; n: number }>(
    `SELECT (data->>'portalId')::int AS portal_id, count(*)::int AS n FROM pgboss.job
      WHERE name = $1 AND state = 'completed' AND created_on >= $2 AND NOT coalesce(output ? 'deferred', false)
      GROUP BY 1`, [queue, since],
  );
  return new Map(rows.map((r) => [Number(r.portal_id), r.n]));
}

async function openJobs(db: Db): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pgboss.job WHERE name = ANY($1::text[]) AND state IN ('created', 'retry', 'active')`, [CYCLE_QUEUES],
  );
  return rows[0]!.n;
}

/**
 * Until no cycle job is open any more (the phase's jobs were sent before): then every portal in
 * `ids` has its completed `queue` job since `since`, or some job failed for good.
 */
export async function waitPhase(db: Db, ids: readonly number[], queue: string, since: Date, timeoutMs: number, progress?: (done: number) => void): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = -1;
  for (;;) {
    const done = await donePerPortal(db, queue, since);
    const finished = ids.filter((id) => (done.get(id) ?? 0) >= 1).length;
    const open = await openJobs(db);
    if (finished !== last) progress?.(finished);
    last = finished;
    if (open === 0) return;
    if (Date.now() > until) throw new Error(`phase not finished after ${Math.round(timeoutMs / 1000)} s: ${finished}/${ids.length} portals done, ${open} jobs open`);
    await sleep(1000);
  }
}

export interface PhaseJobs {
  /** Portals with exactly one completed `queue` run in the phase. */
  portalsDoneOnce: number;
  /** Portals with more than one. */
  portalsDoneTwice: number;
  /** Sum over the phase's completed cycle jobs of (completed − started), seconds. */
  jobSeconds: number;
  failed: number;
  retried: number;
  deferred: number;
}

export async function phaseJobs(db: Db, ids: readonly number[], queue: string, since: Date): Promise<PhaseJobs> {
  const done = await donePerPortal(db, queue, since);
  const { rows } = await db.query<{ secs: number; failed: number; retried: number; deferred: number }>(
    `SELECT coalesce(sum(extract(epoch FROM completed_on - started_on)) FILTER (WHERE state = 'completed' AND NOT coalesce(output ? 'deferred', false)), 0)::float8 AS secs,
            count(*) FILTER (WHERE state = 'failed')::int AS failed,
            count(*) FILTER (WHERE retry_count > 0)::int AS retried,
            count(*) FILTER (WHERE state = 'completed' AND coalesce(output ? 'deferred', false))::int AS deferred
       FROM pgboss.job WHERE name = ANY($1::text[]) AND created_on >= $2`, [CYCLE_QUEUES, since],
  );
  const r = rows[0]!;
  return {
    portalsDoneOnce: ids.filter((id) => done.get(id) === 1).length,
    portalsDoneTwice: ids.filter((id) => (done.get(id) ?? 0) > 1).length,
    jobSeconds: r.secs, failed: r.failed, retried: r.retried, deferred: r.deferred,
  };
}
