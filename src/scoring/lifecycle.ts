/**
 * Lifecycle stage (the purchase path), first match:
 *   regular        ≥ regularMinPurchaseDays purchase days within the last regularWindowMonths
 *   returning      ≥ returningMinPurchaseDays purchase days in total
 *   one_time       exactly one purchase day
 *   in_negotiation no purchase, at least one open deal
 *   refused        no purchase, no open deal, at least one lost deal whose reason is NOT in the
 *                  no-response list (a lost deal without any reason counts as a refusal: silence
 *                  must be stated, not assumed); the most recent such reason is kept
 *   uninterested   no purchase, no open deal, and no deals at all or only lost deals whose reason
 *                  is in the no-response list (e.g. "no response", "не отвечает")
 */
import type { LifecycleCode } from './codes.js';
import { addMonths, type DayNumber } from './dates.js';
import type { ScoringSettings } from './settings.js';
import type { CustomerSummary } from './summary.js';

export interface LifecycleResult {
  stage: LifecycleCode;
  refusalReason: string | null;
}

/** Purchase days within (asOf − N months, asOf]. */
export function purchaseDaysWithin(days: Int32Array, asOfDay: DayNumber, months: number): number {
  return purchaseDaysBetween(days, days.length, addMonths(asOfDay, -months), asOfDay);
}

/** Purchase days among the ascending days[0..n) within (fromDay, asOfDay]. */
export function purchaseDaysBetween(days: Int32Array, n: number, fromDay: DayNumber, asOfDay: DayNumber): number {
  let count = 0;
  for (let i = n - 1; i >= 0 && days[i]! > fromDay; i--) if (days[i]! <= asOfDay) count++;
  return count;
}

export function lifecycleStage(s: CustomerSummary, asOfDay: DayNumber, settings: ScoringSettings['lifecycle']): LifecycleResult {
  const purchases = s.days.length;
  const recent = purchases > 0 ? purchaseDaysWithin(s.days, asOfDay, settings.regularWindowMonths) : 0;
  const stage = lifecycleCode(purchases, recent, s.openDeals, s.lostTotal, s.lostNoResponse, settings);
  return { stage, refusalReason: stage === 'refused' ? s.refusalReason : null };
}

/**
 * The stage from counts: purchase days in total and within the regular window, open deals, lost
 * deals and those of them closed for a no-response reason.
 */
export function lifecycleCode(
  purchases: number,
  purchasesInWindow: number,
  openDeals: number,
  lostTotal: number,
  lostNoResponse: number,
  settings: ScoringSettings['lifecycle'],
): LifecycleCode {
  if (purchases > 0) {
    if (purchasesInWindow >= settings.regularMinPurchaseDays) return 'regular';
    if (purchases >= settings.returningMinPurchaseDays) return 'returning';
    return 'one_time';
  }
  if (openDeals > 0) return 'in_negotiation';
  if (lostTotal > lostNoResponse) return 'refused';
  return 'uninterested';
}
