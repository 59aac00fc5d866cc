/**
 * Retention of score runs (the nightly housekeeping, src/jobs/housekeeping.ts, calls this per portal).
 *
 * Kept, per portal:
 *  - the latest `keepLatest` done runs (newest by created_at, id: what "latest" means everywhere);
 *  - the first done run of each calendar month (as-of day, UTC) of the last `keepMonths` months
 *    (default 12): the trend points the effectiveness history and the dashboard's "runs at two
 *    dates" read (src/server/ui-api/effectiveness-query.ts draws at most 24 points, ≥ 7 days apart);
 *  - runs that are not done (running, failed) for a day after they started: a running one may be
 *    at work; a failed one can be looked at. Older ones are leftovers and go.
 * Everything else goes with its labels (contact_labels, company_labels). The latest done run is
 * always kept, so the label_facts / label_cube tables that track it (migration 005) never move.
 *
 * Bounded: a run leaves the readers first (its status becomes 'failed': every reader asks for done
 * runs), then its labels are deleted `batch` rows per statement (each its own short transaction,
 * so a portal with a million contacts never holds a long lock), then the run row. A pass stops
 * after `maxMs` and reports `more`; the next pass goes on (a run left half-deleted is 'failed' and
 * a day old, so it is picked again).
 */
import type { Db } from './db.js';
import { CUSTOMER_KINDS, KIND_TABLES } from './customer-kinds.js';

export interface RunRetention {
  /** latest done runs kept (≥ 1; the app's default 10, RETAIN_SCORE_RUNS ≥ 2) */
  keepLatest: number;
  /** months back (counting the current one) whose first done run is kept (default 12) */
  keepMonths?: number;
  /** label rows per DELETE statement (default 5000) */
  batch?: number;
  /** stop starting new work after this many ms (default 10 minutes) */
  maxMs?: number;
}

export interface PruneResult {
  runsDeleted: number;
  labelsDeleted: number;
  /** runs still to delete when the pass stopped at maxMs */
  more: boolean;
}

/** The ids of the portal's runs the rule above does not keep, oldest first. */
export async function runsToPrune(db: Db, portalId: number, r: RunRetention): Promise<number[]> {
  const { rows } = await db.query<{ id: number }>(
    `WITH runs AS (
       SELECT id, status, created_at, as_of,
              row_number() OVER (PARTITION BY status = 'done' ORDER BY created_at DESC, id DESC) AS recent,
              row_number() OVER (PARTITION BY status = 'done', date_trunc('month', as_of AT TIME ZONE 'UTC')
                                 ORDER BY as_of, created_at, id) AS in_month
         FROM score_runs WHERE portal_id = $1)
     SELECT id FROM runs
      WHERE CASE WHEN status = 'done' THEN NOT (recent <= $2 OR (in_month = 1
                   AND as_of >= date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - make_interval(months => $3 - 1)))
                 ELSE created_at < now() - interval '1 day' END
      ORDER BY created_at, id`,
    [portalId, Math.max(1, Math.floor(r.keepLatest)), Math.max(1, Math.floor(r.keepMonths ?? 12))],
  );
  return rows.map((x) => Number(x.id));
}

/** Deletes one run: out of the readers' sight, then its labels in batches, then the row. */
async function deleteRun(db: Db, portalId: number, runId: number, batch: number, until: number): Promise<{ labels: number; done: boolean }> {
  await db.query(`UPDATE score_runs SET status = 'failed' WHERE portal_id = $1 AND id = $2 AND status <> 'failed'`, [portalId, runId]);
  let labels = 0;
  for (const kind of CUSTOMER_KINDS) {
    const t = KIND_TABLES[kind];
    for (;;) {
      if (Date.now() > until) return { labels, done: false };
      const r = await db.query(
        `DELETE FROM ${t.labels} WHERE portal_id = $1 AND run_id = $2 AND ${t.id} IN
           (SELECT ${t.id} FROM ${t.labels} WHERE portal_id = $1 AND run_id = $2 ORDER BY ${t.id} LIMIT $3)`,
        [portalId, runId, batch],
      );
      labels += r.rowCount;
      if (r.rowCount < batch) break;
    }
  }
  await db.query(`DELETE FROM score_runs WHERE portal_id = $1 AND id = $2`, [portalId, runId]);
  return { labels, done: true };
}

/** Prunes the portal's score runs by the rule above; idempotent (a second pass deletes nothing). */
export async function pruneScoreRuns(db: Db, portalId: number, r: RunRetention): Promise<PruneResult> {
  const until = Date.now() + (r.maxMs ?? 600_000);
  const batch = Math.max(1, Math.floor(r.batch ?? 5000));
  const out: PruneResult = { runsDeleted: 0, labelsDeleted: 0, more: false };
  for (const runId of await runsToPrune(db, portalId, r)) {
    const d = await deleteRun(db, portalId, runId, batch, until);
    out.labelsDeleted += d.labels;
    if (!d.done) return { ...out, more: true };
    out.runsDeleted++;
  }
  return out;
}

/**
 * Drops the HTTP rate-limit counters (migration 006) that expired more than an hour ago, `batch`
 * per statement. rate-limiter-flexible also clears them from each web process every 5 minutes;
 * this is the backstop when no web process ran, bounded like the rest of the housekeeping.
 */
export async function pruneRateLimits(db: Db, o: { batch?: number; until?: number; now?: number } = {}): Promise<number> {
  const batch = Math.max(1, Math.floor(o.batch ?? 5000));
  const before = (o.now ?? Date.now()) - 3_600_000;
  let n = 0;
  for (;;) {
    if (o.until !== undefined && Date.now() > o.until) return n;
    const r = await db.query(
      `DELETE FROM rate_limits WHERE key IN (SELECT key FROM rate_limits WHERE expire < $1 LIMIT $2)`,
      [before, batch],
    );
    n += r.rowCount;
    if (r.rowCount < batch) return n;
  }
}

/**
 * Drops the company-change log rows (migration 029) that are not their portal's newest, `batch`
 * per statement. Only this deletes there (the triggers
 * only insert), so it never waits for a writer; a count's kept company set whose fingerprint a
 * prune changes is read again once.
 */
export async function pruneCompanyChanges(db: Db, o: { batch?: number; until?: number } = {}): Promise<number> {
  const batch = Math.max(1, Math.floor(o.batch ?? 5000));
  let n = 0;
  for (;;) {
    if (o.until !== undefined && Date.now() > o.until) return n;
    const r = await db.query(
      `DELETE FROM company_changes WHERE (portal_id, v) IN (
         SELECT c.portal_id, c.v FROM company_changes c
          WHERE EXISTS (SELECT 1 FROM company_changes d WHERE d.portal_id = c.portal_id AND d.v > c.v)
          LIMIT $1)`,
      [batch],
    );
    n += r.rowCount;
    if (r.rowCount < batch) return n;
  }
}
