/**
 * The job queues: names, what a job carries, and sending jobs with their debounce / dedupe
 * keys (one job = one portal). Re-exported by ./workers.ts.
 */
import type PgBoss from 'pg-boss';

export const QUEUES = {
  events: 'b24seg-events',
  sync: 'b24seg-sync',
  score: 'b24seg-score',
  writeback: 'b24seg-writeback',
  reconcile: 'b24seg-reconcile',
  poll: 'b24seg-poll',
} as const;
export type PortalQueue = Exclude<keyof typeof QUEUES, 'poll'>;

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

/**
 * Creates every queue (standard policy, 2 retries with backoff, 6 h expiry). Workers starting
 * together on one PostgreSQL make pg-boss create the queue partitions concurrently, which
 * PostgreSQL may answer with a deadlock (40P01, seen with three workers started at once): the
 * loser waits a moment and tries again.
 */
export async function createQueues(boss: PgBoss): Promise<void> {
  for (const name of Object.values(QUEUES)) {
    for (let attempt = 0; ; attempt++) {
      try {
        await boss.createQueue(name, { name, policy: 'standard', retryLimit: 2, retryDelay: 10, retryBackoff: true, expireInSeconds: 6 * 3600 });
        break;
      } catch (e) {
        if ((e as { code?: string }).code !== '40P01' || attempt >= 8) throw e;
        await new Promise((r) => setTimeout(r, 50 + Math.random() * 150 * (attempt + 1)));
      }
    }
  }
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
