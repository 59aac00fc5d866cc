/**
 * Sync engine: pulls a portal's CRM into the store (issue 3 item 5).
 *
 *   const summary = await runSync({ db, portalId, client }, { kind: 'auto', onProgress });
 *
 * Phases (one sync_runs row per run; progress, counters and the checkpoint live there):
 *  1. reference  currencies, deal stages, funnels, product sections, products + counted list
 *                calls for the expected totals (2 requests) — ./reference.ts
 *  2. crm        contacts, companies, deals (+ their contact links), product rows of WON deals,
 *                as four concurrent streams — ./streams.ts
 *  3. derived    product-row sections, section depths, opportunity_base when rates changed
 *  4. deletions  full: rows this run did not see are deleted (deleteNotSeenInRun);
 *                incremental: ID-range count bisection — ./deletions.ts
 *
 * Incremental runs filter `>DATE_MODIFY` (crm.item: `>updatedTime`) from the last watermark
 * minus `overlapSec` (default 600 s). The watermark is the portal time (`time.start` of the
 * portal's responses) when the run started, stored when the run completes.
 *
 * Checkpoint/resume: every committed page batch writes the checkpoint (cursor per entity,
 * product-row cursor, counts) in the same transaction as its rows. A run that did not finish
 * (process killed: the app's startup marks it 'interrupted' via interruptStaleSyncRuns, or a
 * 'running' run not updated for `staleAfterSec`; or aborted through `signal`) is continued by
 * the next runSync: same run id (rows keep their sync_run_id tag for the full-sync sweep), each
 * stream restarts after its committed cursor. Upserts make re-delivered rows harmless.
 *
 * Errors: expired tokens, 503 and 429 are handled by B24Client (refresh, back off, retry) and
 * counted in the summary; anything else stops the run: status 'failed', the error in
 * sync_runs.errors, and the error is rethrown (DeadRefreshTokenError → the caller marks the
 * portal needs_reauth).
 */
import type { B24Client } from '../b24/client.js';
import type { Db } from '../store/db.js';
import {
  countCrmRows, deleteNotSeenInRun, getCurrencies, getProducts, recomputeSectionDepths, resolveProductRowSections,
  type CurrencyInput,
} from '../store/crm.js';
import {
  SyncAlreadyRunningError, createSyncRun, finishSyncRun, lastWatermark, latestSyncRun, updateSyncProgress, type SyncRun,
} from '../store/syncRuns.js';
import type { RunContext } from './context.js';
import { reconcileDeletions, refreshDealLinks } from './deletions.js';
import { makeToBase } from './map.js';
import { fetchReference, storeReference } from './reference.js';
import { Signal, runEntityStream, runProductRowStream } from './streams.js';
import {
  type Checkpoint, type PulledCounts, type SyncDeps, type SyncErrorCount, type SyncOptions, type SyncProgressView,
  type SyncSummary, zeroCounts, zeroDeleted,
} from './types.js';

export * from './types.js';
export { reconcileDeletions } from './deletions.js';

export class SyncAbortedError extends Error {
  override name = 'SyncAbortedError';
  constructor(public readonly runId: number) {
    super(`sync run ${runId} was aborted; it is resumable from its checkpoint`);
  }
}

/** The run row is no longer 'running' (another process took it over): stop without writing. */
export class SyncRunLostError extends Error {
  override name = 'SyncRunLostError';
}

const DEFAULT_OVERLAP_SEC = 600;

function isCheckpoint(v: unknown): v is Checkpoint {
  return !!v && typeof v === 'object' && (v as Checkpoint).v === 1 && typeof (v as Checkpoint).cursors === 'object';
}

function freshCheckpoint(kind: 'full' | 'incremental', since: number | null, overlapSec: number): Checkpoint {
  return {
    v: 1, kind, startedAt: 0, since, overlapSec, reference: false,
    cursors: { contacts: 0, companies: 0, deals: 0 },
    done: { contacts: false, companies: false, deals: false, productRows: false },
    prCursor: 0, derived: false, deletions: false,
    counts: zeroCounts(), deleted: zeroDeleted(), expected: {}, ratesChanged: false, resumes: 0,
  };
}

/** Continues an interrupted run: back to 'running' (same id). */
async function reviveRun(db: Db, portalId: number, runId: number): Promise<boolean> {
  try {
    const r = await db.query(
      `UPDATE sync_runs SET status = 'running', finished_at = NULL, updated_at = now()
        WHERE portal_id = $1 AND id = $2 AND status = 'interrupted'`,
      [portalId, runId],
    );
    return r.rowCount === 1;
  } catch (err) {
    if ((err as { code?: string }).code === '23505') throw new SyncAlreadyRunningError(portalId);
    throw err;
  }
}

interface Usage { requests: number; calls: number; operating: number }

function usageOf(client: B24Client): Usage {
  const c = client.counters;
  let operating = 0;
  for (const m of Object.values(c.byMethod)) operating += m.operatingSec;
  return { requests: c.requests, calls: c.calls, operating };
}

function errorCounts(client: B24Client, start: B24Client['counters']): SyncErrorCount[] {
  const c = client.counters;
  const out: SyncErrorCount[] = [];
  const add = (code: string, n: number) => { if (n > 0) out.push({ code, count: n }); };
  add('QUERY_LIMIT_EXCEEDED', c.rateLimited503 - start.rateLimited503);
  add('OPERATION_TIME_LIMIT', c.operatingLimited429 - start.operatingLimited429);
  add('SERVER_ERROR', c.serverErrors - start.serverErrors);
  add('NETWORK_ERROR', c.networkErrors - start.networkErrors);
  add('TOKEN_REFRESH', c.tokenRefreshes - start.tokenRefreshes);
  return out;
}

const CRM_KEYS = ['contacts', 'companies', 'deals', 'productRows'] as const;

export async function runSync(deps: SyncDeps, opts: SyncOptions): Promise<SyncSummary> {
  const { db, portalId, client, signal } = deps;
  const now = deps.now ?? (() => new Date());
  const t0 = now().getTime();
  const overlapSec = opts.overlapSec ?? DEFAULT_OVERLAP_SEC;
  const startCounters = structuredClone(client.counters);
  const startUsage = usageOf(client);
  if (signal?.aborted) throw signal.reason ?? new Error('aborted');

  // ---- pick up an unfinished run, or start a new one
  let run: SyncRun | null = await latestSyncRun(db, portalId);
  if (run?.status === 'running') {
    const staleMs = (opts.staleAfterSec ?? 120) * 1000;
    if (run.updatedAt.getTime() > now().getTime() - staleMs) throw new SyncAlreadyRunningError(portalId);
    await db.query(`UPDATE sync_runs SET status = 'interrupted', finished_at = now(), updated_at = now() WHERE portal_id = $1 AND id = $2 AND status = 'running'`, [portalId, run.id]);
    run = { ...run, status: 'interrupted' };
  }
  let cp: Checkpoint;
  let resumed = false;
  if (opts.resume !== false && run?.status === 'interrupted' && isCheckpoint(run.checkpoint) && (opts.kind === 'auto' || opts.kind === run.kind) && (await reviveRun(db, portalId, run.id))) {
    cp = run.checkpoint as Checkpoint;
    cp.resumes++;
    resumed = true;
  } else {
    let kind: 'full' | 'incremental' = opts.kind === 'auto' ? 'incremental' : opts.kind;
    const wm = kind === 'incremental' ? await lastWatermark(db, portalId) : null;
    if (kind === 'incremental' && !wm) kind = 'full';
    cp = freshCheckpoint(kind, wm ? wm.getTime() : null, overlapSec);
    run = await createSyncRun(db, portalId, kind, { phase: 'reference', checkpoint: cp });
  }
  const runId = run.id;
  const kind = cp.kind;

  // ---- stop handling
  let stopReason: unknown = null;
  let resolveStopped!: () => void;
  const stoppedPromise = new Promise<void>((r) => { resolveStopped = r; });
  const stop = (e: unknown) => {
    if (stopReason === null) { stopReason = e ?? new Error('stopped'); resolveStopped(); }
  };
  const onAbort = () => stop(new SyncAbortedError(runId));
  signal?.addEventListener('abort', onAbort, { once: true });
  const checkStopped = () => { if (stopReason !== null) throw stopReason; };

  // ---- commits: data + checkpoint + progress in one transaction, serialised
  let committedUsage = startUsage;
  let phase = cp.reference ? 'crm' : 'reference';
  let active: string[] = [];
  const baseDone = CRM_KEYS.reduce((a, k) => a + cp.counts[k], 0);
  let crmStartedAt = now().getTime();
  let chain: Promise<unknown> = Promise.resolve();

  const rowsDone = (c: Checkpoint) => CRM_KEYS.reduce((a, k) => a + c.counts[k], 0);
  const rowsExpected = (c: Checkpoint): number | null => {
    const e = c.expected;
    if (e.contacts === undefined || e.deals === undefined) return null;
    const perWon = ctx.rowsPerWonDeal ?? 2;
    const prLeft = Math.max(0, (c.wonExpected ?? 0) - (c.wonDone ?? 0)) * perWon;
    const pr = c.done.productRows ? c.counts.productRows : c.counts.productRows + prLeft;
    return Math.max(rowsDone(c), (e.contacts ?? 0) + (e.companies ?? 0) + (e.deals ?? 0) + Math.round(pr));
  };
  const eta = (c: Checkpoint): number | null => {
    const exp = rowsExpected(c);
    if (exp === null) return null;
    const done = rowsDone(c);
    const doneHere = done - baseDone;
    const elapsed = (now().getTime() - crmStartedAt) / 1000;
    if (doneHere <= 0 || elapsed <= 0) return null;
    return Math.max(0, Math.round(((exp - done) * elapsed) / doneHere));
  };
  const view = (c: Checkpoint): SyncProgressView => ({
    runId, kind, phase, active: [...active], rowsDone: rowsDone(c), rowsExpected: rowsExpected(c), etaSeconds: phase === 'done' ? 0 : eta(c),
    counts: { ...c.counts }, expected: { ...c.expected },
  });
  const progressOf = (c: Checkpoint) => {
    const u = usageOf(client);
    return {
      phase: phase === 'crm' && active.length ? `crm:${active.join(',')}` : phase,
      rowsDone: rowsDone(c),
      rowsExpected: rowsExpected(c),
      etaSeconds: eta(c),
      counts: { ...c.counts } as unknown as Record<string, number>,
      addRequests: u.requests - committedUsage.requests,
      addCalls: u.calls - committedUsage.calls,
      addOperatingSeconds: Math.round((u.operating - committedUsage.operating) * 1000) / 1000,
      checkpoint: c,
      usage: u,
    };
  };

  const ctx: RunContext = {
    db, portalId, runId, client, cp, checkStopped, stoppedPromise, dealsCommitted: new Signal(),
    commit(mutate, write) {
      const p = chain.then(async () => {
        checkStopped();
        const next = structuredClone(ctx.cp) as Checkpoint;
        let usage: Usage = committedUsage;
        await db.transaction(async (tx) => {
          const r = await write(tx);
          mutate(next, r);
          const { usage: u, ...prog } = progressOf(next);
          usage = u;
          if (!(await updateSyncProgress(tx, portalId, runId, prog))) throw new SyncRunLostError(`sync run ${runId} is no longer running`);
        });
        committedUsage = usage;
        (ctx as { cp: Checkpoint }).cp = next;
        opts.onProgress?.(view(next));
      });
      chain = p.catch(() => {});
      return p;
    },
  };
  const setPhase = async (p: string) => {
    phase = p;
    await ctx.commit(() => {}, async () => {});
  };

  try {
    // ---- 1. reference data
    let currencies: CurrencyInput[];
    let productSection: Map<number, number | null>;
    if (!cp.reference) {
      const w0 = Date.now();
      const modifiedAfter = cp.since !== null ? cp.since - cp.overlapSec * 1000 : null;
      const ref = await fetchReference(client, modifiedAfter);
      checkStopped();
      // portal time when the run started (watermark): the limiter's anchored portal clock minus
      // the wall time of the first batch scaled to portal seconds, minus 1 s of margin
      const startedAt = Math.floor(client.limiter.portalNow() * 1000 - (Date.now() - w0) * client.limiter.timeScale - 1000);
      currencies = ref.currencies;
      productSection = new Map(ref.products.map((p) => [p.id, p.sectionId ?? null]));
      await ctx.commit(
        (c, r: { ratesChanged: boolean; deletedProducts: number; deletedSections: number }) => {
          c.startedAt = startedAt;
          c.reference = true;
          c.expected = { contacts: ref.expected.contacts, companies: ref.expected.companies, deals: ref.expected.deals, products: ref.products.length, sections: ref.sections.length };
          c.wonExpected = ref.expected.wonDeals;
          c.counts.currencies = ref.currencies.length;
          c.counts.stages = ref.stages.length;
          c.counts.funnels = ref.funnels.length;
          c.counts.products = ref.products.length;
          c.counts.sections = ref.sections.length;
          c.ratesChanged = r.ratesChanged;
          c.deleted.products += r.deletedProducts;
          c.deleted.sections += r.deletedSections;
        },
        (tx) => storeReference(tx, portalId, runId, ref),
      );
    } else {
      currencies = (await getCurrencies(db, portalId)).map((c) => ({ code: c.code, amount: c.amount, amountCnt: c.amountCnt, base: c.base, sort: c.sort }));
      productSection = new Map((await getProducts(db, portalId)).map((p) => [p.id, p.sectionId]));
    }
    const toBase = makeToBase(currencies);

    // ---- 2. contacts, companies, deals, product rows (concurrent streams)
    phase = 'crm';
    crmStartedAt = now().getTime();
    const streams: Array<[string, () => Promise<void>]> = [
      ['deals', () => runEntityStream(ctx, 'deals', toBase)],
      ['productRows', () => runProductRowStream(ctx, productSection, opts.productRowBlock ?? 20000)],
      ['contacts', () => runEntityStream(ctx, 'contacts', toBase)],
      ['companies', () => runEntityStream(ctx, 'companies', toBase)],
    ];
    active = streams.filter(([n]) => !ctx.cp.done[n as keyof Checkpoint['done']]).map(([n]) => n);
    const running = streams.map(([name, fn]) =>
      fn().then(
        () => { active = active.filter((a) => a !== name); },
        (e) => { stop(e); throw e; },
      ),
    );
    const all = Promise.allSettled(running);
    // after a stop, give the other streams a moment to reach a page boundary, then move on
    await Promise.race([all, stoppedPromise.then(() => new Promise((r) => setTimeout(r, 1000).unref()))]);
    checkStopped();
    active = [];

    // ---- 3. derived columns
    if (!ctx.cp.derived) {
      await setPhase('derived');
      await ctx.commit((c) => { c.derived = true; }, async (tx) => {
        if (ctx.cp.ratesChanged && kind === 'incremental') await recomputeOpportunityBase(tx, portalId);
        await resolveProductRowSections(tx, portalId);
        await recomputeSectionDepths(tx, portalId);
      });
    }

    // ---- 4. deletions
    if (!ctx.cp.deletions) {
      await setPhase('deletions');
      const del = { contacts: 0, companies: 0, deals: 0, productRows: 0 };
      if (kind === 'full') {
        del.deals = await deleteNotSeenInRun(db, portalId, 'deals', runId);
        del.contacts = await deleteNotSeenInRun(db, portalId, 'contacts', runId);
        del.companies = await deleteNotSeenInRun(db, portalId, 'companies', runId);
        del.productRows = await deleteNotSeenInRun(db, portalId, 'product_rows', runId);
      } else {
        for (const t of ['deals', 'contacts', 'companies'] as const) {
          checkStopped();
          const r = await reconcileDeletions(db, portalId, client, t, () => stopReason !== null);
          del[t] = r.deleted;
          if (r.affectedDeals.length) await refreshDealLinks(db, portalId, client, r.affectedDeals);
        }
      }
      await ctx.commit((c) => {
        c.deletions = true;
        c.deleted.contacts += del.contacts;
        c.deleted.companies += del.companies;
        c.deleted.deals += del.deals;
        c.deleted.productRows += del.productRows;
      }, async () => {});
    }

    // ---- done
    phase = 'done';
    const fin = ctx.cp;
    const { usage, checkpoint: _c, ...prog } = progressOf(fin);
    void _c;
    await finishSyncRun(db, portalId, runId, 'done', { ...prog, phase: 'done', etaSeconds: 0, watermark: new Date(fin.startedAt), checkpoint: fin });
    committedUsage = usage;
    opts.onProgress?.(view(fin));
    const u = usageOf(client);
    const counts: PulledCounts = { ...fin.counts };
    return {
      runId, kind, resumed, ...counts, counts,
      deleted: { ...fin.deleted },
      totals: await countCrmRows(db, portalId),
      requests: u.requests - startUsage.requests,
      calls: u.calls - startUsage.calls,
      operatingSeconds: Math.round((u.operating - startUsage.operating) * 1000) / 1000,
      byMethod: Object.fromEntries(Object.entries(client.counters.byMethod).map(([m, v]) => {
        const s = startCounters.byMethod[m] ?? { calls: 0, operatingSec: 0 };
        return [m, { calls: v.calls - s.calls, operatingSec: Math.round((v.operatingSec - s.operatingSec) * 1000) / 1000 }];
      }).filter(([, v]) => (v as { calls: number }).calls > 0)),
      wallSeconds: Math.round((now().getTime() - t0) / 10) / 100,
      errors: errorCounts(client, startCounters),
      watermark: new Date(fin.startedAt).toISOString(),
    };
  } catch (err) {
    stop(err);
    await chain.catch(() => {});
    const aborted = err instanceof SyncAbortedError || signal?.aborted;
    if (!(err instanceof SyncRunLostError)) {
      const e = err as { name?: string; code?: string; message?: string };
      await finishSyncRun(db, portalId, runId, aborted ? 'interrupted' : 'failed', {
        appendErrors: aborted ? [] : [{ name: e.name, code: e.code ?? null, message: String(e.message ?? err).slice(0, 500), phase, at: new Date().toISOString() }],
      }).catch(() => {});
    }
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** opportunity_base of every stored deal from the stored rates (after a rate change). */
export async function recomputeOpportunityBase(db: Db, portalId: number): Promise<number> {
  const r = await db.query(
    `UPDATE deals d SET opportunity_base = round(d.opportunity * (c.amount / c.amount_cnt) / b.rate, 2)
       FROM currencies c, (SELECT amount / amount_cnt AS rate FROM currencies WHERE portal_id = $1 AND base LIMIT 1) b
      WHERE d.portal_id = $1 AND c.portal_id = $1 AND c.code = d.currency_id
        AND d.opportunity_base IS DISTINCT FROM round(d.opportunity * (c.amount / c.amount_cnt) / b.rate, 2)`,
    [portalId],
  );
  return r.rowCount;
}
