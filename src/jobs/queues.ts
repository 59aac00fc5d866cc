/**
 * The job queues: names, what a job carries, and sending jobs with their debounce / dedupe
 * keys (one job = one portal). Re-exported by ./workers.ts.
 */
import type PgBoss from 'pg-boss';
import type { Db } from '../store/db.js';

export const QUEUES = {
  events: 'b24seg-events',
  sync: 'b24seg-sync',
  score: 'b24seg-score',
  writeback: 'b24seg-writeback',
  reconcile: 'b24seg-reconcile',
  poll: 'b24seg-poll',
  housekeeping: 'b24seg-housekeeping',
} as const;
/** Queues whose jobs are not about one portal. */
export const CLUSTER_QUEUES = [QUEUES.poll, QUEUES.housekeeping] as const;
export type PortalQueue = Exclude<keyof typeof QUEUES, 'poll' | 'housekeeping'>;

export interface PortalJobData {
  portalId: number;
  kind?: 'full' | 'incremental' | 'auto';
  chain?: boolean;
}

export interface JobLog {
  debug(msg: string, f?: Record<string, unknown>): void;
  info(msg: string, f?: Record<string, unknown>): void;
  warn(msg: string, f?: Record<string, unknown>): void;
  error(msg: string, f?: Record<string, unknown>): void;
}

export const silentLog: JobLog = { debug() {}, info() {}, warn() {}, error() {} };

export interface Enqueue {
  events(portalId: number, opts?: { delaySec?: number }): Promise<string | null>;
  sync(portalId: number, kind?: PortalJobData['kind'], chain?: boolean): Promise<string | null>;
  score(portalId: number, chain?: boolean): Promise<string | null>;
  writeback(portalId: number): Promise<string | null>;
  reconcile(portalId: number, opts?: { dedupeSec?: number }): Promise<string | null>;
}

export type Send = (q: PortalQueue, data: PortalJobData, opts?: PgBoss.SendOptions) => Promise<string | null>;

/** Arbitrary constant for pg_advisory_xact_lock: "b24seg" queue creation (migrations use …001). */
export const QUEUE_LOCK_KEY = 724_240_002;

/** Creates every queue (standard policy, 2 retries with backoff, 6 h expiry) that does not exist. */
async function createQueues(boss: PgBoss): Promise<void> {
  for (const name of Object.values(QUEUES)) {
    if (await boss.getQueue(name)) continue;
    await boss.createQueue(name, { name, policy: 'standard', retryLimit: 2, retryDelay: 10, retryBackoff: true, expireInSeconds: 6 * 3600 });
  }
}

/**
 * Starts pg-boss and creates our queues. pg-boss's create_queue is not safe when two processes
 * create queues at the same moment on one schema, even different ones: each inserts its queue
 * row and then adds a foreign key to the queue table, and two such transactions deadlock
 * (test/integration/jobs-startup.test.ts). boss.start() creates a queue of its own (the cron's
 * `__pgboss__send-it`), so on PostgreSQL the processes start pg-boss and create the queues in
 * turns, under an advisory lock held by a transaction on the app's own pool (pg-boss has its
 * own). PGlite is one process and one connection: no lock (pg-boss shares that connection).
 */
export async function startBoss(boss: PgBoss, db?: Db): Promise<void> {
  const start = async () => {
    await boss.start();
    await createQueues(boss);
  };
  if (db?.kind !== 'postgres') return start();
  await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [QUEUE_LOCK_KEY]);
    await start();
  });
}

/**
 * Senders. An event job is debounced (`singletonKey` = portal for `debounceSec`, starting after
 * it); sync / score / write-back jobs of a portal are deduplicated for 10 s, reconcile for an hour.
 */
export function senders(boss: PgBoss, debounceSec: number): { send: Send; enqueue: Enqueue } {
  const send: Send = (q, data, opts = {}) => boss.send(QUEUES[q], data, opts);
  const enqueue: Enqueue = {
    events: (portalId, opts) =>
      send('events', { portalId }, { singletonKey: String(portalId), singletonSeconds: debounceSec, startAfter: opts?.delaySec ?? debounceSec }),
    sync: (portalId, kind = 'auto', chain = true) => send('sync', { portalId, kind, chain }, { singletonKey: `sync:${portalId}`, singletonSeconds: 10 }),
    score: (portalId, chain = true) => send('score', { portalId, chain }, { singletonKey: `score:${portalId}`, singletonSeconds: 10 }),
    writeback: (portalId) => send('writeback', { portalId }, { singletonKey: `wb:${portalId}`, singletonSeconds: 10 }),
    reconcile: (portalId, opts) =>
      send('reconcile', { portalId, kind: 'auto' }, { singletonKey: `reconcile:${portalId}`, singletonSeconds: opts?.dedupeSec ?? 3600 }),
  };
  return { send, enqueue };
}
