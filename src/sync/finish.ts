/**
 * The end of a run: 'done' with the watermark and the summary of this call, or, after an
 * error, 'interrupted' (aborted: resumable from the checkpoint) or 'failed' with the error.
 */
import type { B24Client } from '../b24/client.js';
import { countCrmRows } from '../store/crm.js';
import { finishSyncRun } from '../store/syncRuns.js';
import type { RunContext } from './context.js';
import { SyncRunLostError } from './errors.js';
import { errorCounts, usageOf, type Usage } from './progress.js';
import type { PulledCounts, SyncProgressView, SyncSummary } from './types.js';

/** What runSync noted when this call started (the summary counts from there). */
export interface CallStart {
  t0: number;
  now: () => Date;
  resumed: boolean;
  startCounters: B24Client['counters'];
  startUsage: Usage;
  onProgress?: (p: SyncProgressView) => void;
}

const ms3 = (sec: number) => Math.round(sec * 1000) / 1000;

/** Calls and operating seconds per method since `start` (methods called at least once). */
function byMethodSince(client: B24Client, start: B24Client['counters']): SyncSummary['byMethod'] {
  return Object.fromEntries(Object.entries(client.counters.byMethod).map(([m, v]) => {
    const s = start.byMethod[m] ?? { calls: 0, operatingSec: 0 };
    return [m, { calls: v.calls - s.calls, operatingSec: ms3(v.operatingSec - s.operatingSec) }];
  }).filter(([, v]) => (v as { calls: number }).calls > 0));
}

export async function finishRun(ctx: RunContext, start: CallStart): Promise<SyncSummary> {
  const { db, portalId, runId, client, progress } = ctx;
  progress.phase = 'done';
  const fin = ctx.cp;
  const { usage, checkpoint: _c, ...prog } = progress.row(fin);
  void _c;
  await finishSyncRun(db, portalId, runId, 'done', { ...prog, phase: 'done', etaSeconds: 0, watermark: new Date(fin.startedAt), checkpoint: fin });
  progress.committedUsage = usage;
  start.onProgress?.(progress.view(fin));
  const u = usageOf(client);
  const counts: PulledCounts = { ...fin.counts };
  return {
    runId, kind: fin.kind, resumed: start.resumed, ...counts, counts,
    deleted: { ...fin.deleted },
    totals: await countCrmRows(db, portalId),
    requests: u.requests - start.startUsage.requests,
    calls: u.calls - start.startUsage.calls,
    operatingSeconds: ms3(u.operating - start.startUsage.operating),
    byMethod: byMethodSince(client, start.startCounters),
    wallSeconds: Math.round((start.now().getTime() - start.t0) / 10) / 100,
    errors: errorCounts(client, start.startCounters),
    watermark: new Date(fin.startedAt).toISOString(),
    ...(fin.purchasePrices ? { purchasePrices: { stored: fin.purchasePrices.stored, skipped: fin.purchasePrices.skipped } } : {}),
  };
}

/** After an error: the run row is closed ('interrupted' when aborted, else 'failed' with the error); a lost run is left alone. */
export async function failRun(ctx: RunContext, err: unknown, aborted: boolean): Promise<void> {
  if (err instanceof SyncRunLostError) return;
  const e = err as { name?: string; code?: string; message?: string };
  await finishSyncRun(ctx.db, ctx.portalId, ctx.runId, aborted ? 'interrupted' : 'failed', {
    appendErrors: aborted ? [] : [{ name: e.name, code: e.code ?? null, message: String(e.message ?? err).slice(0, 500), phase: ctx.progress.phase, at: new Date().toISOString() }],
  }).catch(() => {});
}
