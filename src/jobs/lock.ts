/**
 * One run per portal at a time, across every process on the database: a lease row in
 * `portal_locks` (004). Taking it is one atomic upsert that succeeds only when no row exists
 * or the existing lease has expired; the holder renews it (heartbeat) while it runs and
 * deletes it at the end. A process that dies leaves a lease that expires after `ttlSec`, so
 * the portal is free again without manual cleanup. Works the same on PGlite and PostgreSQL
 * (no session-scoped advisory locks, which a pg Pool cannot hold across statements).
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../store/db.js';

export interface PortalLease {
  portalId: number;
  holder: string;
  kind: string;
  /** Aborted when a heartbeat finds the lease taken over (or gone): stop writing. */
  signal: AbortSignal;
  release(): Promise<void>;
}

export interface LockOptions {
  /** Lease length; renewed every ttl/3 (default 120 s). */
  ttlSec?: number;
  /** Label of the holder for logs/UI (default random). */
  holder?: string;
  /** The pg-boss job the lease is taken for: the orphan sweep (./orphans.ts) looks for it. */
  jobId?: string;
}

export async function tryLockPortal(db: Db, portalId: number, kind: string, o: LockOptions = {}): Promise<PortalLease | null> {
  const ttl = o.ttlSec ?? 120;
  const holder = `${o.holder ?? 'run'}:${randomUUID()}`;
  const { rows } = await db.query<{ holder: string }>(
    `INSERT INTO portal_locks (portal_id, holder, kind, acquired_at, expires_at, job_id)
     VALUES ($1, $2, $3, now(), now() + make_interval(secs => $4), $5)
     ON CONFLICT (portal_id) DO UPDATE
       SET holder = EXCLUDED.holder, kind = EXCLUDED.kind, acquired_at = EXCLUDED.acquired_at, expires_at = EXCLUDED.expires_at,
           job_id = EXCLUDED.job_id
       WHERE portal_locks.expires_at < now()
     RETURNING holder`,
    [portalId, holder, kind, ttl, o.jobId ?? null],
  );
  if (rows[0]?.holder !== holder) return null;
  const ac = new AbortController();
  let released = false;
  const beat = setInterval(() => {
    void db
      .query(`UPDATE portal_locks SET expires_at = now() + make_interval(secs => $3) WHERE portal_id = $1 AND holder = $2`, [portalId, holder, ttl])
      .then((r) => {
        if (r.rowCount === 0 && !released) ac.abort(new Error(`portal ${portalId}: lease lost`));
      })
      .catch(() => {
        /* transient: the next beat retries; the lease outlives two missed beats */
      });
  }, Math.max(50, (ttl * 1000) / 3));
  beat.unref();
  return {
    portalId,
    holder,
    kind,
    signal: ac.signal,
    async release() {
      if (released) return;
      released = true;
      clearInterval(beat);
      await db.query(`DELETE FROM portal_locks WHERE portal_id = $1 AND holder = $2`, [portalId, holder]);
    },
  };
}

/** Who holds the portal now (null = free). */
export async function portalLockHolder(db: Db, portalId: number): Promise<{ holder: string; kind: string; expiresAt: Date } | null> {
  const { rows } = await db.query<{ holder: string; kind: string; expiresAt: Date }>(
    `SELECT holder, kind, expires_at AS "expiresAt" FROM portal_locks WHERE portal_id = $1 AND expires_at >= now()`,
    [portalId],
  );
  return rows[0] ?? null;
}
