/**
 * scorePortal: customers in → labels, thresholds, model fits and warnings out. Pure (no I/O).
 * Four phases: aggregate the deals into per-customer columns (./columns.ts), R/F/M values and
 * thresholds (./rfm-columns.ts), the model fits (./fit-models.ts), one label per customer
 * (./labels.ts). scorePortalView stops before the last phase: its customers are a view that
 * labels each one when it is read (./score-view.ts). Re-exports the building blocks.
 */
import type { Scale } from './codes.js';
import { aggregateCustomers, type CustomerColumns } from './columns.js';
import { formatDay, toDay, type DayNumber } from './dates.js';
import { fitModelsOn } from './fit-models.js';
import { CustomerLabeler } from './labels.js';
import { rfmColumns, rfmThresholds } from './rfm-columns.js';
import { scoringSettingsSchema, type ScoringSettings, type ScoringSettingsInput } from './settings.js';
import { normalizeReason } from './summary.js';
import { ScoreView, type ScoredPortal } from './score-view.js';
import type { CustomerScore, PortalScoringInput, ScoringRun } from './types.js';

export * from './codes.js';
export * from './types.js';
export * from './settings.js';
export * from './i18n.js';
export { diffRuns, sizesOverTime, segmentSizes, type StoredLabel, type LabelChange, type RunDiff } from './history.js';
export { levelOf, levelRanges, quantileThresholds, fixedThresholds, explainLevel, type DimensionThresholds, type LevelRange } from './rfm.js';
export { segmentOf, segmentMap, allCells, cellLabel, uncoveredCells } from './segments.js';
export { summarizeCustomer, type CustomerSummary } from './summary.js';
export { lifecycleStage } from './lifecycle.js';
export { sleepingStatus, medianGap, ruleBasedPAlive } from './sleeping.js';
export { activeInterests, buildSectionIndex, everInterests, type ActiveInterest } from './interests.js';
export * from './bgnbd.js';
export * from './triples.js';
export * from './gammagamma.js';
export { rfmValues, type RfmValues } from './rfm-columns.js';
export { ScoreView, relabelRun, type ScoredPortal } from './score-view.js';
export { fitModels, fitModelsOn, modelTimes, repeatMean, spendRows, type ModelColumns } from './fit-models.js';

export interface ScorePortalOptions {
  /** called at the end of each phase ('aggregate', 'rfm', 'models', 'labels'); for benchmarks */
  onPhase?: (phase: 'aggregate' | 'rfm' | 'models' | 'labels') => void;
  /** keep each buyer's forecast distribution on its score (CustomerScore.forecast); for the backtest */
  keepForecasts?: boolean;
}

/** scorePortal with every customer's score in an array (the CLI, the preview, event rescoring, the tests). */
export function scorePortal(
  input: PortalScoringInput,
  settingsInput: ScoringSettings | ScoringSettingsInput = {},
  options: ScorePortalOptions = {},
): ScoringRun {
  const run = scorePortalView(input, settingsInput, options);
  const customers: CustomerScore[] = [];
  for (let i = 0; i < run.customers.length; i++) customers.push(run.customers.at(i));
  options.onPhase?.('labels');
  return { ...run, customers };
}

/**
 * scorePortal with the per-customer scores computed when they are consumed (./score-view.ts): what a
 * full scoring run of a big portal uses, so that the run never holds one score object per customer.
 */
export function scorePortalView(
  input: PortalScoringInput,
  settingsInput: ScoringSettings | ScoringSettingsInput = {},
  options: ScorePortalOptions = {},
): ScoredPortal {
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
  phase('aggregate');

  // 2. RFM values (rfmValues of each customer with purchases) and thresholds
  const rfm = rfmColumns(cols, asOfDay, settings.rfm);
  const thresholds = rfmThresholds(cols, rfm.values, rfm.buyers, settings.rfm, warnings);
  phase('rfm');

  // 3. models
  const models = fitModelsOn(cols, asOfDay, settings.models);
  if (models.bgnbd.status !== 'ok') warnings.push(`BG/NBD: ${models.bgnbd.status} (${models.bgnbd.reason}); P(alive) and purchases from rules`);
  if (models.gammagamma.status !== 'ok') warnings.push(`Gamma-Gamma: ${models.gammagamma.status} (${models.gammagamma.reason}); value per purchase from history`);
  const portalRate = portalRepeatRate(cols, asOfDay);
  phase('models');

  // 4. per-customer labels, each built when it is read
  const labeler = new CustomerLabeler(cols, rfm.values, thresholds, models, portalRate, asOfDay, settings, input.sections ?? [], options.keepForecasts ?? false);
  const customers = new ScoreView(labeler);
  return {
    asOf: formatDay(asOfDay),
    scale,
    settings,
    thresholds,
    models,
    customers,
    segmentSizes: customers.segmentSizes(),
    lifecycleSizes: customers.lifecycleSizes(),
    warnings,
  };
}

/** Portal-wide repeat rate (repeat purchase days per day of history): the prior of the rule-based rate. */
function portalRepeatRate(cols: CustomerColumns, asOfDay: DayNumber): number {
  let sumX = 0;
  let sumT = 0;
  for (let i = 0; i < cols.count; i++) {
    if (cols.purchaseDays[i] === 0) continue;
    sumX += cols.purchaseDays[i]! - 1;
    sumT += asOfDay - cols.firstDay[i]!;
  }
  return sumT > 0 ? sumX / sumT : 0;
}
