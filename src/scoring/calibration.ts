/**
 * How well a forecast distribution matched what happened, for a count or an amount that is often
 * exactly 0 (Czado, Gneiting & Held 2009, "Predictive model assessment for count data", Biometrics
 * 65(4): the non-randomized PIT).
 *
 * An 80 % interval of a count cannot hold exactly 80 %: a customer who is most likely gone has, say,
 * P(0 purchases) = 0.95, and the interval [0, 0] holds 95 %. So "the share of customers whose actual
 * value fell inside their interval" is above 80 % even for a perfect model (insideRange; the model's
 * own expectation of it is expectedInside). The coverage of the middle 80 % instead places the actual
 * value y within the forecast's cumulative probabilities [P(Y < y), P(Y ≤ y)] and counts the part of
 * that step lying between 0.1 and 0.9 (a whole customer when there is no step): for a correct model
 * the average is 80 %, whatever the steps.
 */
import { INTERVAL_HIGH, INTERVAL_LOW, type SpendModel } from './value-distribution.js';
import type { ValueQuantiles } from './value-quantiles.js';

/** The part of the step [a, b] of the cumulative distribution that lies in [0.1, 0.9] (a point: 1 or 0). */
export function middleShare(a: number, b: number): number {
  if (b - a < 1e-12) return a >= INTERVAL_LOW && a <= INTERVAL_HIGH ? 1 : 0;
  return Math.max(0, Math.min(b, INTERVAL_HIGH) - Math.max(a, INTERVAL_LOW)) / (b - a);
}

/** [P(Y < y), P(Y ≤ y)] of a count. */
export function countStep(pmf: Float64Array, y: number): [number, number] {
  let below = 0;
  for (let k = 0; k < y && k < pmf.length; k++) below += pmf[k]!;
  return [Math.min(1, below), Math.min(1, below + (y < pmf.length && y >= 0 ? pmf[y]! : 0))];
}

/** [P(S < v), P(S ≤ v)] of an amount (v in the units of S), with the CDF the intervals use. */
export function valueStep(pmf: Float64Array, spend: SpendModel, v: number, values: ValueQuantiles): [number, number] {
  if (v < 0) return [0, 0];
  if (v === 0) return [0, pmf[0]!];
  const at = values.cdf(pmf, spend, v);
  if (spend.kind === 'gamma') return [at, at];
  return [values.cdf(pmf, spend, v - 1e-9 * Math.max(1, v)), at];
}

/** P(low ≤ Y ≤ high) under the forecast itself. */
export function massInside(pmf: Float64Array, low: number, high: number): number {
  let m = 0;
  for (let k = low; k <= high && k < pmf.length; k++) m += pmf[k]!;
  return Math.min(1, m);
}
