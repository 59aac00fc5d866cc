/**
 * The write-back's progress and its ETA from the portal's observed costs (shown on the Sync page).
 *
 * The portal budgets operating time per method: `opLimit` seconds (480) in any `windowSec` window
 * (600). An update costs what the client's limiter has learned from the portal's answers
 * (`time.processing`, src/b24/limiter.ts). With n updates left on a method of cost c and `free`
 * seconds of its budget unused now, the method needs max(0, n·c − free) · windowSec / opLimit seconds;
 * spreading shares the updates among the methods. Batches of `batchSize` updates are requests too,
 * at the plan's drain rate. The ETA is the largest of these (portal seconds).
 */
export interface EtaMethod {
  /** learned operating seconds per update */
  cost: number;
  /** operating seconds already used in the current window */
  used: number;
}

export interface EtaInput {
  /** updates left in this pass */
  remaining: number;
  /** the methods the updates are spread over (one without spreading) */
  methods: EtaMethod[];
  opLimit: number;
  windowSec: number;
  batchSize: number;
  drainPerSec: number;
}

export function writebackEta(i: EtaInput): number {
  if (i.remaining <= 0 || !i.methods.length) return 0;
  const per = i.remaining / i.methods.length;
  let op = 0;
  for (const m of i.methods) {
    const free = Math.max(0, i.opLimit - m.used);
    op = Math.max(op, (Math.max(0, per * m.cost - free) * i.windowSec) / i.opLimit);
  }
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
