/**
 * scorePortal: customers in → labels, thresholds, model fits and warnings out. Pure (no I/O).
 * Re-exports the building blocks.
 */
import { LIFECYCLE_CODES, type LifecycleCode, type Scale, type SegmentCode } from './codes.js';
import { addMonths, formatDay, memoFormatDay, toDay, type DayNumber } from './dates.js';
import { bgnbdExpectedIfAlive, bgnbdPAlive, fitBgNbd, type BgNbdParams } from './bgnbd.js';
import { coarsenTripleColumns, DayTripleMerge, tripleObjects } from './triples.js';
import { fitGammaGammaColumns, gammaGammaExpectedValue, type GammaGammaParams, type SpendRow } from './gammagamma.js';
import { discountedPurchases, predictedClv, shrunkRepeatRate } from './clv.js';
import { aggregateCustomers, type CustomerColumns } from './columns.js';
import { segmentSizes } from './history.js';
import { buildSectionIndex, InterestTagger } from './interests.js';
import { lifecycleCode } from './lifecycle.js';
import { fixedThresholds, levelOf, quantileThresholds, type DimensionThresholds } from './rfm.js';
import { cellLabel, segmentOf, type RuleLike } from './segments.js';
import { scoringSettingsSchema, type InterestMapEntry, type ScoringSettings, type ScoringSettingsInput } from './settings.js';
import { ruleBasedPAlive, sleepingOf } from './sleeping.js';
import { normalizeReason, type CustomerSummary } from './summary.js';
import type { BgNbdReport, CustomerScore, GammaGammaReport, PortalScoringInput, ScoringRun, SectionNode } from './types.js';

export * from './codes.js';
export * from './types.js';
export * from './settings.js';
export * from './i18n.js';
export { diffRuns, sizesOverTime, segmentSizes, type StoredLabel, type LabelChange, type RunDiff } from './history.js';
export { levelOf, quantileThresholds, fixedThresholds, explainLevel, type DimensionThresholds } from './rfm.js';
export { segmentOf, segmentMap, allCells, cellLabel, uncoveredCells } from './segments.js';
export { summarizeCustomer, type CustomerSummary } from './summary.js';
export { lifecycleStage } from './lifecycle.js';
export { sleepingStatus, medianGap, ruleBasedPAlive } from './sleeping.js';
export { activeInterests, buildSectionIndex, type ActiveInterest } from './interests.js';
export * from './bgnbd.js';
export * from './triples.js';
export * from './gammagamma.js';

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

export interface ScorePortalOptions {
  /** called at the end of each phase ('aggregate', 'rfm', 'models', 'labels'); for benchmarks */
  onPhase?: (phase: 'aggregate' | 'rfm' | 'models' | 'labels') => void;
}

export function scorePortal(
  input: PortalScoringInput,
  settingsInput: ScoringSettings | ScoringSettingsInput = {},
  options: ScorePortalOptions = {},
): ScoringRun {
  const settings = scoringSettingsSchema.parse(settingsInput);
  const phase = options.onPhase ?? (() => {});
  const asOfDay = toDay(input.asOf);
  const scale: Scale = settings.rfm.scale;
  const warnings: string[] = [];
  const noResponse = new Set(settings.lifecycle.noResponseReasons.map(normalizeReason));

  // 1. aggregate deals into per-customer columns (deals are dropped here; see columns.ts)
  const cols = aggregateCustomers(input.customers, {
    asOfDay,
    noResponse,
    freeOrdersArePurchases: settings.rfm.freeOrdersArePurchases,
    frequencyWindowMonths: settings.rfm.frequencyWindowMonths,
    regularWindowMonths: settings.lifecycle.regularWindowMonths,
  });
  const n = cols.count;

  phase('aggregate');

  // 2. RFM values (rfmValues of each customer with purchases) and thresholds
  const recency = new Float64Array(n);
  const frequency = new Float64Array(n);
  const monetary = new Float64Array(n);
  let buyerCount = 0;
  for (let i = 0; i < n; i++) {
    const days = cols.purchaseDays[i]!;
    if (days === 0) continue;
    recency[i] = asOfDay - cols.lastDay[i]!;
    frequency[i] = cols.frequency[i]!;
    monetary[i] = settings.rfm.monetary === 'total' ? cols.total[i]! : cols.total[i]! / days;
    buyerCount++;
  }
  let thresholds: ScoringRun['thresholds'] = null;
  if (buyerCount > 0) {
    if (settings.rfm.mode === 'fixed') {
      const fx = scale === 3 ? settings.rfm.fixed.scale3 : settings.rfm.fixed.scale5;
      thresholds = {
        recency: fixedThresholds(fx.recency, scale, 'recency'),
        frequency: fixedThresholds(fx.frequency, scale, 'frequency'),
        monetary: fixedThresholds(fx.monetary, scale, 'monetary'),
      };
    } else {
      const ofBuyers = (v: Float64Array) => {
        const out = new Float64Array(buyerCount);
        for (let i = 0, j = 0; i < n; i++) if (cols.purchaseDays[i]! > 0) out[j++] = v[i]!;
        return out;
      };
      thresholds = {
        recency: quantileThresholds(ofBuyers(recency), scale, 'recency'),
        frequency: quantileThresholds(ofBuyers(frequency), scale, 'frequency'),
        monetary: quantileThresholds(ofBuyers(monetary), scale, 'monetary'),
      };
      if (buyerCount < scale * 2) warnings.push(`only ${buyerCount} customers with purchases: quantile levels are not meaningful yet`);
      for (const t of Object.values(thresholds) as DimensionThresholds[]) {
        if (t.method !== 'quantile') warnings.push(`${t.dimension}: ${t.method === 'spread' ? 'few distinct values, spread over the scale' : 'all customers share one value, middle level'}`);
      }
    }
  }

  phase('rfm');

  // 3. models
  const models = fitModelsOn(cols, asOfDay, settings.models);
  if (models.bgnbd.status !== 'ok') warnings.push(`BG/NBD: ${models.bgnbd.status} (${models.bgnbd.reason}); P(alive) and purchases from rules`);
  if (models.gammagamma.status !== 'ok') warnings.push(`Gamma-Gamma: ${models.gammagamma.status} (${models.gammagamma.reason}); value per purchase from history`);
  // portal-wide repeat rate (per day): the prior of the rule-based rate
  let sumX = 0;
  let sumT = 0;
  for (let i = 0; i < n; i++) {
    if (cols.purchaseDays[i] === 0) continue;
    sumX += cols.purchaseDays[i]! - 1;
    sumT += asOfDay - cols.firstDay[i]!;
  }
  const portalRate = sumT > 0 ? sumX / sumT : 0;
  phase('models');

  // 4. per-customer labels
  const customers = labelCustomers(cols, { recency, frequency, monetary }, thresholds, models, portalRate, asOfDay, settings, input.sections ?? []);

  phase('labels');
  const lifecycleSizes = Object.fromEntries(LIFECYCLE_CODES.map((c) => [c, 0])) as Record<LifecycleCode, number>;
  for (const c of customers) lifecycleSizes[c.lifecycle]++;
  return {
    asOf: formatDay(asOfDay),
    scale,
    settings,
    thresholds,
    models,
    customers,
    segmentSizes: segmentSizes(customers),
    lifecycleSizes,
    warnings,
  };
}

/**
 * One CustomerScore per customer, from the columns. The formulas are those of lifecycleStage,
 * sleepingStatus, levelOf/segmentOf/cellLabel, activeInterests, bgnbdPAlive/bgnbdExpectedIfAlive,
 * gammaGammaExpectedValue and clv.ts, applied to the per-customer numbers; what is shared by many
 * customers (the cell → segment and cell → label tables, the expected purchases per (x, T), the
 * section → tag resolution and the date texts) is computed once per run.
 */
function labelCustomers(
  cols: CustomerColumns,
  rfmCols: { recency: Float64Array; frequency: Float64Array; monetary: Float64Array },
  thresholds: ScoringRun['thresholds'],
  models: { bgnbd: BgNbdReport; gammagamma: GammaGammaReport },
  portalRate: number,
  asOfDay: DayNumber,
  settings: ScoringSettings,
  sections: readonly SectionNode[],
): CustomerScore[] {
  const scale: Scale = settings.rfm.scale;
  const bgParams: BgNbdParams | null = models.bgnbd.status === 'ok' ? models.bgnbd.params : null;
  const ggParams: GammaGammaParams | null = models.gammagamma.status === 'ok' ? models.gammagamma.params : null;
  const unitDays = settings.models.timeUnit === 'week' ? 7 : 1;
  const { horizonDays, annualDiscountRate, margin } = settings.models;
  const modelCache = new Map<number, { expected: number; discounted: number }>();
  const dayText = memoFormatDay();
  const tagger = new InterestTagger(
    asOfDay,
    settings.interests,
    buildSectionIndex(sections),
    new Map<number, InterestMapEntry>(settings.interests.map.map((e) => [e.sectionId, e])),
    dayText,
  );
  const cells = new CellTable(scale, scale === 3 ? settings.segments.scale3 : settings.segments.scale5);
  const n = cols.count;
  const customers: CustomerScore[] = [];
  for (let i = 0; i < n; i++) {
    const days = cols.purchaseDays[i]!;
    const first = cols.firstDay[i]!;
    const stage = lifecycleCode(days, cols.regularWindowDays[i]!, cols.openDeals[i]!, cols.lostTotal[i]!, cols.lostNoResponse[i]!, settings.lifecycle);
    const sleep = days > 0 ? sleepingOf(days, cols.lastDay[i]!, cols.medianGap[i]!, asOfDay, settings.sleeping) : null;
    let r: number | null = null;
    let f: number | null = null;
    let m: number | null = null;
    let segment: SegmentCode = 'no_purchases';
    let rfm: string | null = null;
    if (days > 0 && thresholds) {
      r = levelOf(rfmCols.recency[i]!, thresholds.recency);
      f = levelOf(rfmCols.frequency[i]!, thresholds.frequency);
      m = levelOf(rfmCols.monetary[i]!, thresholds.monetary);
      segment = cells.segment(r, f, m);
      rfm = cells.label(r, f, m);
    }
    const historicValue = cols.total[i]!;
    const avgValue = days > 0 ? historicValue / days : 0;

    let pAlive = 0;
    let expected = 0;
    let discounted = 0;
    let valueSource: CustomerScore['valueSource'] = 'rules';
    if (days > 0 && bgParams) {
      // modelTimes
      const x = days - 1;
      const tx = (cols.lastDay[i]! - first) / unitDays;
      const T = (asOfDay - first) / unitDays;
      // E[Y(t) | x, t_x, T] = (expected purchases if alive: depends on x, T) × P(alive | x, t_x, T)
      const key = x * 1e7 + (asOfDay - first);
      let hit = modelCache.get(key);
      if (!hit) {
        hit = discountedPurchases((d) => bgnbdExpectedIfAlive(bgParams, d / unitDays, x, T), horizonDays, annualDiscountRate);
        modelCache.set(key, hit);
      }
      pAlive = bgnbdPAlive(bgParams, x, tx, T);
      expected = hit.expected * pAlive;
      discounted = hit.discounted * pAlive;
      valueSource = 'models';
    } else if (sleep) {
      const alive = ruleBasedPAlive(sleep, settings.sleeping);
      pAlive = alive;
      const rate = shrunkRepeatRate(days - 1, asOfDay - first, portalRate);
      const dp = discountedPurchases((d) => rate * d * alive, horizonDays, annualDiscountRate);
      expected = dp.expected;
      discounted = dp.discounted;
    }
    let expectedValue = avgValue;
    if (ggParams && days > 0) {
      const ev = gammaGammaExpectedValue(ggParams, days - 1, cols.repeatMean[i]!);
      if (Number.isFinite(ev)) expectedValue = ev;
    }
    customers.push({
      id: cols.ids[i]!,
      kind: cols.company[i] === 1 ? 'company' : 'contact',
      recencyDays: days > 0 ? rfmCols.recency[i]! : null,
      frequency: days > 0 ? rfmCols.frequency[i]! : 0,
      monetary: days > 0 ? rfmCols.monetary[i]! : 0,
      r, f, m,
      rfm,
      segment,
      lifecycle: stage,
      refusalReason: stage === 'refused' ? cols.refusalReason[i]! : null,
      sleeping: sleep ? sleep.sleeping : null,
      medianGapDays: sleep ? sleep.medianGapDays : null,
      expectedNextPurchase: sleep === null || sleep.expectedNextDay === null ? null : dayText(sleep.expectedNextDay),
      daysOverdue: sleep ? sleep.daysOverdue : null,
      interests: tagger.interests(cols.sectionIds, cols.sectionLastDay, cols.sectionStart[i]!, cols.sectionStart[i + 1]!),
      historicValue,
      pAlive,
      expectedPurchases: expected,
      expectedValue,
      predictedClv: predictedClv(margin, expectedValue, discounted),
      valueSource,
    });
  }
  return customers;
}

/** segmentOf and cellLabel per RFM cell, each computed on first use (a run has at most 125 cells). */
class CellTable {
  private readonly segments: (Exclude<SegmentCode, 'no_purchases'> | undefined)[];
  private readonly labels: (string | undefined)[];
  constructor(
    private readonly scale: Scale,
    private readonly rules: readonly RuleLike[],
  ) {
    this.segments = new Array(scale ** 3);
    this.labels = new Array(scale ** 3);
  }
  private index(r: number, f: number, m: number): number {
    return ((r - 1) * this.scale + (f - 1)) * this.scale + (m - 1);
  }
  segment(r: number, f: number, m: number): Exclude<SegmentCode, 'no_purchases'> {
    const k = this.index(r, f, m);
    return (this.segments[k] ??= segmentOf(this.rules, r, f, m));
  }
  label(r: number, f: number, m: number): string {
    const k = this.index(r, f, m);
    return (this.labels[k] ??= cellLabel(this.scale, r, f, m));
  }
}
