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
  company: Uint8Array;
  /** number of purchase days (0 = no purchase; the columns below are then 0 / NaN) */
  purchaseDays: Int32Array;
  firstDay: Int32Array;
  lastDay: Int32Array;
  /** Σ of the purchase-day values, summed in day order */
  total: Float64Array;
  /** mean value of the repeat purchase days (all but the first); NaN for fewer than 2 */
  repeatMean: Float64Array;
  /** median gap between purchase days; NaN for fewer than 2 */
  medianGap: Float64Array;
  /** purchase days within rfm.frequencyWindowMonths (= purchaseDays without a window) */
  frequency: Int32Array;
  /** purchase days within lifecycle.regularWindowMonths */
  regularWindowDays: Int32Array;
  openDeals: Float64Array;
  lostTotal: Int32Array;
  lostNoResponse: Int32Array;
  refusalReason: (string | null)[] = [];
  /** customer i's sections are sectionIds[sectionStart[i] .. sectionStart[i+1]) in first-purchase order */
  sectionStart: Int32Array;
  sectionIds: Float64Array;
  sectionLastDay: Float64Array;

  /** `capacity`: the customers expected (the columns grow past it by doubling; each doubling leaves the old arrays as garbage) */
  constructor(capacity = 1024) {
    const n = Math.max(1, capacity);
    this.company = new Uint8Array(n);
    this.purchaseDays = new Int32Array(n);
    this.firstDay = new Int32Array(n);
    this.lastDay = new Int32Array(n);
    this.total = new Float64Array(n);
    this.repeatMean = new Float64Array(n);
    this.medianGap = new Float64Array(n);
    this.frequency = new Int32Array(n);
    this.regularWindowDays = new Int32Array(n);
    this.openDeals = new Float64Array(n);
    this.lostTotal = new Int32Array(n);
    this.lostNoResponse = new Int32Array(n);
    this.sectionStart = new Int32Array(n + 1);
    this.sectionIds = new Float64Array(Math.max(4096, n));
    this.sectionLastDay = new Float64Array(Math.max(4096, n));
  }

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

/** Scan every customer (consuming the iterable once) into columns, sized at once when the input tells its length. */
export function aggregateCustomers(customers: Iterable<CustomerInput> & { readonly length?: number }, o: AggregateOptions): CustomerColumns {
  const cols = new CustomerColumns(customers.length ?? 1024);
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
