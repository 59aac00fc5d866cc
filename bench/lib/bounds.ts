/**
 * Lower bounds on portal time implied by the standard plan's limits for the calls made
 * (https://apidocs.bitrix24.com/settings/performance/limits.html):
 *  - requests: leaky bucket, burst 50, drain 2/s → T ≥ max(0, (requests − 50) / 2)
 *  - operating, per method: 480 s per sliding 600 s window (the first 480 s can be spent at
 *    once) → smooth bound T ≥ 600 · max(0, O/480 − 1); the 1-minute buckets make the real
 *    minimum a step: T ≥ 600 · (⌈O/480⌉ − 1) (a method with O ≤ 480 never waits).
 *  - the first window (windowBound below): what a method spends beyond 480 s is spent after
 *    portal second 600, and needs requests then.
 * The bound is the max over these (lowerBound: requests and operating; windowBound separately).
 */
import { DEFAULT_COST_MODEL } from '../../src/emulator/limits.js';

export interface MethodUse { calls: number; operatingSeconds: number }

export const PLAN = { burst: 50, drain: 2, opLimit: 480, window: 600 };

export function requestBound(requests: number): number {
  return Math.max(0, (requests - PLAN.burst) / PLAN.drain);
}

export function operatingBound(op: number, step = false): number {
  if (op <= PLAN.opLimit) return 0;
  return step ? PLAN.window * (Math.ceil(op / PLAN.opLimit) - 1) : PLAN.window * (op / PLAN.opLimit - 1);
}

export function lowerBound(requests: number, methods: Record<string, MethodUse>, step = false): { bound: number; by: string } {
  let bound = requestBound(requests);
  let by = 'requests';
  for (const [m, u] of Object.entries(methods)) {
    const b = operatingBound(u.operatingSeconds, step);
    if (b > bound) { bound = b; by = m; }
  }
  return { bound, by };
}

/**
 * Most operating seconds one call can be charged (the emulator's cost model, which the bench
 * measures against, src/emulator/costs.ts): a list page 0.03 s + 0.0007 s × ≤50 rows (no count
 * with start=-1); crm.deal.productrows.get is a product-row read (0.1 s). Any other method is assumed to cost as much as a full list page (a larger
 * maximum only weakens the bound below, so it stays a lower bound).
 */
export function maxCallCost(method: string): number {
  const k = DEFAULT_COST_MODEL.classes;
  if (method === 'crm.deal.productrows.get') return k.productRowRead;
  return k.list + DEFAULT_COST_MODEL.perRow * PLAN.burst;
}

/**
 * Lower bound from the FIRST window (for a run whose calls are the first of their methods in
 * the portal's window, as in the bench's full pull on a fresh portal): every operating second
 * a method spends before portal second 600 of the run is in a bucket that started at or after
 * the run's start, so it is still live at every moment before 600, so at
 * most 480 s (+ one call admitted just under the limit) are spent before 600. The rest,
 * O − 480 − c_max, is spent at or after 600, by at least (O − 480 − c_max) / c_max calls;
 * a batch carries ≤ 50 calls, so those calls need ⌈Σ calls / 50⌉ requests after 600, which the
 * bucket (≤ 50 at once, 2/s) lets through no faster than (requests − 50) / 2 seconds:
 *   T ≥ 600 + max(0, (⌈Σ_m (O_m − 480 − c_m)⁺ / c_m / 50⌉ − 50) / 2)   when some O_m > 480.
 */
export function windowBound(methods: Record<string, MethodUse>): number {
  let calls = 0;
  let any = false;
  for (const [m, u] of Object.entries(methods)) {
    const c = maxCallCost(m);
    const after = u.operatingSeconds - PLAN.opLimit - c;
    if (after > 0) { any = true; calls += after / c; }
  }
  if (!any) return 0;
  return PLAN.window + Math.max(0, (Math.ceil(calls / PLAN.burst) - PLAN.burst) / PLAN.drain);
}
