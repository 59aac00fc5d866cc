/**
 * What operations watch, read from the store (the metrics of src/server/metrics.ts and the
 * readiness check): per active portal the sync lag and the write-back backlog, and whether
 * the schema is up to date. Each is one statement over every active portal, at most `limit`
 * portals (by id), so a scrape costs the same however often it comes.
 */
import type { Db } from './db.js';
import { migrations } from './migrations/index.js';

export interface PortalFigure {
  portalId: number;
  value: number;
}

/**
 * Seconds since the portal's last successful sync finished (a portal never synced yet: since
 * it was installed), for each active portal.
 */
export async function portalSyncLag(db: Db, limit = 10_000): Promise<PortalFigure[]> {
  const { rows } = await db.query<{ portalId: number; value: number }>(
    `SELECT p.id AS "portalId",
            EXTRACT(epoch FROM now() - COALESCE((SELECT max(s.finished_at) FROM sync_runs s
                                                  WHERE s.portal_id = p.id AND s.status = 'done'), p.installed_at))::float8 AS value
       FROM portals p WHERE p.status = 'active' ORDER BY p.id LIMIT $1`,
    [limit],
  );
  return rows.map((r) => ({ portalId: Number(r.portalId), value: Math.max(0, Number(r.value)) }));
}

/**
 * Labels (contacts, and companies with B2B) of each active portal's latest score run that no
 * write-back of that run has handled yet: 0 once a write-back of the run finished; before, the
 * run's labels minus those a (crashed or running) write-back of it already recorded. A label whose
 * fields need no change counts until the run's write-back finishes.
 */
export async function writebackBacklog(db: Db, limit = 10_000): Promise<PortalFigure[]> {
  const { rows } = await db.query<{ portalId: number; value: number }>(
    `WITH latest AS (
       SELECT p.id AS portal_id,
              (SELECT r.id FROM score_runs r WHERE r.portal_id = p.id AND r.status = 'done' ORDER BY r.created_at DESC, r.id DESC LIMIT 1) AS run_id
         FROM portals p WHERE p.status = 'active' ORDER BY p.id LIMIT $1
     ), open AS (
       SELECT l.* FROM latest l
        WHERE l.run_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM writeback_runs w WHERE w.portal_id = l.portal_id AND w.score_run_id = l.run_id AND w.status = 'done')
     )
     SELECT l.portal_id AS "portalId",
            CASE WHEN o.portal_id IS NULL THEN 0 ELSE
              (SELECT count(*) FROM contact_labels c WHERE c.portal_id = o.portal_id AND c.run_id = o.run_id
                  AND NOT EXISTS (SELECT 1 FROM written_values v JOIN writeback_runs w ON w.portal_id = v.portal_id AND w.id = v.run_id
                                   WHERE v.portal_id = c.portal_id AND v.entity = 'contact' AND v.entity_id = c.contact_id AND w.score_run_id = o.run_id))
            + (SELECT count(*) FROM company_labels c WHERE c.portal_id = o.portal_id AND c.run_id = o.run_id
                  AND NOT EXISTS (SELECT 1 FROM written_values v JOIN writeback_runs w ON w.portal_id = v.portal_id AND w.id = v.run_id
                                   WHERE v.portal_id = c.portal_id AND v.entity = 'company' AND v.entity_id = c.company_id AND w.score_run_id = o.run_id))
            END::int AS value
       FROM latest l LEFT JOIN open o ON o.portal_id = l.portal_id
      ORDER BY l.portal_id`,
    [limit],
  );
  return rows.map((r) => ({ portalId: Number(r.portalId), value: Number(r.value) }));
}

/** Versions of this build's migrations the database has not applied (empty: up to date). */
export async function pendingMigrations(db: Db): Promise<number[]> {
  const { rows } = await db.query<{ version: number }>(`SELECT version FROM schema_migrations`);
  const have = new Set(rows.map((r) => Number(r.version)));
  return migrations.map((m) => m.version).filter((v) => !have.has(v));
}
