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
 */
import { randomUUID } from 'node:crypto';
import PgBoss from 'pg-boss';
import type { B24Client } from '../b24/client.js';
import { DeadRefreshTokenError } from '../b24/errors.js';
import type { CrmEventSink } from '../b24/crm-events.js';
import type { Db } from '../store/db.js';
import { pgBossOptions } from '../store/db.js';
import { getPortal, listPortals, setPortalStatus } from '../store/portals.js';
import { runSync } from '../sync/index.js';
import { runScoring } from '../pipeline/score.js';
import { runWriteBack } from '../writeback/write.js';
import { runAutomation } from '../automation/engine.js';
import { addToInbox, inboxSize, parseCrmEvent, portalsWithInbox, type InboxItem } from '../events/inbox.js';
import { pollOfflineEvents } from '../events/offline.js';
import { processInbox } from '../events/process.js';
import { tryLockPortal } from './lock.js';
import { PortalSchedules } from './schedules.js';

export const QUEUES = {
  events: 'b24seg-events',
  sync: 'b24seg-sync',
  score: 'b24seg-score',
  writeback: 'b24seg-writeback',
  reconcile: 'b24seg-reconcile',
  poll: 'b24seg-poll',
} as const;
export type PortalQueue = Exclude<keyof typeof QUEUES, 'poll'>;

export interface JobLog {
  debug(msg: string, f?: Record<string, unknown>): void;
  info(msg: string, f?: Record<string, unknown>): void;
  warn(msg: string, f?: Record<string, unknown>): void;
  error(msg: string, f?: Record<string, unknown>): void;
}

const silent: JobLog = { debug() {}, info() {}, warn() {}, error() {} };

export interface PortalJobData {
  portalId: number;
  kind?: 'full' | 'incremental' | 'auto';
  chain?: boolean;
}

export interface JobContext {
  db: Db;
  portalId: number;
  data: PortalJobData;
  /** The portal's client (created on first use). */
  client(): B24Client;
  /** Aborted when the portal lease is lost. */
  signal: AbortSignal;
  log: JobLog;
  workerId: string;
  jobId: string;
}

export type Processor = (ctx: JobContext) => Promise<unknown>;
export type Processors = Record<PortalQueue, Processor>;

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
}

export interface Workers {
  boss: PgBoss;
  workerId: string;
  /** The server's CRM event sink: durable inbox + debounced event job. */
  sink: CrmEventSink;
  enqueue: {
    events(portalId: number, opts?: { delaySec?: number }): Promise<string | null>;
    sync(portalId: number, kind?: PortalJobData['kind'], chain?: boolean): Promise<string | null>;
    score(portalId: number, chain?: boolean): Promise<string | null>;
    writeback(portalId: number): Promise<string | null>;
    reconcile(portalId: number, opts?: { dedupeSec?: number }): Promise<string | null>;
  };
  /** One offline poll round over every active portal, now (the minute schedule does the same). */
  pollNow(): Promise<{ portals: number; queued: number; errors: number }>;
  schedules: PortalSchedules | null;
  /** Waits until every queue of this process is idle (tests, demo). */
  idle(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

function isReauth(e: unknown): boolean {
  return e instanceof DeadRefreshTokenError || (e as { name?: string } | null)?.name === 'PortalNeedsReauthError';
}

export const defaultProcessors: Processors = {
  async events(ctx) {
    return processInbox(ctx.db, ctx.portalId, ctx.client(), { signal: ctx.signal });
  },
  async sync(ctx) {
    return runSync({ db: ctx.db, portalId: ctx.portalId, client: ctx.client(), signal: ctx.signal }, { kind: ctx.data.kind ?? 'auto' });
  },
  async score(ctx) {
    const s = await runScoring(ctx.db, ctx.portalId);
    const a = await runAutomation(ctx.db, ctx.portalId, ctx.client());
    return { scoring: s, automation: a };
  },
  async writeback(ctx) {
    return runWriteBack(ctx.db, ctx.portalId, ctx.client());
  },
  async reconcile(ctx) {
    const sync = await runSync({ db: ctx.db, portalId: ctx.portalId, client: ctx.client(), signal: ctx.signal }, { kind: ctx.data.kind ?? 'auto' });
    const scoring = await runScoring(ctx.db, ctx.portalId);
    const automation = await runAutomation(ctx.db, ctx.portalId, ctx.client());
    const writeBack = await runWriteBack(ctx.db, ctx.portalId, ctx.client());
    return {
      sync: { runId: sync.runId, kind: sync.kind, counts: sync.counts, deleted: sync.deleted },
      scoring: { runId: scoring.runId, contacts: scoring.contacts, segmentChanges: scoring.segmentChanges },
      automation: { firingsCreated: automation.evaluate.firingsCreated, ...automation.firings },
      writeBack: { written: writeBack.written, failed: writeBack.failed },
    };
  },
};

export async function startWorkers(o: StartWorkersOptions): Promise<Workers> {
  const { db } = o;
  const log = o.log ?? silent;
  const workerId = o.workerId ?? `w-${process.pid}-${randomUUID().slice(0, 8)}`;
  const debounceSec = Math.max(1, Math.round(o.debounceSec ?? 30));
  const busyRetrySec = Math.max(1, o.busyRetrySec ?? 5);
  const processors: Processors = { ...defaultProcessors, ...o.processors };
  const boss = new PgBoss({
    ...pgBossOptions(db),
    schema: o.schema ?? 'pgboss',
    // PGlite: one in-process connection; keep pg-boss's own maintenance light
    ...(db.kind === 'pglite' ? { max: 1 } : { max: 4 }),
  });
  boss.on('error', (e) => log.warn('jobs: pg-boss error', { error: (e as Error).message }));
  await boss.start();
  for (const name of Object.values(QUEUES)) {
    await boss.createQueue(name, { name, policy: 'standard', retryLimit: 2, retryDelay: 10, retryBackoff: true, expireInSeconds: 6 * 3600 });
  }

  const send = (q: PortalQueue, data: PortalJobData, opts: PgBoss.SendOptions = {}) => boss.send(QUEUES[q], data, opts);
  const enqueue: Workers['enqueue'] = {
    events: (portalId, opts) =>
      send('events', { portalId }, { singletonKey: String(portalId), singletonSeconds: debounceSec, startAfter: opts?.delaySec ?? debounceSec }),
    sync: (portalId, kind = 'auto', chain = true) => send('sync', { portalId, kind, chain }, { singletonKey: `sync:${portalId}`, singletonSeconds: 10 }),
    score: (portalId, chain = true) => send('score', { portalId, chain }, { singletonKey: `score:${portalId}`, singletonSeconds: 10 }),
    writeback: (portalId) => send('writeback', { portalId }, { singletonKey: `wb:${portalId}`, singletonSeconds: 10 }),
    reconcile: (portalId, opts) =>
      send('reconcile', { portalId, kind: 'auto' }, { singletonKey: `reconcile:${portalId}`, singletonSeconds: opts?.dedupeSec ?? 3600 }),
  };

  // The sink groups what arrives within `sinkFlushMs` into one inbox insert and one job send
  // per portal: a storm of online events costs a few statements, not two per event. The
  // handler's promise resolves once its event is durable (so POST /events answers 200 only
  // after the inbox has it).
  const sinkFlushMs = o.sinkFlushMs ?? 50;
  const pending = new Map<number, { items: InboxItem[]; waiters: Array<{ resolve(): void; reject(e: unknown): void }> }>();
  let flushTimer: NodeJS.Timeout | null = null;
  const flush = async (): Promise<void> => {
    flushTimer = null;
    const batch = [...pending.entries()];
    pending.clear();
    await Promise.all(batch.map(async ([portalId, b]) => {
      try {
        await addToInbox(db, portalId, b.items, 'online');
        await enqueue.events(portalId);
        for (const w of b.waiters) w.resolve();
      } catch (e) {
        for (const w of b.waiters) w.reject(e);
      }
    }));
  };
  const sink: CrmEventSink = {
    enqueueCrmEvent(portalId, event, id) {
      const p = parseCrmEvent(event);
      if (!p) return;
      return new Promise<void>((resolve, reject) => {
        let b = pending.get(portalId);
        if (!b) pending.set(portalId, (b = { items: [], waiters: [] }));
        b.items.push({ ...p, id });
        b.waiters.push({ resolve, reject });
        if (b.items.length >= 1000) {
          if (flushTimer) clearTimeout(flushTimer);
          void flush();
        } else flushTimer ??= setTimeout(() => void flush(), sinkFlushMs);
      });
    },
  };

  const pollNow: Workers['pollNow'] = async () => {
    const out = { portals: 0, queued: 0, errors: 0 };
    for (const p of await listPortals(db, { status: 'active' })) {
      out.portals++;
      try {
        const r = await pollOfflineEvents(db, p.id, o.clientFor(p.id));
        out.queued += r.queued;
      } catch (e) {
        out.errors++;
        if (isReauth(e)) await markReauth(p.id, e);
        else log.warn('events: offline poll failed', { portalId: p.id, error: (e as Error).message });
      }
    }
    for (const portalId of await portalsWithInbox(db)) await enqueue.events(portalId, { delaySec: 1 });
    return out;
  };

  async function markReauth(portalId: number, e: unknown): Promise<void> {
    const p = await getPortal(db, portalId);
    if (p && p.status === 'active') await setPortalStatus(db, portalId, 'needs_reauth');
    log.warn('jobs: portal needs re-authorization; its jobs stop until the app is opened again', { portalId, error: (e as Error).message });
  }

  // ---- workers
  const active = new Set<Promise<unknown>>();
  let stopping = false;
  const runPortalJob = async (q: PortalQueue, job: PgBoss.Job<PortalJobData>): Promise<unknown> => {
    const data = job.data;
    const portalId = Number(data?.portalId);
    const portal = Number.isSafeInteger(portalId) ? await getPortal(db, portalId) : null;
    if (!portal || portal.status !== 'active') return { skipped: portal ? portal.status : 'no such portal' };
    const lease = await tryLockPortal(db, portalId, q, { ttlSec: o.lockTtlSec, holder: workerId });
    if (!lease) {
      // busy with another run: come back later (the event job's window dedupes itself)
      const again = q === 'events'
        ? await enqueue.events(portalId, { delaySec: busyRetrySec })
        : await send(q, data, { startAfter: busyRetrySec }); // the same job again, unchanged: nothing is dropped
      log.debug('jobs: portal busy, re-queued', { queue: q, portalId, again });
      return { deferred: true };
    }
    const t0 = Date.now();
    let client: B24Client | null = null;
    try {
      const out = await processors[q]({
        db, portalId, data, workerId, jobId: job.id, log, signal: lease.signal,
        client: () => (client ??= o.clientFor(portalId)),
      });
      log.info('jobs: done', { queue: q, portalId, ms: Date.now() - t0 });
      if (data.chain && q === 'sync') await enqueue.score(portalId, true);
      if (data.chain && q === 'score') await enqueue.writeback(portalId);
      return out ?? null;
    } catch (e) {
      if (isReauth(e)) {
        await markReauth(portalId, e);
        return { needsReauth: true };
      }
      log.error('jobs: failed', { queue: q, portalId, error: (e as Error).message });
      throw e;
    } finally {
      await lease.release().catch(() => {});
      if (q === 'events' && !stopping) {
        // leftovers (page limit, or rows added while this run was busy): next window
        if ((await inboxSize(db, portalId).catch(() => 0)) > 0) await enqueue.events(portalId).catch(() => null);
      }
    }
  };

  let schedules: PortalSchedules | null = null;
  if (o.work !== false) {
    const pollingIntervalSeconds = Math.max(0.5, o.pollingIntervalSeconds ?? 2);
    for (const q of Object.keys(processors) as PortalQueue[]) {
      for (let i = 0; i < Math.max(1, o.concurrency ?? 2); i++) {
        await boss.work<PortalJobData>(QUEUES[q], { batchSize: 1, pollingIntervalSeconds }, async (jobs) => {
          const out: unknown[] = [];
          for (const job of jobs) {
            const pr = runPortalJob(q, job);
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
    if (o.schedules !== false) {
      schedules = new PortalSchedules(db, async (portalId) => {
        await enqueue.reconcile(portalId);
      }, (m, f) => log.warn(m, f));
      await schedules.start();
    }
  }

  const idle: Workers['idle'] = async (timeoutMs = 60_000) => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const { rows } = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${o.schema ?? 'pgboss'}.job WHERE name = ANY($1::text[]) AND state IN ('created', 'retry', 'active')`,
        [Object.values(QUEUES).filter((q) => q !== QUEUES.poll)],
      );
      if ((rows[0]?.n ?? 0) === 0 && active.size === 0) return;
      if (Date.now() > until) throw new Error(`jobs: not idle after ${timeoutMs} ms (${rows[0]?.n} jobs pending)`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  return {
    boss, workerId, sink, enqueue, pollNow, schedules, idle,
    async stop() {
      stopping = true;
      if (flushTimer) clearTimeout(flushTimer);
      if (pending.size) await flush();
      await schedules?.stop();
      await boss.stop({ graceful: true, wait: true, timeout: 30_000 });
      await Promise.allSettled([...active]);
    },
  };
}
