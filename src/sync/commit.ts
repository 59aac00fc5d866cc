/**
 * The run context and its commits: every page batch is written together with the checkpoint
 * and the run row's progress in ONE transaction; commits are serialised (one chain), and the
 * new checkpoint becomes the context's `cp` only after COMMIT. A commit that finds the run row
 * no longer 'running' (another process took it over) fails with SyncRunLostError.
 */
import type { B24Client } from '../b24/client.js';
import type { Db } from '../store/db.js';
import { updateSyncProgress } from '../store/syncRuns.js';
import type { RunContext } from './context.js';
import { SyncRunLostError } from './errors.js';
import { RunProgress, type Usage } from './progress.js';
import type { StopSwitch } from './stop.js';
import { Signal } from './signal.js';
import type { Checkpoint, SyncProgressView } from './types.js';

export interface RunContextInit {
  db: Db;
  portalId: number;
  runId: number;
  client: B24Client;
  /** The checkpoint the run starts from. */
  cp: Checkpoint;
  stop: StopSwitch;
  /** The client's usage when this call started (usage is added to the run row from there). */
  startUsage: Usage;
  now: () => Date;
  onProgress?: (p: SyncProgressView) => void;
}

/** The context the phases share, and `settled()`: resolves once no commit is in flight. */
export function createRunContext(o: RunContextInit): { ctx: RunContext; settled: () => Promise<void> } {
  const { db, portalId, runId, stop } = o;
  const progress = new RunProgress(
    { runId, kind: o.cp.kind, client: o.client, now: o.now, rowsPerWonDeal: () => ctx.rowsPerWonDeal },
    o.cp,
    o.startUsage,
  );
  let chain: Promise<unknown> = Promise.resolve();
  const ctx: RunContext = {
    db, portalId, runId, client: o.client, cp: o.cp, progress, dealsCommitted: new Signal(),
    checkStopped: () => stop.check(),
    stoppedPromise: stop.stopped,
    stop: (reason) => stop.stop(reason),
    isStopping: () => stop.isStopping,
    commit(mutate, write) {
      const p = chain.then(async () => {
        stop.check();
        const next = structuredClone(ctx.cp) as Checkpoint;
        let usage: Usage = progress.committedUsage;
        await db.transaction(async (tx) => {
          const r = await write(tx);
          mutate(next, r);
          const { usage: u, ...prog } = progress.row(next);
          usage = u;
          if (!(await updateSyncProgress(tx, portalId, runId, prog))) throw new SyncRunLostError(`sync run ${runId} is no longer running`);
        });
        progress.committedUsage = usage;
        (ctx as { cp: Checkpoint }).cp = next;
        o.onProgress?.(progress.view(next));
      });
      chain = p.catch(() => {});
      return p;
    },
    async setPhase(phase) {
      progress.phase = phase;
      await ctx.commit(() => {}, async () => {});
    },
  };
  return { ctx, settled: async () => { await chain.catch(() => {}); } };
}
