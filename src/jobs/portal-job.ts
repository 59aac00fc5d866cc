/**
 * One portal job, whichever queue it came from: skipped for a portal that is not active; run
 * under the portal's lease (./lock.ts) — a portal busy with another run gets the job re-queued a
 * few seconds later, unchanged; `chain` sends the next queue's job (sync → score → writeback).
 * A dead refresh token marks the portal needs_reauth and completes the job; other errors fail
 * it (pg-boss retries). An event run that leaves inbox rows queues the next window.
 */
import type PgBoss from 'pg-boss';
import type { B24Client } from '../b24/client.js';
import { DeadRefreshTokenError } from '../b24/errors.js';
import type { Db } from '../store/db.js';
import { getPortal, setPortalStatus } from '../store/portals.js';
import { inboxSize } from '../events/inbox.js';
import { tryLockPortal, type PortalLease } from './lock.js';
import type { Processors } from './processors.js';
import type { Enqueue, JobLog, PortalJobData, PortalQueue, Send } from './queues.js';

export function isReauth(e: unknown): boolean {
  return e instanceof DeadRefreshTokenError || (e as { name?: string } | null)?.name === 'PortalNeedsReauthError';
}

/** The portal's jobs stop until the app is installed again (needs_reauth: the refresh token is dead). */
export async function markReauth(db: Db, log: JobLog, portalId: number, e: unknown): Promise<void> {
  const p = await getPortal(db, portalId);
  if (p && p.status === 'active') await setPortalStatus(db, portalId, 'needs_reauth');
  log.warn('jobs: portal needs re-authorization; its jobs stop until the app is installed again', { portalId, error: (e as Error).message });
}

export interface PortalJobEnv {
  db: Db;
  processors: Processors;
  clientFor: (portalId: number) => B24Client;
  send: Send;
  enqueue: Enqueue;
  log: JobLog;
  workerId: string;
  lockTtlSec?: number;
  busyRetrySec: number;
  /** The workers are stopping: no follow-up event job. */
  stopping: () => boolean;
  /** Aborted when a graceful stop runs out of time: the jobs are handed back. */
  stopSignal: AbortSignal;
  /** The leases this process holds now (a stop that hands jobs back releases them). */
  leases: Set<PortalLease>;
}

export async function runPortalJob(env: PortalJobEnv, q: PortalQueue, job: PgBoss.Job<PortalJobData>): Promise<unknown> {
  const { db, enqueue, log } = env;
  const data = job.data;
  const portalId = Number(data?.portalId);
  const portal = Number.isSafeInteger(portalId) ? await getPortal(db, portalId) : null;
  if (!portal || portal.status !== 'active') return { skipped: portal ? portal.status : 'no such portal' };
  const lease = await tryLockPortal(db, portalId, q, { ttlSec: env.lockTtlSec, holder: env.workerId, jobId: job.id });
  if (!lease) {
    // busy with another run: come back later (the event job's window dedupes itself)
    const again = q === 'events'
      ? await enqueue.events(portalId, { delaySec: env.busyRetrySec })
      : await env.send(q, data, { startAfter: env.busyRetrySec }); // the same job again, unchanged: nothing is dropped
    log.debug('jobs: portal busy, re-queued', { queue: q, portalId, again });
    return { deferred: true };
  }
  env.leases.add(lease);
  const t0 = Date.now();
  let client: B24Client | null = null;
  try {
    const out = await env.processors[q]({
      db, portalId, data, workerId: env.workerId, jobId: job.id, log, signal: AbortSignal.any([lease.signal, env.stopSignal]),
      leaseTtlSec: env.lockTtlSec ?? 120,
      client: () => (client ??= env.clientFor(portalId)),
    });
    log.info('jobs: done', { queue: q, portalId, ms: Date.now() - t0 });
    if (data.chain && q === 'sync') await enqueue.score(portalId, true);
    if (data.chain && q === 'score') await enqueue.writeback(portalId);
    return out ?? null;
  } catch (e) {
    if (isReauth(e)) {
      await markReauth(db, log, portalId, e);
      return { needsReauth: true };
    }
    log.error('jobs: failed', { queue: q, portalId, error: (e as Error).message });
    throw e;
  } finally {
    env.leases.delete(lease);
    await lease.release().catch(() => {});
    if (q === 'events' && !env.stopping()) {
      // leftovers (page limit, or rows added while this run was busy): next window
      if ((await inboxSize(db, portalId).catch(() => 0)) > 0) await enqueue.events(portalId).catch(() => null);
    }
  }
}
