/**
 * The model fits of a run: BG/NBD (./bgnbd.ts) on the buyers' (x, t_x, T) merged into weighted
 * triples (./triples.ts, coarsened beyond models.maxFitTriples), and Gamma-Gamma
 * (./gammagamma.ts) on the repeat customers' mean repeat value; each with the status that says
 * whether its numbers may be used (disabled, insufficient data, failed: not converged, a
 * parameter ran to a boundary, q ≤ 1). Plus the per-customer model inputs (modelTimes,
 * repeatMean, spendRows) as the summaries give them.
 */
import { fitBgNbd } from './bgnbd.js';
import type { DayNumber } from './dates.js';
import { fitGammaGammaColumns, type SpendRow } from './gammagamma.js';
import type { ScoringSettings } from './settings.js';
import type { CustomerSummary } from './summary.js';
import { coarsenTripleColumns, DayTripleMerge, tripleObjects } from './triples.js';
import type { BgNbdReport, GammaGammaReport } from './types.js';

interface ModelTimes {
  x: number;
  tx: number;
  T: number;
}

/** x = purchase days − 1, t_x = first → last purchase day, T = first purchase → as-of, in `unit` days. */
export function modelTimes(days: Int32Array, asOfDay: DayNumber, unitDays: number): ModelTimes {
  const first = days[0]!;
  return { x: days.length - 1, tx: (days[days.length - 1]! - first) / unitDays, T: (asOfDay - first) / unitDays };
}

/** Mean value of the repeat purchase days (all but the first), as in the Gamma-Gamma papers. */
export function repeatMean(values: Float64Array): number {
  if (values.length < 2) return NaN;
  let s = 0;
  for (let i = 1; i < values.length; i++) s += values[i]!;
  return s / (values.length - 1);
}

/** Gamma-Gamma input: repeat customers with a positive mean repeat value (x, z̄). */
export function spendRows(summaries: readonly CustomerSummary[]): SpendRow[] {
  const rows: SpendRow[] = [];
  for (const s of summaries) {
    if (s.days.length < 2) continue;
    const zbar = repeatMean(s.values);
    if (zbar > 0) rows.push({ x: s.days.length - 1, zbar });
  }
  return rows;
}

const PARAM_LIMIT = 20; // |ln θ| beyond this = the optimiser ran to a boundary

/** What the model fits need per customer (CustomerColumns has these columns). */
export interface ModelColumns {
  count: number;
  /** purchase days (0 = no purchase) */
  purchaseDays: Int32Array;
  firstDay: Int32Array;
  lastDay: Int32Array;
  /** repeatMean of the purchase-day values (NaN for fewer than 2 days) */
  repeatMean: Float64Array;
}

export function fitModels(
  summaries: readonly CustomerSummary[],
  asOfDay: DayNumber,
  models: ScoringSettings['models'],
): { bgnbd: BgNbdReport; gammagamma: GammaGammaReport } {
  const n = summaries.length;
  const c: ModelColumns = {
    count: n,
    purchaseDays: new Int32Array(n),
    firstDay: new Int32Array(n),
    lastDay: new Int32Array(n),
    repeatMean: new Float64Array(n),
  };
  summaries.forEach((s, i) => {
    const k = s.days.length;
    c.purchaseDays[i] = k;
    c.firstDay[i] = k > 0 ? s.days[0]! : 0;
    c.lastDay[i] = k > 0 ? s.days[k - 1]! : 0;
    c.repeatMean[i] = repeatMean(s.values);
  });
  return fitModelsOn(c, asOfDay, models);
}

/** fitModels on columns. */
export function fitModelsOn(
  c: ModelColumns,
  asOfDay: DayNumber,
  models: ScoringSettings['models'],
): { bgnbd: BgNbdReport; gammagamma: GammaGammaReport } {
  const unitDays = models.timeUnit === 'week' ? 7 : 1;
  let buyers = 0;
  let repeat = 0;
  for (let i = 0; i < c.count; i++) {
    if (c.purchaseDays[i]! > 0) buyers++;
    if (c.purchaseDays[i]! > 1) repeat++;
  }
  const bg: BgNbdReport = {
    status: 'disabled', reason: null, timeUnit: models.timeUnit, params: null, ll: null,
    customers: buyers, repeatCustomers: repeat, uniqueTriples: 0, gridStep: 0, evaluations: 0,
  };
  const gg: GammaGammaReport = { status: 'disabled', reason: null, params: null, ll: null, customers: 0, evaluations: 0 };
  if (!models.enabled) {
    bg.reason = gg.reason = 'models disabled in settings';
    return { bgnbd: bg, gammagamma: gg };
  }
  if (repeat < models.minRepeatCustomers) {
    bg.status = gg.status = 'insufficient_data';
    bg.reason = gg.reason = `${repeat} customers with repeat purchases, at least ${models.minRepeatCustomers} needed for a stable fit`;
    return { bgnbd: bg, gammagamma: gg };
  }
  const exact = new DayTripleMerge(unitDays);
  for (let i = 0; i < c.count; i++) {
    const n = c.purchaseDays[i]!;
    if (n > 0) exact.add(n - 1, c.lastDay[i]! - c.firstDay[i]!, asOfDay - c.firstDay[i]!);
  }
  const { cols, step } = coarsenTripleColumns(exact.cols, models.maxFitTriples, 1 / unitDays);
  const triples = tripleObjects(cols);
  const fit = fitBgNbd(triples, { starts: models.starts });
  Object.assign(bg, { uniqueTriples: triples.length, gridStep: step, evaluations: fit.evaluations, ll: fit.ll, params: fit.params });
  const bad = badParams(fit.params as unknown as Record<string, number>);
  if (!fit.converged || bad) {
    bg.status = 'failed';
    bg.reason = bad ? `parameter ${bad} ran to a boundary` : 'the optimiser did not converge';
  } else bg.status = 'ok';

  // spendRows: repeat customers with a positive mean repeat value
  const spendX: number[] = [];
  const spendZ: number[] = [];
  for (let i = 0; i < c.count; i++) {
    const n = c.purchaseDays[i]!;
    if (n < 2) continue;
    const zbar = c.repeatMean[i]!;
    if (zbar > 0) {
      spendX.push(n - 1);
      spendZ.push(zbar);
    }
  }
  gg.customers = spendX.length;
  if (spendX.length < models.minRepeatCustomers) {
    gg.status = 'insufficient_data';
    gg.reason = `${spendX.length} repeat customers with a positive spend, at least ${models.minRepeatCustomers} needed`;
    return { bgnbd: bg, gammagamma: gg };
  }
  const g = fitGammaGammaColumns({ x: spendX, zbar: spendZ, weight: null }, { starts: models.starts, maxRows: models.maxFitTriples });
  Object.assign(gg, { evaluations: g.evaluations, ll: g.ll, params: g.params });
  const badG = badParams(g.params as unknown as Record<string, number>);
  if (!g.converged || badG) {
    gg.status = 'failed';
    gg.reason = badG ? `parameter ${badG} ran to a boundary` : 'the optimiser did not converge';
  } else if (!(g.params.q > 1)) {
    gg.status = 'failed';
    gg.reason = `q = ${g.params.q.toFixed(3)} ≤ 1: the expected spend is undefined`;
  } else gg.status = 'ok';
  return { bgnbd: bg, gammagamma: gg };
}

function badParams(p: Record<string, number>): string | null {
  for (const [k, v] of Object.entries(p)) if (!Number.isFinite(v) || Math.abs(Math.log(v)) > PARAM_LIMIT) return k;
  return null;
}
