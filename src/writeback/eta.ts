/**
 * The write-back's progress and its ETA from the portal's observed costs (shown on the Sync page).
 *
 * The portal budgets operating time per method: `opLimit` seconds (480) in a sliding window of
 * `windowSec` (600), counted by the minute. An update costs what the client's limiter has learned
 * from the portal's answers (`time.processing`, src/b24/limiter.ts). The updates left are shared among
 * the methods (one without spreading; two when spread); each method's operating work n·c is played
 * forward through its window: the budget free now is spent at once, then each minute's spending
 * frees up when it leaves the window (`releases`, from the limiter) and is spent again, and what is
 * spent then frees up a window later. The batches are requests too, at the plan's drain rate. The
 * ETA is the largest of these (portal seconds). Batch granularity and local work are left out.
 */
export interface Release {
  /** portal s when `sum` operating seconds leave the window */
  at: number;
  sum: number;
}

export interface EtaMethod {
  /** learned operating seconds per update */
  cost: number;
  /** when the operating time spent in the window frees up (the limiter's `releases`) */
  releases: Release[];
}

export interface EtaInput {
  /** updates left in this pass */
  remaining: number;
  methods: EtaMethod[];
  /** portal s now */
  now: number;
  /** the budget the client keeps to (the limiter's opSafe) */
  opLimit: number;
  windowSec: number;
  bucketSec: number;
  /** the limiter's pad after a bucket's expiry */
  padSec: number;
  batchSize: number;
  drainPerSec: number;
}

/** Portal seconds until `work` operating seconds are spent under the window rules. */
export function spendSeconds(work: number, i: Pick<EtaInput, 'now' | 'opLimit' | 'windowSec' | 'bucketSec' | 'padSec'>, releases: readonly Release[]): number {
  const q = releases.map((r) => ({ ...r }));
  const expiry = (t: number) => Math.floor(t / i.bucketSec) * i.bucketSec + i.windowSec + i.padSec;
  let left = work;
  let t = i.now;
  const free = Math.max(0, i.opLimit - q.reduce((a, r) => a + r.sum, 0));
  if (free > 0) {
    const spend = Math.min(left, free);
    left -= spend;
    q.push({ at: expiry(t), sum: spend });
  }
  while (left > 1e-9 && q.length) {
    q.sort((a, b) => a.at - b.at);
    const e = q.shift()!;
    t = Math.max(t, e.at);
    const spend = Math.min(left, e.sum);
    left -= spend;
    q.push({ at: expiry(t), sum: spend });
  }
  return t - i.now;
}

export function writebackEta(i: EtaInput): number {
  if (i.remaining <= 0 || !i.methods.length) return 0;
  const per = i.remaining / i.methods.length;
  let op = 0;
  for (const m of i.methods) op = Math.max(op, spendSeconds(per * m.cost, i, m.releases));
  const requests = Math.ceil(i.remaining / Math.max(1, i.batchSize)) / i.drainPerSec;
  return Math.max(op, requests);
}

/** What the write-back stores in writeback_runs.counts.progress after each batch. */
export interface WriteProgress {
  /** 'contact' or 'company' pass */
  kind: string;
  planned: number;
  done: number;
  /** tier-1 customers (priority.ts) of the pass, and how many are done */
  topPlanned: number;
  topDone: number;
  /** portal seconds left when `at` was stamped */
  etaSec: number;
  /** ISO time of this snapshot */
  at: string;
}

/** The ETA now from the stored snapshot: its ETA less the time since it was taken, never below 0. */
export function etaNow(p: Pick<WriteProgress, 'etaSec' | 'at'>, now = Date.now()): number {
  const since = Math.max(0, (now - Date.parse(p.at)) / 1000);
  return Math.max(0, Math.round(p.etaSec - since));
}
