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
  const from = addMonths(asOfDay, -months);
  let n = 0;
  for (let i = days.length - 1; i >= 0 && days[i]! > from; i--) if (days[i]! <= asOfDay) n++;
  return n;
}

export function lifecycleStage(s: CustomerSummary, asOfDay: DayNumber, settings: ScoringSettings['lifecycle']): LifecycleResult {
  const purchases = s.days.length;
  if (purchases > 0) {
    if (purchaseDaysWithin(s.days, asOfDay, settings.regularWindowMonths) >= settings.regularMinPurchaseDays) {
      return { stage: 'regular', refusalReason: null };
    }
    if (purchases >= settings.returningMinPurchaseDays) return { stage: 'returning', refusalReason: null };
    return { stage: 'one_time', refusalReason: null };
  }
  if (s.openDeals > 0) return { stage: 'in_negotiation', refusalReason: null };
  if (s.lostTotal > s.lostNoResponse) return { stage: 'refused', refusalReason: s.refusalReason };
  return { stage: 'uninterested', refusalReason: null };
}
