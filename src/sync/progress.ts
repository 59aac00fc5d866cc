/**
 * Progress of a run: the phase and the streams still active, rows done / expected, the ETA,
 * and the REST usage not yet added to the run row. What each commit writes to sync_runs
 * (row) and what onProgress receives (view) are computed from the checkpoint being committed.
 */
import type { B24Client } from '../b24/client.js';
import type { Checkpoint, SyncErrorCount, SyncProgressView } from './types.js';

export interface Usage { requests: number; calls: number; operating: number }

export function usageOf(client: B24Client): Usage {
  const c = client.counters;
  let operating = 0;
  for (const m of Object.values(c.byMethod)) operating += m.operatingSec;
  return { requests: c.requests, calls: c.calls, operating };
}

/** Recovered errors since `start` (a copy of the client's counters), per kind. */
export function errorCounts(client: B24Client, start: B24Client['counters']): SyncErrorCount[] {
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

const CRM_KEYS = ['contacts', 'companies', 'deals', 'productRows', 'leads'] as const;

const rowsDone = (c: Checkpoint) => CRM_KEYS.reduce((a, k) => a + (c.counts[k] ?? 0), 0);

export class RunProgress {
  /** 'reference' | 'crm' | 'derived' | 'deletions' | 'done' */
  phase: string;
  /** Streams still running in the 'crm' phase. */
  active: string[] = [];
  /** REST usage already added to the run row. */
  committedUsage: Usage;
  /** Rows done before this call (a resumed run's earlier part): not counted in the rate. */
  private readonly baseDone: number;
  private crmStartedAt: number;

  constructor(
    private readonly o: {
      runId: number;
      kind: 'full' | 'incremental';
      client: B24Client;
      now: () => Date;
      /** Measured product rows per won deal (the run context's), for the expected total. */
      rowsPerWonDeal: () => number | undefined;
    },
    cp: Checkpoint,
    startUsage: Usage,
  ) {
    this.phase = cp.reference ? 'crm' : 'reference';
    this.committedUsage = startUsage;
    this.baseDone = rowsDone(cp);
    this.crmStartedAt = o.now().getTime();
  }

  /** The 'crm' phase starts: the ETA's rate is measured from here. */
  startCrm(): void {
    this.phase = 'crm';
    this.crmStartedAt = this.o.now().getTime();
  }

  rowsExpected(c: Checkpoint): number | null {
    const e = c.expected;
    if (e.contacts === undefined || e.deals === undefined) return null;
    const perWon = this.o.rowsPerWonDeal() ?? 2;
    const prLeft = Math.max(0, (c.wonExpected ?? 0) - (c.wonDone ?? 0)) * perWon;
    const pr = c.done.productRows ? c.counts.productRows : c.counts.productRows + prLeft;
    return Math.max(rowsDone(c), (e.contacts ?? 0) + (e.companies ?? 0) + (e.deals ?? 0) + (e.leads ?? 0) + Math.round(pr));
  }

  eta(c: Checkpoint): number | null {
    const exp = this.rowsExpected(c);
    if (exp === null) return null;
    const done = rowsDone(c);
    const doneHere = done - this.baseDone;
    const elapsed = (this.o.now().getTime() - this.crmStartedAt) / 1000;
    if (doneHere <= 0 || elapsed <= 0) return null;
    return Math.max(0, Math.round(((exp - done) * elapsed) / doneHere));
  }

  /** What onProgress receives. */
  view(c: Checkpoint): SyncProgressView {
    const { runId, kind } = this.o;
    return {
      runId, kind, phase: this.phase, active: [...this.active], rowsDone: rowsDone(c), rowsExpected: this.rowsExpected(c),
      etaSeconds: this.phase === 'done' ? 0 : this.eta(c), counts: { ...c.counts }, expected: { ...c.expected },
    };
  }

  /** What a commit writes to the run row (updateSyncProgress), and the usage it accounts for. */
  row(c: Checkpoint) {
    const u = usageOf(this.o.client);
    const done = this.committedUsage;
    return {
      phase: this.phase === 'crm' && this.active.length ? `crm:${this.active.join(',')}` : this.phase,
      rowsDone: rowsDone(c),
      rowsExpected: this.rowsExpected(c),
      etaSeconds: this.eta(c),
      counts: { ...c.counts } as unknown as Record<string, number>,
      addRequests: u.requests - done.requests,
      addCalls: u.calls - done.calls,
      addOperatingSeconds: Math.round((u.operating - done.operating) * 1000) / 1000,
      checkpoint: c,
      usage: u,
    };
  }
}
