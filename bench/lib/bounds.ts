/**
 * Lower bounds on the portal time a run needs for the calls it made, under the portal's
 * declared limits and cost model (the emulator's `/_emulator/limits`, see `boundModel`):
 *
 *  - requests: the leaky bucket (burst B, drain D per s) lets at most B + D·T requests through
 *    in T seconds, so T ≥ (R − B) / D.
 *  - operating per method, with the floor and batching rules: a request is charged, per method,
 *    the SUM of that method's processing in it, and nothing when that sum is ≤ the floor (0.1 s).
 *    So a request can carry f = ⌊floor / c⌋ calls of cost c for free, and every other call is
 *    charged c. In T seconds at most B + D·T requests exist, so a method needs at least
 *    c · (n − f·(B + D·T)) charged seconds (`leastCharged`).
 *  - what a method can be charged in T seconds (`capacity`): buckets are calendar minutes and a
 *    request is refused while the live sum (this minute + the 9 before) is > the limit L. An
 *    interval of T seconds touches at most ⌊T/60⌋ + 2 minutes, i.e. ⌈(⌊T/60⌋ + 2)/10⌉ groups of ten
 *    consecutive minutes, and each group holds at most L + one request's charge (the request admitted
 *    at a sum ≤ L; a batch carries ≤ 50 calls). Cap(T) = (L + s)·groups(T).
 *    The per-method bound is the least T with leastCharged(T) ≤ Cap(T); the same with the charge
 *    the emulator actually made (`charged`) is the bound for the calls AS GROUPED.
 *  - the first window(s): before W_k = 600·k − 60 s every minute the run has charged is still in one
 *    of k groups, so a method can have run at most f·(B + D·W_k) free calls and k·(L + s)/c charged
 *    ones. Its remaining calls come after W_k, ≥ ⌈Σ remaining / 50⌉ requests, and the bucket lets
 *    those through no faster than T ≥ W_k + (requests − B)/D.
 * Every bound assumes the run's calls are the first of their method in the portal's window (the
 * benches start on a fresh portal or after a quiet hour). The per-call cost c of a method is the run's
 * average processing per call (reported `time.processing`), so f is exact for fixed-cost methods and
 * an average for list pages whose rows vary.
 */

/** The limits and cost rules the bounds are computed under (from the portal's declared model). */
export interface BoundModel {
  burst: number;
  /** Requests drained per portal second. */
  drain: number;
  /** Operating limit per method per window, seconds ("sum > limit" blocks). */
  opLimit: number;
  /** A method's processing summed within one request is not charged when ≤ floor. */
  floor: number;
  /** Calendar-minute bucket length and the number of buckets that are live (current + previous). */
  bucketSec: number;
  buckets: number;
  /** Most commands in one batch. */
  maxBatch: number;
}

/** Per method: calls executed, their summed processing (reported), and the operating charged. */
export interface MethodUse {
  calls: number;
  processingSeconds: number;
  chargedSeconds: number;
}

export interface MethodBound {
  method: string;
  calls: number;
  /** Average processing per call, s. */
  perCall: number;
  /** Calls a request can carry free of charge (the floor). */
  freePerRequest: number;
  processingSeconds: number;
  chargedSeconds: number;
  /** Least T for the calls as the run grouped them (its charged seconds). */
  asGrouped: number;
  /** Least T for any grouping of these calls (floor and batching rules). */
  anyGrouping: number;
}

export interface RunBounds {
  requests: number;
  requestBound: number;
  methods: MethodBound[];
  /** Largest first-window bound and the window it comes from (k = 1: the first 10 minutes). */
  window: { bound: number; k: number; requestsAfter: number };
  /** The largest of all the bounds above, and which one it is. */
  largest: { bound: number; by: string };
}

const WINDOW_SEC = (m: BoundModel) => m.bucketSec * m.buckets;

export function requestBound(requests: number, m: BoundModel): number {
  return Math.max(0, (requests - m.burst) / m.drain);
}

/** Groups of `buckets` consecutive calendar minutes an interval of T seconds can touch. */
export function groups(t: number, m: BoundModel): number {
  return Math.ceil((Math.floor(t / m.bucketSec) + 2) / m.buckets);
}

/** Most operating seconds one method can be charged in T seconds. */
export function capacity(t: number, m: BoundModel, perCall: number): number {
  return (m.opLimit + m.maxBatch * perCall) * groups(t, m);
}

export function freePerRequest(perCall: number, m: BoundModel): number {
  return perCall > 0 ? Math.floor(m.floor / perCall + 1e-9) : Infinity;
}

/** Least charged seconds n calls of cost c need within T seconds, with the floor. */
export function leastCharged(n: number, perCall: number, t: number, m: BoundModel): number {
  const free = freePerRequest(perCall, m) * (m.burst + m.drain * t);
  return perCall * Math.max(0, n - free);
}

/** Least T (to 0.1 s) with need(T) ≤ capacity(T); need is non-increasing, capacity non-decreasing. */
function leastTime(need: (t: number) => number, cap: (t: number) => number): number {
  if (need(0) <= cap(0)) return 0;
  let lo = 0;
  let hi = 60;
  while (need(hi) > cap(hi)) { lo = hi; hi *= 2; if (hi > 1e9) return Infinity; }
  while (hi - lo > 0.05) {
    const mid = (lo + hi) / 2;
    if (need(mid) > cap(mid)) lo = mid; else hi = mid;
  }
  return hi;
}

export function methodBound(method: string, u: MethodUse, m: BoundModel): MethodBound {
  const c = u.calls > 0 ? u.processingSeconds / u.calls : 0;
  const cap = (t: number) => capacity(t, m, c);
  return {
    method, calls: u.calls, perCall: c, freePerRequest: freePerRequest(c, m),
    processingSeconds: u.processingSeconds, chargedSeconds: u.chargedSeconds,
    asGrouped: leastTime(() => u.chargedSeconds, cap),
    anyGrouping: c > 0 ? leastTime((t) => leastCharged(u.calls, c, t, m), cap) : 0,
  };
}

/** The first-window bounds (k = 1, 2, …): work left after W_k needs requests after W_k. */
export function windowBound(methods: MethodBound[], m: BoundModel): { bound: number; k: number; requestsAfter: number } {
  let best = { bound: 0, k: 0, requestsAfter: 0 };
  for (let k = 1; k < 1000; k++) {
    const wk = WINDOW_SEC(m) * k - m.bucketSec;
    let after = 0;
    for (const x of methods) {
      if (x.perCall <= 0) continue;
      const before = freePerRequest(x.perCall, m) * (m.burst + m.drain * wk) + (k * (m.opLimit + m.maxBatch * x.perCall)) / x.perCall;
      after += Math.max(0, x.calls - before);
    }
    if (after <= 0) break;
    const requestsAfter = Math.ceil(after / m.maxBatch);
    const bound = wk + Math.max(0, (requestsAfter - m.burst) / m.drain);
    if (bound > best.bound) best = { bound, k, requestsAfter };
  }
  return best;
}

export function runBounds(requests: number, use: Record<string, MethodUse>, m: BoundModel): RunBounds {
  const methods = Object.entries(use)
    .filter(([name, u]) => name !== 'batch' && u.calls > 0)
    .map(([name, u]) => methodBound(name, u, m))
    .sort((a, b) => b.chargedSeconds - a.chargedSeconds);
  const rb = requestBound(requests, m);
  const window = windowBound(methods, m);
  let largest = { bound: rb, by: 'requests' };
  for (const x of methods) {
    if (x.asGrouped > largest.bound) largest = { bound: x.asGrouped, by: `${x.method} (as grouped)` };
    if (x.anyGrouping > largest.bound) largest = { bound: x.anyGrouping, by: `${x.method} (any grouping)` };
  }
  if (window.bound > largest.bound) largest = { bound: window.bound, by: `window ${window.k}` };
  return { requests, requestBound: rb, methods, window, largest };
}

/** Reads the model the bounds need from the portal's declared limits (`GET /_emulator/limits`). */
export function boundModel(limits: unknown): BoundModel {
  const l = limits as {
    bucket?: { burst?: number; drain?: number };
    operatingLimit?: number;
    costs?: { floor?: number; minimalFixTime?: number; bucketSec?: number; buckets?: number };
  };
  const need = (v: number | undefined, what: string): number => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`the portal's limits do not declare ${what}`);
    return v;
  };
  return {
    burst: need(l.bucket?.burst, 'bucket.burst'),
    drain: need(l.bucket?.drain, 'bucket.drain'),
    opLimit: need(l.operatingLimit, 'operatingLimit'),
    // a model that declares no floor charges every call (the pre-issue-12 emulator)
    floor: l.costs?.minimalFixTime ?? l.costs?.floor ?? 0,
    bucketSec: l.costs?.bucketSec ?? 60,
    buckets: l.costs?.buckets ?? 10,
    maxBatch: 50,
  };
}

/** The emulator's per-method stats (`/_emulator/stats` limits.methods) as bound inputs. */
export function methodUse(methods: Record<string, { calls: number; operatingSeconds: number; processingSeconds?: number }>): Record<string, MethodUse> {
  const out: Record<string, MethodUse> = {};
  for (const [m, v] of Object.entries(methods)) {
    // a model without `processingSeconds` charged every call in full: processing = charged
    out[m] = { calls: v.calls, processingSeconds: v.processingSeconds ?? v.operatingSeconds, chargedSeconds: v.operatingSeconds };
  }
  return out;
}
