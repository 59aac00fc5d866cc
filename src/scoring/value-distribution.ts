/**
 * The distribution of a customer's future revenue S = z₁ + … + z_Y (Y future purchases, z their values)
 * and the customer's 80 % predictive intervals.
 *
 * Gamma-Gamma (gammagamma.ts): the values of one customer are Gamma(p, ν); given the customer's x repeat
 * purchases with mean z̄, ν is Gamma(q + p·x, γ + x·z̄) (the posterior; x = 0: the prior Gamma(q, γ)),
 * independent of the number of purchases. Given Y = y and ν, S is Gamma(p·y, ν); over ν, S/(S + γ') is
 * Beta(p·y, q'). So
 *
 *   P(S ≤ s) = P(Y=0) + Σ_{y≥1} P(Y=y) · I_{s/(s+γ')}(p·y, q')      (I = regularized incomplete beta)
 *
 * Without a Gamma-Gamma fit each purchase is worth the fixed value the point forecast uses, S = Y · value.
 * A quantile is the smallest s with P(S ≤ s) ≥ level. valueCdf / valueQuantile here are the exact
 * reference (doubling and bisection to 1e-6 relative); the runs use the fast log-normal mixture of
 * value-quantiles.ts, checked against these.
 *
 * The interval: from the 10 % to the 90 % quantile (80 % of the forecast distribution inside; for a
 * discrete count it holds at least 80 %). Money figures are scaled like the point CLV: × margin × the
 * discount factor (discounted / undiscounted expected purchases of the same customer; it assumes the
 * purchases are spread over the horizon as the expectation is: an approximation of a few percent).
 */
import { discreteQuantile, pmfMean } from './purchase-distribution.js';
import { regularizedIncompleteBeta } from './incomplete-beta.js';
import type { ValueQuantiles } from './value-quantiles.js';

export const INTERVAL_LOW = 0.1;
export const INTERVAL_HIGH = 0.9;

/** Value of one purchase: a Gamma-Gamma posterior (p, q', γ'), or a fixed value. */
export type SpendModel = { kind: 'gamma'; p: number; q: number; gamma: number } | { kind: 'fixed'; value: number };

/** The customer's spend posterior from the Gamma-Gamma parameters and the repeat purchases x with mean z̄. */
export function spendPosterior(g: { p: number; q: number; gamma: number }, x: number, zbar: number): SpendModel {
  if (x > 0 && zbar > 0) return { kind: 'gamma', p: g.p, q: g.q + g.p * x, gamma: g.gamma + x * zbar };
  return { kind: 'gamma', p: g.p, q: g.q, gamma: g.gamma };
}

/** P(S ≤ s). */
export function valueCdf(pmf: Float64Array, spend: SpendModel, s: number): number {
  if (s < 0) return 0;
  if (spend.kind === 'fixed') {
    if (!(spend.value > 0)) return 1;
    let cdf = 0;
    const maxY = Math.floor(s / spend.value + 1e-9);
    for (let y = 0; y <= maxY && y < pmf.length; y++) cdf += pmf[y]!;
    return Math.min(1, cdf);
  }
  let cdf = pmf[0]!;
  if (s === 0) return cdf;
  const u = s / (s + spend.gamma);
  for (let y = 1; y < pmf.length; y++) {
    const w = pmf[y]!;
    if (w < 1e-13) continue;
    cdf += w * regularizedIncompleteBeta(u, spend.p * y, spend.q);
  }
  return Math.min(1, cdf);
}

/** The smallest s ≥ 0 with P(S ≤ s) ≥ level. */
export function valueQuantile(pmf: Float64Array, spend: SpendModel, level: number): number {
  if (pmf[0]! >= level - 1e-12) return 0;
  if (spend.kind === 'fixed') return discreteQuantile(pmf, level) * Math.max(0, spend.value);
  const meanValue = spend.q > 1 ? (spend.p * spend.gamma) / (spend.q - 1) : spend.gamma;
  // bracket [lo, hi] with P(S ≤ lo) < level ≤ P(S ≤ hi), by doubling or halving from the mean
  let hi = Math.max(meanValue * Math.max(1, pmfMean(pmf)), 1e-9);
  for (let i = 0; i < 200 && valueCdf(pmf, spend, hi) < level; i++) hi *= 2;
  let lo = hi / 2;
  for (let i = 0; i < 200 && lo > 1e-9 && valueCdf(pmf, spend, lo) >= level; i++) {
    hi = lo;
    lo /= 2;
  }
  if (lo <= 1e-9) lo = 0;
  while (hi - lo > 1e-6 * hi) {
    const mid = lo === 0 ? hi / 2 : Math.sqrt(lo * hi);
    if (valueCdf(pmf, spend, mid) >= level) hi = mid;
    else lo = mid;
    if (lo === 0 && hi < 1e-9) break;
  }
  return hi;
}

export interface CustomerIntervals {
  purchasesLow: number;
  purchasesHigh: number;
  clvLow: number;
  clvHigh: number;
}

const LEVELS = [INTERVAL_LOW, INTERVAL_HIGH];

/** The 80 % intervals of purchases and CLV; `moneyScale` = margin × discount factor. */
export function customerIntervals(pmf: Float64Array, spend: SpendModel, moneyScale: number, values: ValueQuantiles): CustomerIntervals {
  const money = values.pair;
  values.quantilesInto(pmf, spend, LEVELS, money);
  return {
    purchasesLow: discreteQuantile(pmf, INTERVAL_LOW),
    purchasesHigh: discreteQuantile(pmf, INTERVAL_HIGH),
    clvLow: money[0]! * moneyScale,
    clvHigh: money[1]! * moneyScale,
  };
}
