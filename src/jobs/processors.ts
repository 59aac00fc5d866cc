/**
 * What each portal queue does (re-exported by ./workers.ts): the default processors and the
 * context a job runs with (the portal's lease signal, its client on first use).
 */
import type { B24Client } from '../b24/client.js';
import type { Db } from '../store/db.js';
import { runSync } from '../sync/index.js';
import { runScoring } from '../pipeline/score.js';
import { runWriteBack } from '../writeback/write.js';
import { runAutomation } from '../automation/engine.js';
import { runDueSteps } from '../campaigns/index.js';
import { processInbox } from '../events/process.js';
import type { JobLog, PortalJobData, PortalQueue } from './queues.js';

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
    // campaigns after scoring: due steps, with the store as fresh as this run
    const c = await runDueSteps(ctx.db, ctx.client(), ctx.portalId, new Date());
    return { scoring: s, automation: a, campaigns: c };
  },
  async writeback(ctx) {
    return runWriteBack(ctx.db, ctx.portalId, ctx.client());
  },
  async reconcile(ctx) {
    const sync = await runSync({ db: ctx.db, portalId: ctx.portalId, client: ctx.client(), signal: ctx.signal }, { kind: ctx.data.kind ?? 'auto' });
    const scoring = await runScoring(ctx.db, ctx.portalId);
    const automation = await runAutomation(ctx.db, ctx.portalId, ctx.client());
    const campaigns = await runDueSteps(ctx.db, ctx.client(), ctx.portalId, new Date());
    const writeBack = await runWriteBack(ctx.db, ctx.portalId, ctx.client());
    return {
      sync: { runId: sync.runId, kind: sync.kind, counts: sync.counts, deleted: sync.deleted },
      scoring: { runId: scoring.runId, contacts: scoring.contacts, segmentChanges: scoring.segmentChanges },
      automation: { firingsCreated: automation.evaluate.firingsCreated, ...automation.firings },
      writeBack: { written: writeBack.written, failed: writeBack.failed },
      campaigns: { planned: campaigns.planned, done: campaigns.done, failed: campaigns.failed, unknown: campaigns.unknown, fields: campaigns.fields.written },
    };
  },
};
