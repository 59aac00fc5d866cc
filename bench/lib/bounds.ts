/**
 * Lower bounds on portal time implied by the standard plan's limits for the calls made
 * (reference §4):
 *  - requests: leaky bucket, burst 50, drain 2/s → T ≥ max(0, (requests − 50) / 2)
 *  - operating, per method: 480 s per sliding 600 s window (the first 480 s can be spent at
 *    once) → smooth bound T ≥ 600 · max(0, O/480 − 1); the 1-minute buckets make the real
 *    minimum a step: T ≥ 600 · (⌈O/480⌉ − 1) (a method with O ≤ 480 never waits).
 * The bound is the max over these.
 */
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
