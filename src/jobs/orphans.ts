/**
 * Orphaned jobs: a worker killed without a word (SIGKILL, OOM, a lost machine) leaves its jobs
 * 'active' in pg-boss, which would hand them out again only after their expiry (hours). Its
 * portal leases (./lock.ts) stop being renewed and run out after `lockTtlSec`, so every worker
 * sweeps: an active job of a portal queue that started more than `graceSec` ago, that no live
 * lease names (portal_locks.job_id, migration 016) and that this process is not running, is an
 * orphan. It is failed (pg-boss retries it after its retry delay, from the sync's checkpoint /
 * the write-back's record of what it wrote) only when two sweeps in a row found it unchanged
 * (same started_on): a job between releasing its lease and being marked completed is not one.
 */
import type PgBoss from 'pg-boss';
import type { Db } from '../store/db.js';
import type { JobLog } from './queues.js';

export interface OrphanSweepOptions {
  db: Db;
  boss: PgBoss;
  schema: string;
  /** queue names to sweep (the portal queues) */
  queues: readonly string[];
  /** ids of the jobs this process runs now */
  running: () => ReadonlySet<string>;
  /** an active job younger than this is never an orphan (default: the lease ttl) */
  graceSec: number;
  log: JobLog;
}

interface Candidate { id: string; name: string; started: string }

export class OrphanSweep {
  private seen = new Map<string, string>();

  constructor(private readonly o: OrphanSweepOptions) {}

  /** One sweep; returns the ids of the jobs handed back. */
  async sweep(): Promise<string[]> {
    const { db, schema, queues, graceSec } = this.o;
    const { rows } = await db.query<Candidate>(
      `SELECT j.id::text AS id, j.name, j.started_on::text AS started FROM ${schema}.job j
        WHERE j.name = ANY($1::text[]) AND j.state = 'active' AND j.started_on < now() - make_interval(secs => $2)
          AND NOT EXISTS (SELECT 1 FROM portal_locks l WHERE l.job_id = j.id::text AND l.expires_at >= now())`,
      [queues, graceSec],
    );
    const mine = this.o.running();
    const found = rows.filter((r) => !mine.has(r.id));
    const orphans = found.filter((r) => this.seen.get(r.id) === r.started);
    this.seen = new Map(found.map((r) => [r.id, r.started]));
    for (const r of orphans) {
      await this.o.boss.fail(r.name, r.id, { message: 'handed back: its worker is gone (no live portal lease)' });
      this.seen.delete(r.id);
      this.o.log.warn('jobs: orphaned job handed back', { queue: r.name, jobId: r.id });
    }
    return orphans.map((r) => r.id);
  }
}
