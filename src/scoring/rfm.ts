/**
 * RFM values and levels.
 *
 * Values: R = days since the last purchase day; F = number of purchase days (optionally only
 * within the last N months); M = total (or average) net value of the purchase days.
 *
 * Levels 1…k (k = 3 or 5, k best) come from k−1 bounds per dimension. A customer earns one level
 * for each bound they strictly beat: F and M beat a bound by being above it, R by being below it.
 *   level = 1 + #{ i : value > bound_i }   (frequency, monetary)
 *   level = 1 + #{ i : value < bound_i }   (recency)
 * Fixed mode takes the bounds from the admin. Quantile mode derives them from the customers:
 *   bound_i = the value at rank ⌈i·n/k⌉ (1-based) in worst-to-best order,
 * so, with distinct values, exactly ⌈i·n/k⌉ customers are at level ≤ i (bins balanced to ±1),
 * and a group of tied values always stays together in the lower level it reaches (deterministic);
 * a tie group too large for its level pushes the next bounds on to the next distinct values, so
 * no level is left empty (rankBounds: the tie rule).
 * When a dimension has at most k distinct values, the distinct values are spread over the scale
 * instead (worst → 1, best → k, the rest evenly between), and when all values are equal everyone
 * gets the middle level: quantiles carry no information there.
 */
import type { Scale } from './codes.js';

export type Dimension = 'recency' | 'frequency' | 'monetary';
export type Direction = 'higher_better' | 'lower_better';

export interface DimensionThresholds {
  dimension: Dimension;
  direction: Direction;
  levels: Scale;
  /** k−1 bounds; see the module comment for their meaning */
  bounds: number[];
  method: 'quantile' | 'spread' | 'constant' | 'fixed';
}

export const DIRECTION: Record<Dimension, Direction> = {
  recency: 'lower_better',
  frequency: 'higher_better',
  monetary: 'higher_better',
};

/** level = 1 + number of bounds the value strictly beats */
export function levelOf(value: number, t: Pick<DimensionThresholds, 'bounds' | 'direction'>): number {
  let level = 1;
  for (const b of t.bounds) if (t.direction === 'higher_better' ? value > b : value < b) level++;
  return level;
}

/** Quantile bounds (with the few-distinct-values and all-equal cases) for one dimension. */
export function quantileThresholds(values: ArrayLike<number>, levels: Scale, dimension: Dimension): DimensionThresholds {
  const direction = DIRECTION[dimension];
  // worst-to-best order
  const sorted = Float64Array.from(values).sort();
  if (direction === 'lower_better') sorted.reverse();
  const distinct: number[] = [];
  for (const v of sorted) if (distinct.length === 0 || distinct[distinct.length - 1] !== v) distinct.push(v);
  if (distinct.length <= 1) {
    // all equal (or no data): everyone at the middle level
    const v = distinct[0] ?? 0;
    const mid = Math.ceil(levels / 2);
    const below = direction === 'higher_better' ? v - 1 : v + 1; // a bound the value beats
    const bounds = Array.from({ length: levels - 1 }, (_, i) => (i + 1 < mid ? below : v));
    return { dimension, direction, levels, bounds, method: 'constant' };
  }
  if (distinct.length <= levels) {
    const d = distinct.length;
    const target = distinct.map((_, j) => 1 + Math.round((j * (levels - 1)) / (d - 1)));
    const bounds: number[] = [];
    for (let i = 1; i < levels; i++) {
      // the best distinct value whose target level is ≤ i: values beyond it reach level > i
      let j = 0;
      while (j + 1 < d && target[j + 1]! <= i) j++;
      bounds.push(distinct[j]!);
    }
    return { dimension, direction, levels, bounds, method: 'spread' };
  }
  return { dimension, direction, levels, bounds: rankBounds(sorted, distinct, levels), method: 'quantile' };
}

/**
 * The tie rule of quantile mode (more than k distinct values). Bound i starts at the value at rank
 * ⌈i·n/k⌉ (worst to best). When a tie group is so large that this value is the previous bound's
 * (or an earlier) value, the bound moves on to the next distinct value, so level i holds exactly that
 * value; and a bound never goes so far that fewer distinct values than levels remain above it. With
 * more than k distinct values no level is ever empty: on a shop where most customers buy once, F=1
 * is one purchase day, F=2 two, and so on until the quantiles take over.
 */
function rankBounds(sorted: Float64Array, distinct: readonly number[], levels: Scale): number[] {
  const n = sorted.length;
  const d = distinct.length;
  const bounds: number[] = [];
  let prev = -1; // distinct index of the previous bound
  let j = 0; // distinct index of the value at the current rank (ranks only grow)
  for (let i = 1; i < levels; i++) {
    const v = sorted[Math.ceil((i * n) / levels) - 1]!;
    while (distinct[j] !== v) j++;
    const at = Math.min(Math.max(j, prev + 1), d - 1 - (levels - i));
    bounds.push(distinct[at]!);
    prev = at;
  }
  return bounds;
}

export function fixedThresholds(bounds: readonly number[], levels: Scale, dimension: Dimension): DimensionThresholds {
  return { dimension, direction: DIRECTION[dimension], levels, bounds: [...bounds], method: 'fixed' };
}

/**
 * The values each level holds, for explaining a level in any language (the UI words it with its
 * locales). `min` / `max` are inclusive unless `minExclusive`; null = open. Whole-number dimensions
 * (recency in days, frequency in purchase days) are given as whole numbers, so "recency below 30"
 * reads as max 29 and "frequency above 2" as min 3; monetary keeps "above 10 000" exclusive.
 * A level no value can reach (min above max) is `empty: true`.
 */
export interface LevelRange {
  level: number;
  min: number | null;
  max: number | null;
  minExclusive: boolean;
  empty: boolean;
}

export function levelRanges(t: Pick<DimensionThresholds, 'bounds' | 'direction' | 'levels' | 'dimension'>): LevelRange[] {
  const whole = t.dimension !== 'monetary';
  const out: LevelRange[] = [];
  for (let level = 1; level <= t.levels; level++) {
    // level L beats exactly the first L−1 bounds (bounds run worst to best)
    const beaten = level >= 2 ? t.bounds[level - 2]! : null;
    const notBeaten = level <= t.bounds.length ? t.bounds[level - 1]! : null;
    let min: number | null;
    let max: number | null;
    let minExclusive = false;
    if (t.direction === 'higher_better') {
      // value > beaten and value ≤ notBeaten
      min = beaten;
      max = notBeaten;
      if (min !== null) { if (whole) min = Math.floor(min) + 1; else minExclusive = true; }
    } else {
      // value < beaten and value ≥ notBeaten
      min = notBeaten;
      max = beaten === null ? null : whole ? Math.ceil(beaten) - 1 : beaten;
      if (min !== null && whole) min = Math.ceil(min);
    }
    if (whole && t.direction === 'higher_better' && max !== null) max = Math.floor(max);
    if (whole && min !== null && min < 0) min = 0;
    const empty = min !== null && max !== null && (min > max || (minExclusive && min >= max));
    out.push({ level, min, max, minExclusive, empty });
  }
  return out;
}

/** Plain-words explanation of a level, e.g. "R=4: recency 12 days is below 30 and 90 but not below 14". */
export function explainLevel(value: number, t: DimensionThresholds): string {
  const level = levelOf(value, t);
  const op = t.direction === 'higher_better' ? 'above' : 'below';
  const beaten = t.bounds.filter((b) => (t.direction === 'higher_better' ? value > b : value < b));
  const notBeaten = t.bounds.filter((b) => !beaten.includes(b));
  const head = `${t.dimension[0]!.toUpperCase()}=${level}/${t.levels}: ${t.dimension} ${value}`;
  const parts = [beaten.length ? `is ${op} ${beaten.join(', ')}` : `is not ${op} any bound`];
  if (beaten.length && notBeaten.length) parts.push(`but not ${op} ${notBeaten.join(', ')}`);
  return `${head} ${parts.join(' ')} (${t.method} bounds ${t.bounds.join(' / ')})`;
}
