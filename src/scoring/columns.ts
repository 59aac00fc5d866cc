/**
 * Per-customer facts of a whole run as columns (struct of arrays).
 *
 * Why: a portal has hundreds of thousands of customers. Keeping a summary object per customer (with
 * its own purchase-day arrays and section map) costs far more in allocation and garbage collection
 * than the scoring itself. Every label needs only a few numbers per customer, all computable while
 * the customer's deals are at hand: so each customer is scanned into reusable scratch buffers
 * (summary.ts), reduced to those numbers, and only the numbers are kept. Memory then grows with the
 * number of customers, not of deals (plus each customer's distinct product sections).
 *
 * The numbers are computed exactly as the per-customer functions compute them from a
 * CustomerSummary (same operations in the same order), so the results are bit-identical; the unit
 * tests compare both paths.
 */
import { addMonths, type DayNumber } from './dates.js';
import { purchaseDaysBetween } from './lifecycle.js';
import type { ScoringSettings } from './settings.js';
import { medianGapInto } from './sleeping.js';
import { createdDayOf, CustomerScratch, scanCustomer } from './summary.js';
import type { CustomerInput } from './types.js';

export class CustomerColumns {
  count = 0;
  ids: string[] = [];
  /** 1 = company */
  company = new Uint8Array(1024);
  /** number of purchase days (0 = no purchase; the columns below are then 0 / NaN) */
  purchaseDays = new Int32Array(1024);
  firstDay = new Int32Array(1024);
  lastDay = new Int32Array(1024);
  /** Σ of the purchase-day values, summed in day order */
  total = new Float64Array(1024);
  /** mean value of the repeat purchase days (all but the first); NaN for fewer than 2 */
  repeatMean = new Float64Array(1024);
  /** median gap between purchase days; NaN for fewer than 2 */
  medianGap = new Float64Array(1024);
  /** purchase days within rfm.frequencyWindowMonths (= purchaseDays without a window) */
  frequency = new Int32Array(1024);
  /** purchase days within lifecycle.regularWindowMonths */
  regularWindowDays = new Int32Array(1024);
  openDeals = new Float64Array(1024);
  lostTotal = new Int32Array(1024);
  lostNoResponse = new Int32Array(1024);
  refusalReason: (string | null)[] = [];
  /** customer i's sections are sectionIds[sectionStart[i] .. sectionStart[i+1]) in first-purchase order */
  sectionStart = new Int32Array(1025);
  sectionIds = new Float64Array(4096);
  sectionLastDay = new Float64Array(4096);

  /** make room for customer number `count` */
  grow(): void {
    const n = this.company.length * 2;
    this.company = resized(this.company, n);
    this.purchaseDays = resized(this.purchaseDays, n);
    this.firstDay = resized(this.firstDay, n);
    this.lastDay = resized(this.lastDay, n);
    this.total = resized(this.total, n);
    this.repeatMean = resized(this.repeatMean, n);
    this.medianGap = resized(this.medianGap, n);
    this.frequency = resized(this.frequency, n);
    this.regularWindowDays = resized(this.regularWindowDays, n);
    this.openDeals = resized(this.openDeals, n);
    this.lostTotal = resized(this.lostTotal, n);
    this.lostNoResponse = resized(this.lostNoResponse, n);
    this.sectionStart = resized(this.sectionStart, n + 1);
  }

  growSections(need: number): void {
    let n = this.sectionIds.length;
    while (n < need) n *= 2;
    this.sectionIds = resized(this.sectionIds, n);
    this.sectionLastDay = resized(this.sectionLastDay, n);
  }
}

function resized<T extends Int32Array | Float64Array | Uint8Array>(a: T, n: number): T {
  const out = new (a.constructor as new (n: number) => T)(n);
  out.set(a);
  return out;
}

export interface AggregateOptions {
  asOfDay: DayNumber;
  noResponse: ReadonlySet<string>;
  freeOrdersArePurchases: boolean;
  frequencyWindowMonths: ScoringSettings['rfm']['frequencyWindowMonths'];
  regularWindowMonths: number;
}

/** Scan every customer (consuming the iterable once) into columns. */
export function aggregateCustomers(customers: Iterable<CustomerInput>, o: AggregateOptions): CustomerColumns {
  const cols = new CustomerColumns();
  const s = new CustomerScratch();
  let gaps = new Float64Array(16);
  const asOfDay = o.asOfDay;
  // the window starts depend only on as-of: computed once, not per customer
  const frequencyFrom = o.frequencyWindowMonths === null ? null : addMonths(asOfDay, -o.frequencyWindowMonths);
  const regularFrom = addMonths(asOfDay, -o.regularWindowMonths);
  for (const c of customers) {
    scanCustomer(c, asOfDay, o.noResponse, o.freeOrdersArePurchases, s);
    createdDayOf(c); // validates createdAt like summarizeCustomer does (it is not used by any label)
    const i = cols.count;
    if (i === cols.company.length) cols.grow();
    cols.ids.push(c.id);
    cols.company[i] = (c.kind ?? 'contact') === 'company' ? 1 : 0;
    const n = s.nDays;
    const days = s.days;
    const values = s.values;
    cols.purchaseDays[i] = n;
    if (n > 0) {
      cols.firstDay[i] = days[0]!;
      cols.lastDay[i] = days[n - 1]!;
      let total = 0;
      for (let k = 0; k < n; k++) total += values[k]!;
      cols.total[i] = total;
      if (n >= 2) {
        // repeatMean(values)
        let r = 0;
        for (let k = 1; k < n; k++) r += values[k]!;
        cols.repeatMean[i] = r / (n - 1);
        if (gaps.length < n) gaps = new Float64Array(n * 2);
        cols.medianGap[i] = medianGapInto(days, n, gaps);
      } else {
        cols.repeatMean[i] = NaN;
        cols.medianGap[i] = NaN;
      }
      // rfmValues: F = purchase days after the window start (all of them without a window)
      let frequency = n;
      if (frequencyFrom !== null) {
        frequency = 0;
        for (let k = 0; k < n; k++) if (days[k]! > frequencyFrom) frequency++;
      }
      cols.frequency[i] = frequency;
      cols.regularWindowDays[i] = purchaseDaysBetween(days, n, regularFrom, asOfDay);
    } else {
      cols.firstDay[i] = cols.lastDay[i] = 0;
      cols.total[i] = 0;
      cols.repeatMean[i] = cols.medianGap[i] = NaN;
      cols.frequency[i] = cols.regularWindowDays[i] = 0;
    }
    cols.openDeals[i] = c.openDeals ?? 0;
    cols.lostTotal[i] = s.lostTotal;
    cols.lostNoResponse[i] = s.lostNoResponse;
    cols.refusalReason.push(s.refusalReason);
    const from = cols.sectionStart[i]!;
    const to = from + s.nSections;
    if (to > cols.sectionIds.length) cols.growSections(to);
    for (let k = 0; k < s.nSections; k++) {
      cols.sectionIds[from + k] = s.secIds[k]!;
      cols.sectionLastDay[from + k] = s.secDays[k]!;
    }
    cols.sectionStart[i + 1] = to;
    cols.count = i + 1;
  }
  return cols;
}
