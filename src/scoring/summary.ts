/**
 * Aggregation of one customer's deals into a compact summary: purchase days (deals of one day
 * merged, refunds netted; a day that nets to ≤ 0 is no purchase), lost-deal facts, open deals and
 * the last purchase day per product section. After this step no per-deal object is kept.
 *
 * `scanCustomer` applies these rules into reusable scratch buffers (no allocation per customer once
 * the buffers have grown); `summarizeCustomer` copies the result into a self-contained summary.
 * scorePortal reduces the scratch straight to per-customer scalars (see columns.ts), so that it
 * keeps no per-customer arrays.
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
 * One customer's aggregated deals, in buffers reused from customer to customer: purchase days
 * `days[0..nDays)` with their values, and the sections `secIds[0..nSections)` (first-purchase
 * order) with their last purchase day `secDays`.
 */
export class CustomerScratch {
  /** per won deal: its day, and the deal indices sorted by day (stable) */
  dayOf = new Float64Array(16);
  order = new Int32Array(16);
  days = new Int32Array(16);
  values = new Float64Array(16);
  nDays = 0;
  secIds = new Float64Array(16);
  secDays = new Float64Array(16);
  nSections = 0;
  hasSections = false;
  lostTotal = 0;
  lostNoResponse = 0;
  refusalReason: string | null = null;
  /** section id → slot, used only for customers with many sections */
  private secSlot = new Map<number, number>();

  ensureDeals(n: number): void {
    if (this.dayOf.length >= n) return;
    const size = Math.max(n, this.dayOf.length * 2);
    this.dayOf = new Float64Array(size);
    this.order = new Int32Array(size);
    this.days = new Int32Array(size);
    this.values = new Float64Array(size);
  }

  /** sections.set(sec, max(day, current)) with Map semantics (SameValueZero keys, insertion order) */
  offerSection(sec: number, day: number): void {
    const key = sec === 0 ? 0 : sec; // a Map stores −0 as +0
    const n = this.nSections;
    let slot = -1;
    if (n <= SECTION_LINEAR_SCAN) {
      for (let i = 0; i < n; i++) {
        const id = this.secIds[i]!;
        if (id === key || (id !== id && key !== key)) {
          slot = i;
          break;
        }
      }
    } else {
      if (this.secSlot.size === 0) for (let i = 0; i < n; i++) this.secSlot.set(this.secIds[i]!, i);
      slot = this.secSlot.get(key) ?? -1;
    }
    if (slot >= 0) {
      if (this.secDays[slot]! < day) this.secDays[slot] = day;
      return;
    }
    if (n === this.secIds.length) {
      const ids = new Float64Array(n * 2);
      ids.set(this.secIds);
      this.secIds = ids;
      const ds = new Float64Array(n * 2);
      ds.set(this.secDays);
      this.secDays = ds;
    }
    this.secIds[n] = key;
    this.secDays[n] = day;
    if (this.secSlot.size > 0) this.secSlot.set(key, n);
    this.nSections = n + 1;
  }

  resetSections(): void {
    this.nSections = 0;
    this.hasSections = false;
    if (this.secSlot.size > 0) this.secSlot.clear();
  }
}

/** up to this many sections per customer a linear scan beats a Map */
const SECTION_LINEAR_SCAN = 16;

/**
 * Purchase-day rule: deals of one day are summed. The day is a purchase day when the sum is > 0,
 * or — with `freeOrdersArePurchases` (default true) — when every deal of the day has amount 0
 * (a free order: a purchase of value 0; the CDNOW data has 8 such first purchases). A day whose
 * refunds (negative amounts) bring it to ≤ 0 is never a purchase day.
 *
 * Fills `s` for customer `c` (its previous content is overwritten).
 */
export function scanCustomer(
  c: CustomerInput,
  asOfDay: DayNumber,
  noResponse: ReadonlySet<string>,
  freeOrdersArePurchases: boolean,
  s: CustomerScratch,
): void {
  const kept = sortWonByDay(c, asOfDay, s);
  mergePurchaseDays(c.won, kept, freeOrdersArePurchases, s);
  scanLost(c, asOfDay, noResponse, s);
}

/** The won deals up to as-of: their days in `s.dayOf`, their indices sorted by day in `s.order[0..kept)`. Returns kept. */
function sortWonByDay(c: CustomerInput, asOfDay: DayNumber, s: CustomerScratch): number {
  const won = c.won;
  const n0 = won.length;
  s.ensureDeals(n0);
  const dayOf = s.dayOf;
  const order = s.order;
  let kept = 0;
  for (let i = 0; i < n0; i++) {
    const deal = won[i]!;
    const day = toDay(deal.date);
    if (day > asOfDay) continue;
    if (!Number.isFinite(deal.amount)) throw new RangeError(`customer ${c.id}: deal amount is not a finite number`);
    dayOf[i] = day;
    order[kept++] = i;
  }
  sortIndicesByDay(order, kept, dayOf);
  return kept;
}

/**
 * The sorted won deals merged day by day: a day whose net amount is > 0 (or 0 without a refund,
 * when free orders count) is a purchase day with that value; its non-refund deals' sections get
 * the day as their last purchase.
 */
function mergePurchaseDays(won: CustomerInput['won'], kept: number, freeOrdersArePurchases: boolean, s: CustomerScratch): void {
  const dayOf = s.dayOf;
  const order = s.order;
  const days = s.days;
  const values = s.values;
  let nDays = 0;
  s.resetSections();
  for (let k = 0; k < kept; ) {
    const day = dayOf[order[k]!]!;
    let net = 0;
    let refund = false;
    let end = k;
    while (end < kept && dayOf[order[end]!] === day) {
      const amount = won[order[end]!]!.amount;
      net += amount;
      if (amount < 0) refund = true;
      end++;
    }
    if (net > 0 || (freeOrdersArePurchases && net === 0 && !refund)) {
      days[nDays] = day;
      values[nDays] = net;
      nDays++;
      for (let q = k; q < end; q++) {
        const deal = won[order[q]!]!;
        const ids = deal.sectionIds;
        if (!ids || deal.amount < 0) continue;
        for (let j = 0; j < ids.length; j++) {
          s.hasSections = true;
          s.offerSection(ids[j]!, day);
        }
      }
    }
    k = end;
  }
  s.nDays = nDays;
}

/** Lost deals up to as-of: how many, how many for a no-response reason, and the latest other reason. */
function scanLost(c: CustomerInput, asOfDay: DayNumber, noResponse: ReadonlySet<string>, s: CustomerScratch): void {
  let lostTotal = 0;
  let lostNoResponse = 0;
  let refusalReason: string | null = null;
  let refusalDay = -Infinity;
  const lost = c.lost;
  if (lost) {
    for (let i = 0; i < lost.length; i++) {
      const deal = lost[i]!;
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
  }
  s.lostTotal = lostTotal;
  s.lostNoResponse = lostNoResponse;
  s.refusalReason = refusalReason;
}

/**
 * Stable sort of order[0..n) by dayOf[order[i]] (the same result as Array.prototype.sort, which is
 * stable): insertion sort for the usual handful of deals, the built-in sort beyond that.
 */
function sortIndicesByDay(order: Int32Array, n: number, dayOf: Float64Array): void {
  if (n > 32) {
    const sorted = Array.from(order.subarray(0, n)).sort((i, j) => dayOf[i]! - dayOf[j]!);
    for (let i = 0; i < n; i++) order[i] = sorted[i]!;
    return;
  }
  for (let i = 1; i < n; i++) {
    const v = order[i]!;
    const d = dayOf[v]!;
    let j = i - 1;
    while (j >= 0 && dayOf[order[j]!]! > d) {
      order[j + 1] = order[j]!;
      j--;
    }
    order[j + 1] = v;
  }
}

export function createdDayOf(c: CustomerInput): DayNumber | null {
  return c.createdAt === undefined || c.createdAt === null ? null : toDay(c.createdAt);
}

export function summarizeCustomer(
  c: CustomerInput,
  asOfDay: DayNumber,
  noResponse: ReadonlySet<string>,
  freeOrdersArePurchases = true,
  scratch: CustomerScratch = new CustomerScratch(),
): CustomerSummary {
  const s = scratch;
  scanCustomer(c, asOfDay, noResponse, freeOrdersArePurchases, s);
  let sections: Map<number, DayNumber> | null = null;
  if (s.hasSections) {
    sections = new Map();
    for (let i = 0; i < s.nSections; i++) sections.set(s.secIds[i]!, s.secDays[i]!);
  }
  return {
    id: c.id,
    kind: c.kind ?? 'contact',
    createdDay: createdDayOf(c),
    days: s.days.slice(0, s.nDays),
    values: s.values.slice(0, s.nDays),
    openDeals: c.openDeals ?? 0,
    lostTotal: s.lostTotal,
    lostNoResponse: s.lostNoResponse,
    refusalReason: s.refusalReason,
    sections,
  };
}
