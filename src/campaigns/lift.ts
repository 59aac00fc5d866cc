/**
 * The statistics of a campaign, pure (no I/O): treatment vs holdout.
 *
 *  - lift of purchases per member: mean_T / mean_H − 1, with a 90 % confidence interval by the
 *    delta method on the log of the ratio: se² = s_T² / (n_T mean_T²) + s_H² / (n_H mean_H²),
 *    interval exp(log(ratio) ± z·se) − 1 (z = 1.645). Null when a group has fewer than 2 members
 *    or no purchase at all (the ratio has no log).
 *  - difference of conversion rates p_T − p_H, with Newcombe's hybrid score interval (from the
 *    two Wilson intervals), 90 %.
 *  - `significant`: the lift's interval excludes 0 (the whole interval above, or below, no change).
 * A coverage check by simulation is test/unit/campaign-lift.test.ts.
 */

/** z of a two-sided 90 % interval. */
export const Z90 = 1.6448536269514722;

/** Sums over one group's members of one figure: n members, Σx, Σx². */
export interface Sums {
  n: number;
  sum: number;
  sumSq: number;
}

export interface Interval {
  estimate: number;
  low: number;
  high: number;
}

const mean = (s: Sums) => s.sum / s.n;
/** The sample variance (n − 1). */
const variance = (s: Sums) => Math.max(0, (s.sumSq - s.n * mean(s) ** 2) / (s.n - 1));

/** mean_T / mean_H − 1 with its interval (module comment); null when undefined. */
export function relativeLift(t: Sums, h: Sums, z = Z90): Interval | null {
  if (t.n < 2 || h.n < 2 || t.sum <= 0 || h.sum <= 0) return null;
  const mt = mean(t);
  const mh = mean(h);
  const se = Math.sqrt(variance(t) / (t.n * mt * mt) + variance(h) / (h.n * mh * mh));
  const lr = Math.log(mt / mh);
  return { estimate: Math.exp(lr) - 1, low: Math.exp(lr - z * se) - 1, high: Math.exp(lr + z * se) - 1 };
}

/** Wilson's score interval of x successes in n. */
export function wilson(x: number, n: number, z = Z90): { low: number; high: number } {
  if (n === 0) return { low: 0, high: 1 };
  const p = x / n;
  const z2 = z * z;
  const c = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { low: Math.max(0, c - half), high: Math.min(1, c + half) };
}

/** p_T − p_H (x converted of n) with Newcombe's hybrid score interval; null when a group is empty. */
export function conversionDifference(xt: number, nt: number, xh: number, nh: number, z = Z90): Interval | null {
  if (nt === 0 || nh === 0) return null;
  const pt = xt / nt;
  const ph = xh / nh;
  const wt = wilson(xt, nt, z);
  const wh = wilson(xh, nh, z);
  const d = pt - ph;
  return {
    estimate: d,
    low: d - Math.sqrt((pt - wt.low) ** 2 + (wh.high - ph) ** 2),
    high: d + Math.sqrt((wt.high - pt) ** 2 + (ph - wh.low) ** 2),
  };
}

/** The interval excludes 0. */
export const isSignificant = (i: Interval | null): boolean => i !== null && (i.low > 0 || i.high < 0);

/** (incremental margin − cost) / cost; null when there is no cost. */
export const roiOf = (incrementalMargin: number, cost: number): number | null => (cost > 0 ? (incrementalMargin - cost) / cost : null);
