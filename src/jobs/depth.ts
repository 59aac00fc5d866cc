/** How many jobs wait and run per queue (pg-boss getQueueSize), for the metrics. */
import type PgBoss from 'pg-boss';
import { QUEUES } from './queues.js';

export interface QueueDepthRow {
  queue: string;
  state: 'queued' | 'active';
  jobs: number;
}

/** Per queue: queued = created or waiting for a retry; active = being processed. */
export async function queueDepth(boss: PgBoss): Promise<QueueDepthRow[]> {
  const out: QueueDepthRow[] = [];
  for (const queue of Object.values(QUEUES)) {
    const queued = await boss.getQueueSize(queue);
    const open = await boss.getQueueSize(queue, { before: 'completed' });
    out.push({ queue, state: 'queued', jobs: queued }, { queue, state: 'active', jobs: Math.max(0, open - queued) });
  }
  return out;
}
