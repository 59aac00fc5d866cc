/**
 * R, F, M of a run: a customer's values (rfmValues, from a summary), the value columns of all
 * customers (rfmColumns: the same numbers, from the run's columns) and the run's thresholds
 * (rfmThresholds: the admin's fixed bounds, or quantiles of the buyers' values). How values
 * become levels: ./rfm.ts.
 */
import type { CustomerColumns } from './columns.js';
import { addMonths, type DayNumber } from './dates.js';
import { fixedThresholds, quantileThresholds, type DimensionThresholds } from './rfm.js';
import type { ScoringSettings } from './settings.js';
import type { CustomerSummary } from './summary.js';
import type { ScoringRun } from './types.js';

export interface RfmValues {
  recencyDays: number;
  frequency: number;
  monetary: number;
}

/** R, F, M values of a customer with at least one purchase day. */
export function rfmValues(s: CustomerSummary, asOfDay: DayNumber, rfm: ScoringSettings['rfm']): RfmValues {
  const n = s.days.length;
  const recencyDays = asOfDay - s.days[n - 1]!;
  let frequency = n;
  if (rfm.frequencyWindowMonths !== null) {
    const from = addMonths(asOfDay, -rfm.frequencyWindowMonths);
    frequency = 0;
    for (let i = 0; i < n; i++) if (s.days[i]! > from) frequency++;
  }
  let total = 0;
  for (let i = 0; i < n; i++) total += s.values[i]!;
  return { recencyDays, frequency, monetary: rfm.monetary === 'total' ? total : total / n };
}

/** R, F, M value columns of a run (0 for customers without purchases). */
export interface RfmColumns {
  recency: Float64Array;
  frequency: Float64Array;
  monetary: Float64Array;
}

/** rfmValues of each customer with purchases, as columns, and the number of those customers. */
export function rfmColumns(cols: CustomerColumns, asOfDay: DayNumber, rfm: ScoringSettings['rfm']): { values: RfmColumns; buyers: number } {
  const n = cols.count;
  const recency = new Float64Array(n);
  const frequency = new Float64Array(n);
  const monetary = new Float64Array(n);
  let buyerCount = 0;
  for (let i = 0; i < n; i++) {
    const days = cols.purchaseDays[i]!;
    if (days === 0) continue;
    recency[i] = asOfDay - cols.lastDay[i]!;
    frequency[i] = cols.frequency[i]!;
    monetary[i] = rfm.monetary === 'total' ? cols.total[i]! : cols.total[i]! / days;
    buyerCount++;
  }
  return { values: { recency, frequency, monetary }, buyers: buyerCount };
}

/** The run's thresholds (null when nobody bought); quantiles that carry little information add warnings. */
export function rfmThresholds(
  cols: CustomerColumns,
  v: RfmColumns,
  buyerCount: number,
  rfm: ScoringSettings['rfm'],
  warnings: string[],
): ScoringRun['thresholds'] {
  if (buyerCount === 0) return null;
  const scale = rfm.scale;
  if (rfm.mode === 'fixed') {
    const fx = scale === 3 ? rfm.fixed.scale3 : rfm.fixed.scale5;
    return {
      recency: fixedThresholds(fx.recency, scale, 'recency'),
      frequency: fixedThresholds(fx.frequency, scale, 'frequency'),
      monetary: fixedThresholds(fx.monetary, scale, 'monetary'),
    };
  }
  const n = cols.count;
  const ofBuyers = (col: Float64Array) => {
    const out = new Float64Array(buyerCount);
    for (let i = 0, j = 0; i < n; i++) if (cols.purchaseDays[i]! > 0) out[j++] = col[i]!;
    return out;
  };
  const thresholds = {
    recency: quantileThresholds(ofBuyers(v.recency), scale, 'recency'),
    frequency: quantileThresholds(ofBuyers(v.frequency), scale, 'frequency'),
    monetary: quantileThresholds(ofBuyers(v.monetary), scale, 'monetary'),
  };
  if (buyerCount < scale * 2) warnings.push(`only ${buyerCount} customers with purchases: quantile levels are not meaningful yet`);
  for (const t of Object.values(thresholds) as DimensionThresholds[]) {
    if (t.method !== 'quantile') warnings.push(`${t.dimension}: ${t.method === 'spread' ? 'few distinct values, spread over the scale' : 'all customers share one value, middle level'}`);
  }
  return thresholds;
}
