/**
 * Sleeping customers.
 *
 * Repeat buyers (≥ 2 purchase days): their usual cycle is the median gap g between consecutive
 * purchase days. The next purchase is expected on last + g. They sleep when they have missed
 * `missedCycles` whole cycles after that expected day:
 *     sleeping ⇔ days_since_last > g × (1 + missedCycles)        (default missedCycles = 1 ⇒ > 2g)
 *     days_overdue = max(0, days_since_last − g)
 * One-time buyers have no cycle: they sleep when days_since_last > oneTimeDays (default 180);
 * no expected date is given for them. Customers without purchases are neither (null).
 */
import type { DayNumber } from './dates.js';
import type { ScoringSettings } from './settings.js';
import { median } from './special.js';

export interface SleepingResult {
  sleeping: boolean | null;
  medianGapDays: number | null;
  expectedNextDay: DayNumber | null;
  daysOverdue: number | null;
  /** how many cycles (or one-time thresholds) have passed since the last purchase */
  cyclesSinceLast: number | null;
}

export function medianGap(days: Int32Array): number {
  const gaps = new Float64Array(days.length - 1);
  for (let i = 1; i < days.length; i++) gaps[i - 1] = days[i]! - days[i - 1]!;
  return median(gaps);
}

/**
 * medianGap(days[0..n)) without allocating: the gaps go into `scratch` (at least n − 1 long) and are
 * sorted there (insertion sort for the usual few gaps). The gaps are whole numbers, so any exact
 * sort gives the same middle values and the same median as `median`.
 */
export function medianGapInto(days: Int32Array, n: number, scratch: Float64Array): number {
  const m = n - 1;
  if (m <= 0) return NaN;
  for (let i = 1; i < n; i++) scratch[i - 1] = days[i]! - days[i - 1]!;
  if (m > 32) scratch.subarray(0, m).sort();
  else {
    for (let i = 1; i < m; i++) {
      const v = scratch[i]!;
      let j = i - 1;
      while (j >= 0 && scratch[j]! > v) {
        scratch[j + 1] = scratch[j]!;
        j--;
      }
      scratch[j + 1] = v;
    }
  }
  const mid = m >> 1;
  return m % 2 === 1 ? scratch[mid]! : (scratch[mid - 1]! + scratch[mid]!) / 2;
}

const NOT_APPLICABLE: SleepingResult = Object.freeze({
  sleeping: null, medianGapDays: null, expectedNextDay: null, daysOverdue: null, cyclesSinceLast: null,
}) as SleepingResult;

export function sleepingStatus(days: Int32Array, asOfDay: DayNumber, settings: ScoringSettings['sleeping']): SleepingResult {
  if (days.length === 0) return { ...NOT_APPLICABLE };
  return sleepingOf(days.length, days[days.length - 1]!, days.length > 1 ? medianGap(days) : NaN, asOfDay, settings);
}

/** The same from a customer's purchase-day count (≥ 1), last purchase day and median gap (repeat buyers). */
export function sleepingOf(
  purchaseDays: number,
  lastDay: DayNumber,
  gap: number,
  asOfDay: DayNumber,
  settings: ScoringSettings['sleeping'],
): SleepingResult {
  const since = asOfDay - lastDay;
  if (purchaseDays === 1) {
    return {
      sleeping: since > settings.oneTimeDays,
      medianGapDays: null,
      expectedNextDay: null,
      daysOverdue: null,
      cyclesSinceLast: since / settings.oneTimeDays,
    };
  }
  const g = gap;
  return {
    sleeping: since > g * (1 + settings.missedCycles),
    medianGapDays: g,
    expectedNextDay: lastDay + Math.round(g),
    daysOverdue: Math.max(0, since - Math.round(g)),
    cyclesSinceLast: since / g,
  };
}

/**
 * Rule-based P(alive) used when the BG/NBD fit is unavailable: 1 while awake, then halving for
 * every further cycle (or one-time threshold) without a purchase: 2^−(c − (1 + missedCycles))
 * for repeat buyers, 2^−(c − 1) for one-time buyers, where c = cyclesSinceLast. 0 without purchases.
 */
export function ruleBasedPAlive(s: SleepingResult, settings: ScoringSettings['sleeping']): number {
  if (s.cyclesSinceLast === null) return 0;
  const limit = s.medianGapDays === null ? 1 : 1 + settings.missedCycles;
  return s.cyclesSinceLast <= limit ? 1 : Math.pow(2, -(s.cyclesSinceLast - limit));
}
