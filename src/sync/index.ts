/**
 * Sync engine: pulls a portal's CRM into the store (issue 3 item 5).
 *
 *   const summary = await runSync({ db, portalId, client }, { kind: 'auto', onProgress });
 *
 * Phases (one sync_runs row per run; progress, counters and the checkpoint live there):
 *  1. reference  currencies, deal stages, funnels, product sections, products + counted list
 *                calls for the expected totals (2 requests) — ./reference.ts
 *  2. crm        contacts, companies, deals (+ their contact links), product rows of WON deals,
 *                as four concurrent streams — ./streams.ts, ./product-rows.ts
 *  3. derived    product-row sections, section depths, opportunity_base when rates changed
 *                — ./derived.ts
 *  4. deletions  full: rows this run did not see are deleted (deleteNotSeenInRun);
 *                incremental: ID-range count bisection — ./deletions.ts
 * Around them: ./start.ts (start or resume a run), ./commit.ts (the run context: data +
 * checkpoint + progress in one transaction), ./progress.ts (rows, ETA, REST usage), ./finish.ts
 * (the summary; a failed or aborted run's row), ./stop.ts (the stop switch).
 *
 * Incremental runs filter `>DATE_MODIFY` (crm.item: `>updatedTime`) from the last watermark
 * minus `overlapSec` (default 600 s). The watermark is the portal time (`time.start` of the
 * portal's responses) when the run started, stored when the run completes.
 *
 * Checkpoint/resume: every committed page batch writes the checkpoint (cursor per entity,
 * product-row cursor, counts) in the same transaction as its rows. A run that did not finish
 * (process killed: a 'running' run not updated for `staleAfterSec` is taken over —
 * interruptStaleSyncRuns marks such runs 'interrupted' when an operator calls it —; or aborted through
 * `signal`) is continued by
 * the next runSync: same run id (rows keep their sync_run_id tag for the full-sync sweep), each
 * stream restarts after its committed cursor, a finished phase is skipped. Upserts make
 * re-delivered rows harmless.
 *
 * Errors: expired tokens, 503 and 429 are handled by B24Client (refresh, back off, retry) and
 * counted in the summary; anything else stops the run: status 'failed', the error in
 * sync_runs.errors, and the error is rethrown (DeadRefreshTokenError → the caller marks the
 * portal needs_reauth).
 */
import { createRunContext } from './commit.js';
import { deletionsPhase } from './deletions.js';
import { derivedPhase } from './derived.js';
import { SyncAbortedError } from './errors.js';
import { failRun, finishRun } from './finish.js';
import { usageOf } from './progress.js';
import { purchasePricePhase } from './purchase-prices.js';
import { referencePhase } from './reference.js';
import { startOrResume } from './start.js';
import { StopSwitch } from './stop.js';
import { crmPhase } from './streams.js';
import type { SyncDeps, SyncOptions, SyncSummary } from './types.js';

export * from './types.js';
export { reconcileDeletions } from './deletions.js';
export { recomputeOpportunityBase } from './derived.js';
export { SyncAbortedError, SyncRunLostError } from './errors.js';

export async function runSync(deps: SyncDeps, opts: SyncOptions): Promise<SyncSummary> {
  const { db, portalId, client, signal } = deps;
  const now = deps.now ?? (() => new Date());
  const t0 = now().getTime();
  const startCounters = structuredClone(client.counters);
  const startUsage = usageOf(client);
  if (signal?.aborted) throw signal.reason ?? new Error('aborted');

  const { run, cp, resumed } = await startOrResume(db, portalId, opts, now);
  const stop = new StopSwitch();
  const onAbort = () => stop.stop(new SyncAbortedError(run.id));
  signal?.addEventListener('abort', onAbort, { once: true });
  const { ctx, settled } = createRunContext({ db, portalId, runId: run.id, client, cp, stop, startUsage, now, onProgress: opts.onProgress });
  try {
    const ref = await referencePhase(ctx);
    await purchasePricePhase(ctx, ref.catalogs);
    await crmPhase(ctx, ref.toBase, ref.productSection, opts.productRowBlock ?? 20000);
    await derivedPhase(ctx);
    await deletionsPhase(ctx);
    return await finishRun(ctx, { t0, now, resumed, startCounters, startUsage, onProgress: opts.onProgress });
  } catch (err) {
    stop.stop(err);
    await settled();
    await failRun(ctx, err, err instanceof SyncAbortedError || !!signal?.aborted);
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
