/** Public types of the sync engine (see ./index.ts for how a run works). */
import type { B24Client } from '../b24/client.js';
import type { Db } from '../store/db.js';
import type { CrmCounts } from '../store/crm.js';

export type SyncKindOption = 'full' | 'incremental' | 'auto';

export interface SyncDeps {
  db: Db;
  portalId: number;
  client: B24Client;
  /** Aborting stops the run after the current page batch; the run is left 'interrupted' (resumable). */
  signal?: AbortSignal;
  /** Local wall clock (wall seconds, ETA). Default `() => new Date()`. */
  now?: () => Date;
}

export interface SyncOptions {
  kind: SyncKindOption;
  onProgress?: (p: SyncProgressView) => void;
  /**
   * Incremental: the `>DATE_MODIFY` filter starts this many seconds before the last watermark
   * (default 600): covers clock skew between the portal's DB and its `time.start`, edits in the
   * same second as the watermark, and transactions that committed late.
   */
  overlapSec?: number;
  /** A 'running' run not updated for this long is taken over (its process died). Default 120 s. */
  staleAfterSec?: number;
  /** Set false to never resume an interrupted run (start a fresh one instead). Default true. */
  resume?: boolean;
  /** Deals per product-row block, the unit of its commits (default 20000). */
  productRowBlock?: number;
}

export interface SyncProgressView {
  runId: number;
  kind: 'full' | 'incremental';
  /** 'reference' | 'crm' (contacts, companies, deals and product rows in parallel) | 'derived' | 'deletions' | 'done'. */
  phase: string;
  /** Streams still running in the 'crm' phase, e.g. ['contacts', 'deals', 'productRows', 'leads']. */
  active: string[];
  rowsDone: number;
  rowsExpected: number | null;
  etaSeconds: number | null;
  counts: PulledCounts;
  expected: Partial<Record<keyof PulledCounts, number>>;
}

/** Rows pulled per table in a run: the same tables the store counts. */
export type PulledCounts = CrmCounts;

export interface DeletedCounts {
  contacts: number;
  companies: number;
  deals: number;
  productRows: number;
  products: number;
  sections: number;
  leads: number;
}

export interface SyncErrorCount {
  /** e.g. QUERY_LIMIT_EXCEEDED (503), OPERATION_TIME_LIMIT (429), server, network, token_refresh. */
  code: string;
  count: number;
}

export interface SyncSummary extends PulledCounts {
  runId: number;
  kind: 'full' | 'incremental';
  /** True when this call continued an interrupted run from its checkpoint. */
  resumed: boolean;
  /** Same numbers as the top-level counts (rows pulled in this run, resumed part included). */
  counts: PulledCounts;
  deleted: DeletedCounts;
  /** Rows in the store after the run. */
  totals: CrmCounts;
  /** REST usage of this call (this process; a resumed run's earlier part is in sync_runs). */
  requests: number;
  calls: number;
  operatingSeconds: number;
  byMethod: Record<string, { calls: number; operatingSec: number }>;
  wallSeconds: number;
  /** Recovered errors (retried by the client): counts per kind. */
  errors: SyncErrorCount[];
  /** Portal time (ISO) the next incremental sync starts from (minus the overlap). */
  watermark: string;
  /** Purchase prices read from the catalog; `skipped`: why not (the portal refused, e.g. insufficient_scope). */
  purchasePrices?: { stored: number; skipped: string | null };
}

/** Saved with every committed page batch, in the same transaction as the data. */
export interface Checkpoint {
  v: 1;
  kind: 'full' | 'incremental';
  /** Portal epoch ms when the run started: the watermark when it completes. */
  startedAt: number;
  /** Incremental: rows modified after this portal instant (epoch ms; overlap NOT yet applied). */
  since: number | null;
  overlapSec: number;
  reference: boolean;
  /** leads: absent in checkpoints of runs started before leads were pulled (read as 0 / not done). */
  cursors: { contacts: number; companies: number; deals: number; leads?: number };
  done: { contacts: boolean; companies: boolean; deals: boolean; productRows: boolean; leads?: boolean };
  /** Every deal of this run with id ≤ prCursor has its product rows stored. */
  prCursor: number;
  /** Won deals whose product rows are stored (ETA of the product-row stream). */
  wonDone?: number;
  /** Won deals expected in this run (counted call). */
  wonExpected?: number;
  derived: boolean;
  deletions: boolean;
  counts: PulledCounts;
  deleted: DeletedCounts;
  expected: Partial<Record<keyof PulledCounts, number>>;
  /** Rates changed since the previous run: recompute opportunity_base of all stored deals. */
  ratesChanged: boolean;
  resumes: number;
  /**
   * Purchase prices from the catalog (src/sync/purchase-prices.ts): products updated; `skipped`:
   * the portal refused catalog.product.list (e.g. insufficient_scope), the run went on without them.
   */
  purchasePrices?: { stored: number; skipped: string | null; done: boolean };
}

export const zeroCounts = (): PulledCounts => ({
  contacts: 0, companies: 0, deals: 0, dealContacts: 0, productRows: 0, products: 0, sections: 0, stages: 0, funnels: 0, currencies: 0, leads: 0,
});

export const zeroDeleted = (): DeletedCounts => ({ contacts: 0, companies: 0, deals: 0, productRows: 0, products: 0, sections: 0, leads: 0 });
