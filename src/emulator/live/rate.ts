/**
 * The purchase rate of a live customer over portal time: λ per year, times (1 + R) inside the
 * customer's uplift intervals (a workflow was started on them), zero after the customer's death.
 * Purchases are a Poisson process in this rate: the next one comes when the integral of the rate
 * since the last one reaches a unit-exponential mass (the time-change construction), which keeps
 * the process exact when the rate changes in the middle of a gap.
 */
import type { LiveCustomerRec } from '../model.js';

const YEAR_MS = 365.25 * 86_400_000;

/** How long an uplift lasts after the latest workflow start on the customer: 13 weeks (the longest measurement window, 90 days, fits). */
export const UPLIFT_WEEKS = 13;
export const UPLIFT_MS = UPLIFT_WEEKS * 7 * 86_400_000;

export interface Arrival {
  /** Portal ms of the next purchase, or null when none comes before `to`. */
  t: number | null;
  /** Mass still to spend after `to` (when t is null). */
  budget: number;
}

function boosted(boosts: readonly number[], t: number): boolean {
  for (let i = 0; i + 1 < boosts.length; i += 2) if (t >= (boosts[i] ?? 0) && t < (boosts[i + 1] ?? 0)) return true;
  return false;
}

/** The next purchase after `from` with `budget` of mass to spend, looking no further than `to`. */
export function nextArrival(c: Pick<LiveCustomerRec, 'lambda' | 'deathAt' | 'boosts'>, uplift: number, from: number, budget: number, to: number): Arrival {
  const end = Math.min(to, c.deathAt);
  if (!(c.lambda > 0) || from >= end) return { t: null, budget };
  const cuts = c.boosts.filter((b) => b > from && b < end).sort((a, b) => a - b);
  cuts.push(end);
  let a = from;
  let left = budget;
  for (const b of cuts) {
    const rate = (c.lambda / YEAR_MS) * (boosted(c.boosts, a) ? 1 + uplift : 1);
    const mass = rate * (b - a);
    if (rate > 0 && left <= mass) return { t: a + left / rate, budget: 0 };
    left -= mass;
    a = b;
  }
  return { t: null, budget: left };
}

/** Adds the uplift interval of a workflow start at `at` (merged with an interval it overlaps). */
export function addBoost(c: LiveCustomerRec, at: number): void {
  const until = at + UPLIFT_MS;
  const n = c.boosts.length;
  if (n >= 2 && at <= (c.boosts[n - 1] ?? -Infinity)) {
    c.boosts[n - 1] = Math.max(c.boosts[n - 1] ?? 0, until);
    return;
  }
  c.boosts.push(at, until);
}

/** Drops intervals that ended before `t` (they can no longer change the process). */
export function pruneBoosts(c: LiveCustomerRec, t: number): void {
  let i = 0;
  while (i + 1 < c.boosts.length && (c.boosts[i + 1] ?? 0) <= t) i += 2;
  if (i > 0) c.boosts.splice(0, i);
}
