/**
 * Aggregation of one customer's deals into a compact summary: purchase days (deals of one day
 * merged, refunds netted; a day that nets to ≤ 0 is no purchase), lost-deal facts, open deals and
 * the last purchase day per product section. After this step no per-deal object is kept.
 */
import { toDay, type DayNumber } from './dates.js';
import type { CustomerInput } from './types.js';

export interface CustomerSummary {
  id: string;
  kind: 'contact' | 'company';
  createdDay: DayNumber | null;
  /** ascending purchase days (net value > 0), up to and including "as of" */
  days: Int32Array;
  /** net value of each purchase day */
  values: Float64Array;
  openDeals: number;
  lostTotal: number;
  lostNoResponse: number;
  /** reason of the most recent lost deal whose reason is not a no-response reason */
  refusalReason: string | null;
  /** section id → last purchase day with that section; null when no deal carried sections */
  sections: Map<number, DayNumber> | null;
}

export function normalizeReason(text: string): string {
  return text.trim().toLowerCase().replace(/\s+/g, ' ');
}

/**
 * Purchase-day rule: deals of one day are summed. The day is a purchase day when the sum is > 0,
 * or — with `freeOrdersArePurchases` (default true) — when every deal of the day has amount 0
 * (a free order: a purchase of value 0; the CDNOW data has 8 such first purchases). A day whose
 * refunds (negative amounts) bring it to ≤ 0 is never a purchase day.
 */
export function summarizeCustomer(
  c: CustomerInput,
  asOfDay: DayNumber,
  noResponse: ReadonlySet<string>,
  freeOrdersArePurchases = true,
): CustomerSummary {
  // (day, amount) pairs up to as-of, sorted by day, then merged day by day
  const n0 = c.won.length;
  const dayOf = new Float64Array(n0);
  let kept = 0;
  const order: number[] = [];
  for (let i = 0; i < n0; i++) {
    const deal = c.won[i]!;
    const day = toDay(deal.date);
    if (day > asOfDay) continue;
    if (!Number.isFinite(deal.amount)) throw new RangeError(`customer ${c.id}: deal amount is not a finite number`);
    dayOf[i] = day;
    order.push(i);
    kept++;
  }
  order.sort((i, j) => dayOf[i]! - dayOf[j]!);
  const days: number[] = [];
  const values: number[] = [];
  let sections: Map<number, number> | null = null;
  for (let k = 0; k < kept; ) {
    const day = dayOf[order[k]!]!;
    let net = 0;
    let refund = false;
    let end = k;
    while (end < kept && dayOf[order[end]!] === day) {
      const amount = c.won[order[end]!]!.amount;
      net += amount;
      if (amount < 0) refund = true;
      end++;
    }
    if (net > 0 || (freeOrdersArePurchases && net === 0 && !refund)) {
      days.push(day);
      values.push(net);
      for (let q = k; q < end; q++) {
        const deal = c.won[order[q]!]!;
        if (!deal.sectionIds || deal.amount < 0) continue;
        for (const sec of deal.sectionIds) {
          sections ??= new Map();
          if ((sections.get(sec) ?? -Infinity) < day) sections.set(sec, day);
        }
      }
    }
    k = end;
  }
  let lostTotal = 0;
  let lostNoResponse = 0;
  let refusalReason: string | null = null;
  let refusalDay = -Infinity;
  for (const deal of c.lost ?? []) {
    const day = deal.date === undefined ? -Infinity : toDay(deal.date);
    if (day > asOfDay) continue;
    lostTotal++;
    const id = deal.reasonId ? normalizeReason(deal.reasonId) : '';
    const text = deal.reason ? normalizeReason(deal.reason) : '';
    if ((id !== '' && noResponse.has(id)) || (text !== '' && noResponse.has(text))) {
      lostNoResponse++;
    } else if (day >= refusalDay) {
      refusalDay = day;
      refusalReason = deal.reason?.trim() || deal.reasonId?.trim() || null;
    }
  }
  return {
    id: c.id,
    kind: c.kind ?? 'contact',
    createdDay: c.createdAt === undefined || c.createdAt === null ? null : toDay(c.createdAt),
    days: Int32Array.from(days),
    values: Float64Array.from(values),
    openDeals: c.openDeals ?? 0,
    lostTotal,
    lostNoResponse,
    refusalReason,
    sections,
  };
}
