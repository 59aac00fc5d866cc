/**
 * Job queues and workers (pg-boss 10 on the store's database: PGlite by default, PostgreSQL
 * with DATABASE_URL; `pgBossOptions(db)` picks the connection).
 *
 *   const workers = await startWorkers({ db, clientFor: (id) => clientForPortal(db, id, opts), log });
 *   startApp({ events: workers.sink, ... })       // POST /events → durable inbox + event job
 *   await workers.enqueue.reconcile(portalId)      // "sync now" button, first install
 *   await workers.stop()
 *
 * Queues (one job = one portal):
 *   b24seg-events      process the portal's CRM event inbox (re-fetch, rescore, automation, write-back)
 *   b24seg-sync        runSync (kind in data); `chain` → score
 *   b24seg-score       runScoring + automation; `chain` → writeback
 *   b24seg-writeback   runWriteBack
 *   b24seg-reconcile   sync(auto) → score → automation → write-back in one run (nightly, node-cron)
 *   b24seg-poll        every minute (pg-boss schedule: one per cluster): poll every active
 *                      portal's offline event queue into the inbox; queue event jobs for portals
 *                      with inbox rows
 *   b24seg-housekeeping nightly (pg-boss schedule: one per cluster): prune score runs, the
 *                      inbox, rate-limit counters (./housekeeping.ts); pg-boss's own job
 *                      history is pruned by its maintenance (`bossRetention`)
 *
 * One run per portal at a time: every portal job first takes the portal's lease (./lock.ts),
 * whichever queue it came from; a job that finds the portal busy re-queues itself a few seconds
 * later and completes. pg-boss hands each job to exactly one worker (FOR UPDATE SKIP LOCKED),
 * so several processes on one PostgreSQL share the work and nothing runs twice.
 *
 * Debounce: an event job is sent with `singletonKey = portal`, `singletonSeconds = debounceSec`
 * and `startAfter = debounceSec`: the first event of a window creates the job, the rest of the
 * window only coalesces into the inbox, and the job starts after the window closed. A deal
 * change is therefore processed within ~debounceSec + processing time (default 30 s).
 *
 * A dead refresh token (PortalNeedsReauthError / DeadRefreshTokenError) marks the portal
 * needs_reauth and completes the job: no retry loop; jobs of non-active portals are skipped.
 * Other errors fail the job; pg-boss retries it (retryLimit 2, backoff).
 *
 * Here: startWorkers (pg-boss, workers, poll, schedules, idle/stop). Beside it: ./queues.ts
 * (queue names, job data, sending with debounce / dedupe keys), ./processors.ts (what each
 * queue does), ./portal-job.ts (one job: lease, busy re-queue, chaining, re-authorization),
 * ./inbox-sink.ts (online events grouped into inbox writes).
 */
import { randomUUID } from 'node:crypto';
import PgBoss from 'pg-boss';
import type { B24Client } from '../b24/client.js';
import type { CrmEventSink } from '../b24/crm-events.js';
import type { Db } from '../store/db.js';
import { pgBossOptions } from '../store/db.js';
import { listPortals } from '../store/portals.js';
import { portalsWithInbox } from '../events/inbox.js';
import { pollOfflineEvents } from '../events/offline.js';
import { InboxSink } from './inbox-sink.js';
import { DEFAULT_HOUSEKEEPING, bossRetention, registerHousekeeping, type HousekeepingOptions } from './housekeeping.js';
import type { PortalLease } from './lock.js';
import { OrphanSweep } from './orphans.js';
import { isReauth, markReauth, runPortalJob, type PortalJobEnv } from './portal-job.js';
import { defaultProcessors, type Processors } from './processors.js';
import { CLUSTER_QUEUES, QUEUES, senders, startBoss, silentLog, type Enqueue, type JobLog, type PortalJobData, type PortalQueue } from './queues.js';
import { PortalSchedules } from './schedules.js';

export * from './queues.js';
export * from './processors.js';
export * from './housekeeping.js';

export interface StartWorkersOptions {
  db: Db;
  /** The portal's B24Client: `(id) => clientForPortal(db, id, {clientId, clientSecret, limiter})`. */
  clientFor: (portalId: number) => B24Client;
  log?: JobLog;
  /** false: only send jobs (a web-only process); default true */
  work?: boolean;
  /** event debounce window, seconds (default 30) */
  debounceSec?: number;
  /** pg-boss fetch polling, seconds (default 2; min 0.5) */
  pollingIntervalSeconds?: number;
  /** workers per queue in this process (default 2) */
  concurrency?: number;
  /** offline-event poll cron (pg-boss schedule; default every minute; null = off) */
  offlinePollCron?: string | null;
  /** node-cron nightly schedules per portal (default true) */
  schedules?: boolean;
  /** delay before a job that found its portal busy runs again, seconds (default 5) */
  busyRetrySec?: number;
  lockTtlSec?: number;
  /** pg-boss schema (default 'pgboss') */
  schema?: string;
  /** replace processors (tests) */
  processors?: Partial<Processors>;
  /** label of this process in locks and logs */
  workerId?: string;
  /** the sink groups online events arriving within this many ms into one insert (default 50) */
  sinkFlushMs?: number;
  /**
   * Seconds between sweeps for jobs of dead workers (./orphans.ts; default half the lease ttl,
   * at most 60; null = off).
   */
  orphanSweepSec?: number | null;
  /** retention and the nightly housekeeping (./housekeeping.ts; default DEFAULT_HOUSEKEEPING) */
  housekeeping?: Partial<HousekeepingOptions>;
}

export interface StopOptions {
  /**
   * How long running jobs may take to finish, ms (default 30 000). Then they are handed back:
   * failed in pg-boss (it retries them elsewhere), their signal aborted and their portal leases
   * released. The caller should exit the process soon after.
   */
  timeoutMs?: number;
}

export interface Workers {
  boss: PgBoss;
  workerId: string;
  /** The server's CRM event sink: durable inbox + debounced event job. */
  sink: CrmEventSink;
  enqueue: Enqueue;
  /** One offline poll round over every active portal, now (the minute schedule does the same). */
  pollNow(): Promise<{ portals: number; queued: number; errors: number }>;
  schedules: PortalSchedules | null;
  /** Waits until every queue of this process is idle (tests, demo). */
  idle(timeoutMs?: number): Promise<void>;
  /** Portal jobs running in this process now. */
  running(): number;
  /** One sweep for orphaned jobs now (the workers sweep by themselves; tests). */
  sweepOrphans(): Promise<string[]>;
  /** Graceful stop: no new jobs; running ones finish within the timeout or are handed back. */
  stop(o?: StopOptions): Promise<void>;
}

export async function startWorkers(o: StartWorkersOptions): Promise<Workers> {
  const { db } = o;
  const log = o.log ?? silentLog;
  const workerId = o.workerId ?? `w-${process.pid}-${randomUUID().slice(0, 8)}`;
  const debounceSec = Math.max(1, Math.round(o.debounceSec ?? 30));
  const processors: Processors = { ...defaultProcessors, ...o.processors };
  const housekeeping: HousekeepingOptions = { ...DEFAULT_HOUSEKEEPING, ...o.housekeeping };
  const boss = new PgBoss({
    ...pgBossOptions(db),
    ...bossRetention(housekeeping),
    schema: o.schema ?? 'pgboss',
    // PGlite: one in-process connection; keep pg-boss's own maintenance light
    ...(db.kind === 'pglite' ? { max: 1 } : { max: 4 }),
  });
  boss.on('error', (e) => log.warn('jobs: pg-boss error', { error: (e as Error).message }));
  await startBoss(boss, db);
  const { send, enqueue } = senders(boss, debounceSec);
  const sink = new InboxSink(db, (portalId) => enqueue.events(portalId), o.sinkFlushMs ?? 50);
  const pollNow = () => pollAllPortals(db, o.clientFor, enqueue, log);

  const active = new Set<Promise<unknown>>();
  const runningIds = new Set<string>();
  const leases = new Set<PortalLease>();
  const stopAc = new AbortController();
  let stopping = false;
  const lockTtlSec = o.lockTtlSec ?? 120;
  const env: PortalJobEnv = {
    db, processors, clientFor: o.clientFor, send, enqueue, log, workerId, lockTtlSec,
    busyRetrySec: Math.max(1, o.busyRetrySec ?? 5), stopping: () => stopping, stopSignal: stopAc.signal, leases,
  };
  const schema = o.schema ?? 'pgboss';
  const orphans = new OrphanSweep({
    db, boss, schema, queues: Object.values(QUEUES).filter((q) => !(CLUSTER_QUEUES as readonly string[]).includes(q)), running: () => runningIds, graceSec: lockTtlSec, log,
  });
  let schedules: PortalSchedules | null = null;
  let sweepTimer: NodeJS.Timeout | null = null;
  if (o.work !== false) {
    const run = async (q: PortalQueue, job: PgBoss.Job<PortalJobData>) => {
      runningIds.add(job.id);
      try {
        return await runPortalJob(env, q, job);
      } finally {
        runningIds.delete(job.id);
      }
    };
    await registerWorkers(boss, o, Object.keys(processors) as PortalQueue[], active, run, pollNow);
    await registerHousekeeping(boss, db, housekeeping, log, Math.max(0.5, o.pollingIntervalSeconds ?? 2));
    if (o.schedules !== false) {
      schedules = new PortalSchedules(db, async (portalId) => {
        await enqueue.reconcile(portalId);
      }, (m, f) => log.warn(m, f));
      await schedules.start();
    }
    const sweepSec = o.orphanSweepSec === undefined ? Math.min(60, Math.max(1, lockTtlSec / 2)) : o.orphanSweepSec;
    if (sweepSec !== null) {
      sweepTimer = setInterval(() => void orphans.sweep().catch((e: unknown) => log.warn('jobs: orphan sweep failed', { error: (e as Error).message })), sweepSec * 1000);
      sweepTimer.unref();
    }
  }

  return {
    boss, workerId, sink, enqueue, pollNow, schedules,
    idle: (timeoutMs = 60_000) => waitIdle(db, schema, active, timeoutMs),
    running: () => active.size,
    sweepOrphans: () => orphans.sweep(),
    async stop(so: StopOptions = {}) {
      if (stopping) return;
      stopping = true;
      if (sweepTimer) clearInterval(sweepTimer);
      await sink.close();
      await schedules?.stop();
      // pg-boss stops fetching, waits for the running jobs up to the timeout, then fails the
      // ones still running (handed back: pg-boss retries them, on another worker)
      await boss.stop({ graceful: true, wait: true, timeout: so.timeoutMs ?? 30_000 });
      if (active.size > 0) await handBack(log, stopAc, active, leases);
    },
  };
}

/** Jobs still running after the stop's timeout: abort them, give them a moment, release their leases. */
async function handBack(log: JobLog, stopAc: AbortController, active: Set<Promise<unknown>>, leases: Set<PortalLease>): Promise<void> {
  log.warn('jobs: stop timed out; handing the running jobs back', { running: active.size });
  stopAc.abort(new Error('worker stopping: job handed back'));
  await Promise.race([Promise.allSettled([...active]), new Promise((r) => setTimeout(r, 2_000).unref())]);
  for (const l of [...leases]) await l.release().catch(() => {});
  leases.clear();
}

/** Polls every active portal's offline event queue into its inbox, then queues event jobs for portals with inbox rows. */
async function pollAllPortals(db: Db, clientFor: (portalId: number) => B24Client, enqueue: Enqueue, log: JobLog) {
  const out = { portals: 0, queued: 0, errors: 0 };
  for (const p of await listPortals(db, { status: 'active' })) {
    out.portals++;
    try {
      const r = await pollOfflineEvents(db, p.id, clientFor(p.id));
      out.queued += r.queued;
    } catch (e) {
      out.errors++;
      if (isReauth(e)) await markReauth(db, log, p.id, e);
      else log.warn('events: offline poll failed', { portalId: p.id, error: (e as Error).message });
    }
  }
  for (const portalId of await portalsWithInbox(db)) await enqueue.events(portalId, { delaySec: 1 });
  return out;
}

/**
 * `concurrency` workers per portal queue (each job tracked in `active` while it runs), the poll
 * worker, and the poll schedule (pg-boss: one per cluster) or its removal.
 */
async function registerWorkers(
  boss: PgBoss,
  o: StartWorkersOptions,
  queues: readonly PortalQueue[],
  active: Set<Promise<unknown>>,
  run: (q: PortalQueue, job: PgBoss.Job<PortalJobData>) => Promise<unknown>,
  pollNow: () => Promise<unknown>,
): Promise<void> {
  const pollingIntervalSeconds = Math.max(0.5, o.pollingIntervalSeconds ?? 2);
  for (const q of queues) {
    for (let i = 0; i < Math.max(1, o.concurrency ?? 2); i++) {
      await boss.work<PortalJobData>(QUEUES[q], { batchSize: 1, pollingIntervalSeconds }, async (jobs) => {
        const out: unknown[] = [];
        for (const job of jobs) {
          const pr = run(q, job);
          active.add(pr);
          try {
            out.push(await pr);
          } finally {
            active.delete(pr);
          }
        }
        return out.length === 1 ? out[0] : out;
      });
    }
  }
  await boss.work(QUEUES.poll, { batchSize: 1, pollingIntervalSeconds: Math.max(pollingIntervalSeconds, 5) }, async () => pollNow());
  if (o.offlinePollCron !== null) await boss.schedule(QUEUES.poll, o.offlinePollCron ?? '* * * * *', {}, { singletonKey: 'poll' });
  else await boss.unschedule(QUEUES.poll).catch(() => {});
}

/** Until no portal job is pending in the store's queues and none runs in this process. */
async function waitIdle(db: Db, schema: string, active: ReadonlySet<Promise<unknown>>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${schema}.job WHERE name = ANY($1::text[]) AND state IN ('created', 'retry', 'active')`,
      [Object.values(QUEUES).filter((q) => !(CLUSTER_QUEUES as readonly string[]).includes(q))],
    );
    if ((rows[0]?.n ?? 0) === 0 && active.size === 0) return;
    if (Date.now() > until) throw new Error(`jobs: not idle after ${timeoutMs} ms (${rows[0]?.n} jobs pending)`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
