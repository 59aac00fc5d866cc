/**
 * scorePortal: customers in → labels, thresholds, model fits and warnings out. Pure (no I/O).
 * Re-exports the building blocks.
 */
import { LIFECYCLE_CODES, type LifecycleCode, type Scale, type SegmentCode } from './codes.js';
import { addMonths, formatDay, toDay, type DayNumber } from './dates.js';
import { bgnbdExpectedIfAlive, bgnbdPAlive, coarsenTriples, compressDayTriples, fitBgNbd, type BgNbdParams } from './bgnbd.js';
import { fitGammaGamma, gammaGammaExpectedValue, type GammaGammaParams, type SpendRow } from './gammagamma.js';
import { discountedPurchases, predictedClv, shrunkRepeatRate } from './clv.js';
import { segmentSizes } from './history.js';
import { activeInterests, buildSectionIndex } from './interests.js';
import { lifecycleStage } from './lifecycle.js';
import { fixedThresholds, levelOf, quantileThresholds, type DimensionThresholds } from './rfm.js';
import { cellLabel, segmentOf } from './segments.js';
import { scoringSettingsSchema, type InterestMapEntry, type ScoringSettings, type ScoringSettingsInput } from './settings.js';
import { ruleBasedPAlive, sleepingStatus } from './sleeping.js';
import { normalizeReason, summarizeCustomer, type CustomerSummary } from './summary.js';
import type { BgNbdReport, CustomerScore, GammaGammaReport, PortalScoringInput, ScoringRun } from './types.js';

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

export function fitModels(
  summaries: readonly CustomerSummary[],
  asOfDay: DayNumber,
  models: ScoringSettings['models'],
): { bgnbd: BgNbdReport; gammagamma: GammaGammaReport } {
  const unitDays = models.timeUnit === 'week' ? 7 : 1;
  const buyers = summaries.filter((s) => s.days.length > 0);
  const repeat = buyers.filter((s) => s.days.length > 1);
  const bg: BgNbdReport = {
    status: 'disabled', reason: null, timeUnit: models.timeUnit, params: null, ll: null,
    customers: buyers.length, repeatCustomers: repeat.length, uniqueTriples: 0, gridStep: 0, evaluations: 0,
  };
  const gg: GammaGammaReport = { status: 'disabled', reason: null, params: null, ll: null, customers: 0, evaluations: 0 };
  if (!models.enabled) {
    bg.reason = gg.reason = 'models disabled in settings';
    return { bgnbd: bg, gammagamma: gg };
  }
  if (repeat.length < models.minRepeatCustomers) {
    bg.status = gg.status = 'insufficient_data';
    bg.reason = gg.reason = `${repeat.length} customers with repeat purchases, at least ${models.minRepeatCustomers} needed for a stable fit`;
    return { bgnbd: bg, gammagamma: gg };
  }
  const exact = compressDayTriples(
    buyers.map((s) => ({ x: s.days.length - 1, txDays: s.days[s.days.length - 1]! - s.days[0]!, TDays: asOfDay - s.days[0]! })),
    unitDays,
  );
  const { triples, step } = coarsenTriples(exact, models.maxFitTriples, 1 / unitDays);
  const fit = fitBgNbd(triples, { starts: models.starts });
  Object.assign(bg, { uniqueTriples: triples.length, gridStep: step, evaluations: fit.evaluations, ll: fit.ll, params: fit.params });
  const bad = badParams(fit.params as unknown as Record<string, number>);
  if (!fit.converged || bad) {
    bg.status = 'failed';
    bg.reason = bad ? `parameter ${bad} ran to a boundary` : 'the optimiser did not converge';
  } else bg.status = 'ok';

  const spend: SpendRow[] = spendRows(repeat);
  gg.customers = spend.length;
  if (spend.length < models.minRepeatCustomers) {
    gg.status = 'insufficient_data';
    gg.reason = `${spend.length} repeat customers with a positive spend, at least ${models.minRepeatCustomers} needed`;
    return { bgnbd: bg, gammagamma: gg };
  }
  const g = fitGammaGamma(spend, { starts: models.starts, maxRows: models.maxFitTriples });
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

  // 1. aggregate deals into per-customer summaries (deals are dropped here)
  const summaries: CustomerSummary[] = [];
  for (const c of input.customers) summaries.push(summarizeCustomer(c, asOfDay, noResponse, settings.rfm.freeOrdersArePurchases));

  phase('aggregate');

  // 2. RFM values and thresholds
  const values: (RfmValues | null)[] = summaries.map((s) => (s.days.length > 0 ? rfmValues(s, asOfDay, settings.rfm) : null));
  const buyers = values.filter((v): v is RfmValues => v !== null);
  let thresholds: ScoringRun['thresholds'] = null;
  if (buyers.length > 0) {
    if (settings.rfm.mode === 'fixed') {
      const fx = scale === 3 ? settings.rfm.fixed.scale3 : settings.rfm.fixed.scale5;
      thresholds = {
        recency: fixedThresholds(fx.recency, scale, 'recency'),
        frequency: fixedThresholds(fx.frequency, scale, 'frequency'),
        monetary: fixedThresholds(fx.monetary, scale, 'monetary'),
      };
    } else {
      thresholds = {
        recency: quantileThresholds(Float64Array.from(buyers, (b) => b.recencyDays), scale, 'recency'),
        frequency: quantileThresholds(Float64Array.from(buyers, (b) => b.frequency), scale, 'frequency'),
        monetary: quantileThresholds(Float64Array.from(buyers, (b) => b.monetary), scale, 'monetary'),
      };
      if (buyers.length < scale * 2) warnings.push(`only ${buyers.length} customers with purchases: quantile levels are not meaningful yet`);
      for (const t of Object.values(thresholds) as DimensionThresholds[]) {
        if (t.method !== 'quantile') warnings.push(`${t.dimension}: ${t.method === 'spread' ? 'few distinct values, spread over the scale' : 'all customers share one value, middle level'}`);
      }
    }
  }

  phase('rfm');

  // 3. models
  const models = fitModels(summaries, asOfDay, settings.models);
  if (models.bgnbd.status !== 'ok') warnings.push(`BG/NBD: ${models.bgnbd.status} (${models.bgnbd.reason}); P(alive) and purchases from rules`);
  if (models.gammagamma.status !== 'ok') warnings.push(`Gamma-Gamma: ${models.gammagamma.status} (${models.gammagamma.reason}); value per purchase from history`);
  const bgParams: BgNbdParams | null = models.bgnbd.status === 'ok' ? models.bgnbd.params : null;
  const ggParams: GammaGammaParams | null = models.gammagamma.status === 'ok' ? models.gammagamma.params : null;
  const unitDays = settings.models.timeUnit === 'week' ? 7 : 1;
  const { horizonDays, annualDiscountRate, margin } = settings.models;
  // portal-wide repeat rate (per day): the prior of the rule-based rate
  let sumX = 0;
  let sumT = 0;
  for (const s of summaries) {
    if (s.days.length === 0) continue;
    sumX += s.days.length - 1;
    sumT += asOfDay - s.days[0]!;
  }
  const portalRate = sumT > 0 ? sumX / sumT : 0;
  phase('models');
  const modelCache = new Map<number, { expected: number; discounted: number }>();

  // 4. per-customer labels
  const index = buildSectionIndex(input.sections ?? []);
  const mapBySection = new Map<number, InterestMapEntry>(settings.interests.map.map((e) => [e.sectionId, e]));
  const rules = scale === 3 ? settings.segments.scale3 : settings.segments.scale5;
  const customers: CustomerScore[] = summaries.map((s, i) => {
    const v = values[i]!;
    const life = lifecycleStage(s, asOfDay, settings.lifecycle);
    const sleep = sleepingStatus(s.days, asOfDay, settings.sleeping);
    let r: number | null = null;
    let f: number | null = null;
    let m: number | null = null;
    let segment: SegmentCode = 'no_purchases';
    if (v && thresholds) {
      r = levelOf(v.recencyDays, thresholds.recency);
      f = levelOf(v.frequency, thresholds.frequency);
      m = levelOf(v.monetary, thresholds.monetary);
      segment = segmentOf(rules, r, f, m);
    }
    let historicValue = 0;
    for (let k = 0; k < s.values.length; k++) historicValue += s.values[k]!;
    const avgValue = s.days.length > 0 ? historicValue / s.days.length : 0;

    let pAlive = 0;
    let expected = 0;
    let discounted = 0;
    let valueSource: CustomerScore['valueSource'] = 'rules';
    if (s.days.length > 0 && bgParams) {
      const t = modelTimes(s.days, asOfDay, unitDays);
      // E[Y(t) | x, t_x, T] = (expected purchases if alive: depends on x, T) × P(alive | x, t_x, T)
      const key = t.x * 1e7 + (asOfDay - s.days[0]!);
      let hit = modelCache.get(key);
      if (!hit) {
        hit = discountedPurchases((d) => bgnbdExpectedIfAlive(bgParams, d / unitDays, t.x, t.T), horizonDays, annualDiscountRate);
        modelCache.set(key, hit);
      }
      pAlive = bgnbdPAlive(bgParams, t.x, t.tx, t.T);
      expected = hit.expected * pAlive;
      discounted = hit.discounted * pAlive;
      valueSource = 'models';
    } else if (s.days.length > 0) {
      pAlive = ruleBasedPAlive(sleep, settings.sleeping);
      const rate = shrunkRepeatRate(s.days.length - 1, asOfDay - s.days[0]!, portalRate);
      const dp = discountedPurchases((d) => rate * d * pAlive, horizonDays, annualDiscountRate);
      expected = dp.expected;
      discounted = dp.discounted;
    }
    let expectedValue = avgValue;
    if (ggParams && s.days.length > 0) {
      const ev = gammaGammaExpectedValue(ggParams, s.days.length - 1, repeatMean(s.values));
      if (Number.isFinite(ev)) expectedValue = ev;
    }
    return {
      id: s.id,
      kind: s.kind,
      recencyDays: v ? v.recencyDays : null,
      frequency: v ? v.frequency : 0,
      monetary: v ? v.monetary : 0,
      r, f, m,
      rfm: r !== null && f !== null && m !== null ? cellLabel(scale, r, f, m) : null,
      segment,
      lifecycle: life.stage,
      refusalReason: life.refusalReason,
      sleeping: sleep.sleeping,
      medianGapDays: sleep.medianGapDays,
      expectedNextPurchase: sleep.expectedNextDay === null ? null : formatDay(sleep.expectedNextDay),
      daysOverdue: sleep.daysOverdue,
      interests: activeInterests(s.sections, asOfDay, settings.interests, index, mapBySection),
      historicValue,
      pAlive,
      expectedPurchases: expected,
      expectedValue,
      predictedClv: predictedClv(margin, expectedValue, discounted),
      valueSource,
    };
  });

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
