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

export function sleepingStatus(days: Int32Array, asOfDay: DayNumber, settings: ScoringSettings['sleeping']): SleepingResult {
  if (days.length === 0) {
    return { sleeping: null, medianGapDays: null, expectedNextDay: null, daysOverdue: null, cyclesSinceLast: null };
  }
  const last = days[days.length - 1]!;
  const since = asOfDay - last;
  if (days.length === 1) {
    return {
      sleeping: since > settings.oneTimeDays,
      medianGapDays: null,
      expectedNextDay: null,
      daysOverdue: null,
      cyclesSinceLast: since / settings.oneTimeDays,
    };
  }
  const g = medianGap(days);
  return {
    sleeping: since > g * (1 + settings.missedCycles),
    medianGapDays: g,
    expectedNextDay: last + Math.round(g),
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
