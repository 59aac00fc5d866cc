/**
 * A customer's CustomerScore from the run's columns (the last phase of scorePortal, one customer at
 * a time as the scores are read: ./score-view.ts). The formulas are those of lifecycleStage, sleepingStatus, levelOf/segmentOf/cellLabel, activeInterests,
 * bgnbdPAlive/bgnbdExpectedIfAlive, gammaGammaExpectedValue, clv.ts and the predictive intervals
 * (purchase-distribution.ts, value-distribution.ts), applied to the
 * per-customer numbers; what is shared by many customers (the cell → segment and cell → label
 * tables, the expected purchases per (x, T), the section → tag resolution and the date texts)
 * is computed once per run.
 */
import { bgnbdExpectedIfAlive, bgnbdPAlive, type BgNbdParams } from './bgnbd.js';
import { discountedPurchases, predictedClv, shrunkRepeatRate } from './clv.js';
import type { LifecycleCode, Scale, SegmentCode } from './codes.js';
import type { CustomerColumns } from './columns.js';
import { memoFormatDay, type DayNumber } from './dates.js';
import { gammaGammaExpectedValue, type GammaGammaParams } from './gammagamma.js';
import { bgnbdPmfIfAlive, mixWithDeath, poissonPmfIfAlive } from './purchase-distribution.js';
import { customerIntervals, spendPosterior, type CustomerIntervals, type SpendModel } from './value-distribution.js';
import { ValueQuantiles } from './value-quantiles.js';
import { buildSectionIndex, InterestTagger } from './interests.js';
import { lifecycleCode } from './lifecycle.js';
import { levelOf } from './rfm.js';
import type { RfmColumns } from './rfm-columns.js';
import { cellLabel, segmentOf, type RuleLike } from './segments.js';
import type { InterestMapEntry, ScoringSettings } from './settings.js';
import { ruleBasedPAlive, sleepingOf } from './sleeping.js';
import type { BgNbdReport, CustomerScore, GammaGammaReport, ScoringRun, SectionNode } from './types.js';

type Sleep = ReturnType<typeof sleepingOf>;

/**
 * The per-run state of the labelling, and the steps for customer i. `score(i)` depends only on the
 * columns and the current thresholds (the caches hold values that depend on their keys alone), so a
 * customer can be scored when it is consumed (./score-view.ts) instead of all at once.
 */
export class CustomerLabeler {
  private readonly bgParams: BgNbdParams | null;
  private readonly ggParams: GammaGammaParams | null;
  private readonly unitDays: number;
  /** per (x, T): the expected purchases if alive, and their distribution; a one-time buyer's intervals (they depend on T only) */
  private readonly modelCache = new Map<number, { expected: number; discounted: number; ifAlive: Float64Array; oneTime?: CustomerIntervals }>();
  private readonly dayText = memoFormatDay();
  private readonly valueQuantiles = new ValueQuantiles();
  /** the current customer's purchase distribution (kept per customer only with keepForecasts) */
  private pmfScratch = new Float64Array(64);
  private readonly tagger: InterestTagger;
  private readonly cells: CellTable;

  constructor(
    private readonly cols: CustomerColumns,
    private readonly rfmCols: RfmColumns,
    private thresholds: ScoringRun['thresholds'],
    models: { bgnbd: BgNbdReport; gammagamma: GammaGammaReport },
    private readonly portalRate: number,
    private readonly asOfDay: DayNumber,
    private readonly settings: ScoringSettings,
    sections: readonly SectionNode[],
    private readonly keepForecasts = false,
  ) {
    const scale: Scale = settings.rfm.scale;
    this.bgParams = models.bgnbd.status === 'ok' ? models.bgnbd.params : null;
    this.ggParams = models.gammagamma.status === 'ok' ? models.gammagamma.params : null;
    this.unitDays = settings.models.timeUnit === 'week' ? 7 : 1;
    this.tagger = new InterestTagger(
      asOfDay,
      settings.interests,
      buildSectionIndex(sections),
      new Map<number, InterestMapEntry>(settings.interests.map.map((e) => [e.sectionId, e])),
      this.dayText,
    );
    this.cells = new CellTable(scale, scale === 3 ? settings.segments.scale3 : settings.segments.scale5);
  }

  /** The number of customers. */
  get count(): number {
    return this.cols.count;
  }

  /** Relabels with other R/F/M bounds (threshold pinning): later scores use them. */
  setThresholds(th: ScoringRun['thresholds']): void {
    this.thresholds = th;
  }

  id(i: number): string {
    return this.cols.ids[i]!;
  }

  /** Customer i bought at least once (has R/F/M values). */
  isBuyer(i: number): boolean {
    return this.cols.purchaseDays[i]! > 0;
  }

  /** Customer i's segment under the current thresholds (score(i).segment, without the rest). */
  segment(i: number): SegmentCode {
    return this.rfmCell(i, this.cols.purchaseDays[i]!).segment;
  }

  /** Customer i's lifecycle stage (score(i).lifecycle). */
  lifecycle(i: number): LifecycleCode {
    const { cols } = this;
    return lifecycleCode(cols.purchaseDays[i]!, cols.regularWindowDays[i]!, cols.openDeals[i]!, cols.lostTotal[i]!, cols.lostNoResponse[i]!, this.settings.lifecycle);
  }

  /** A buyer's R, F or M level differs between the current thresholds and `th` (levelDrift); false without purchases or thresholds. */
  levelsDiffer(i: number, th: NonNullable<ScoringRun['thresholds']>): boolean {
    const { thresholds: cur, rfmCols } = this;
    if (!cur || !this.isBuyer(i)) return false;
    const rec = rfmCols.recency[i]!;
    const fr = rfmCols.frequency[i]!;
    const mon = rfmCols.monetary[i]!;
    return levelOf(rec, th.recency) !== levelOf(rec, cur.recency) || levelOf(fr, th.frequency) !== levelOf(fr, cur.frequency)
      || levelOf(mon, th.monetary) !== levelOf(mon, cur.monetary);
  }

  score(i: number): CustomerScore {
    const { cols, rfmCols, settings, asOfDay } = this;
    const days = cols.purchaseDays[i]!;
    const stage = this.lifecycle(i);
    const sleep = days > 0 ? sleepingOf(days, cols.lastDay[i]!, cols.medianGap[i]!, asOfDay, settings.sleeping) : null;
    const { r, f, m, segment, rfm } = this.rfmCell(i, days);
    const historicValue = cols.total[i]!;
    const avgValue = days > 0 ? historicValue / days : 0;
    const { pAlive, expected, discounted, valueSource, pmf, cached } = this.futurePurchases(i, days, sleep);
    const { expectedValue, spend } = this.expectedValue(i, days, avgValue);
    const moneyScale = settings.models.margin * (expected > 0 ? discounted / expected : 1);
    const intervals = pmf ? this.intervals(pmf, spend, moneyScale, cached) : null;
    const ever = this.tagger.everInterests(cols.sectionIds, cols.sectionLastDay, cols.sectionStart[i]!, cols.sectionStart[i + 1]!);
    const asOfText = this.tagger.asOfText();
    return {
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
      expectedNextPurchase: sleep === null || sleep.expectedNextDay === null ? null : this.dayText(sleep.expectedNextDay),
      daysOverdue: sleep ? sleep.daysOverdue : null,
      interests: ever.filter((x) => x.expiresOn >= asOfText),
      interestsEver: ever,
      historicValue,
      pAlive,
      expectedPurchases: expected,
      expectedValue,
      predictedClv: predictedClv(settings.models.margin, expectedValue, discounted),
      valueSource,
      intervals,
      ...(this.keepForecasts && pmf ? { forecast: { pmf, spend, moneyScale } } : {}),
    };
  }

  /** R, F, M levels, the segment and the cell label (none without purchases or thresholds). */
  private rfmCell(i: number, days: number) {
    let r: number | null = null;
    let f: number | null = null;
    let m: number | null = null;
    let segment: SegmentCode = 'no_purchases';
    let rfm: string | null = null;
    const { thresholds, rfmCols, cells } = this;
    if (days > 0 && thresholds) {
      r = levelOf(rfmCols.recency[i]!, thresholds.recency);
      f = levelOf(rfmCols.frequency[i]!, thresholds.frequency);
      m = levelOf(rfmCols.monetary[i]!, thresholds.monetary);
      segment = cells.segment(r, f, m);
      rfm = cells.label(r, f, m);
    }
    return { r, f, m, segment, rfm };
  }

  /**
   * P(alive) and the expected purchases over the horizon (plain and discounted): from the BG/NBD
   * fit when there is one, else from the rules (sleeping status, repeat rate shrunk to the portal's).
   */
  private futurePurchases(i: number, days: number, sleep: Sleep | null) {
    const { cols, asOfDay, unitDays, settings } = this;
    const { horizonDays, annualDiscountRate } = settings.models;
    const first = cols.firstDay[i]!;
    const bgParams = this.bgParams;
    let pAlive = 0;
    let expected = 0;
    let discounted = 0;
    let valueSource: CustomerScore['valueSource'] = 'rules';
    let pmf: Float64Array | null = null;
    let cached: { oneTime?: CustomerIntervals } | null = null;
    if (days > 0 && bgParams) {
      // modelTimes
      const x = days - 1;
      const tx = (cols.lastDay[i]! - first) / unitDays;
      const T = (asOfDay - first) / unitDays;
      // E[Y(t) | x, t_x, T] = (expected purchases if alive: depends on x, T) × P(alive | x, t_x, T)
      const key = x * 1e7 + (asOfDay - first);
      let hit = this.modelCache.get(key);
      if (!hit) {
        const dp = discountedPurchases((d) => bgnbdExpectedIfAlive(bgParams, d / unitDays, x, T), horizonDays, annualDiscountRate);
        hit = { ...dp, ifAlive: bgnbdPmfIfAlive(bgParams, horizonDays / unitDays, x, T) };
        this.modelCache.set(key, hit);
      }
      pAlive = bgnbdPAlive(bgParams, x, tx, T);
      expected = hit.expected * pAlive;
      discounted = hit.discounted * pAlive;
      valueSource = 'models';
      if (this.pmfScratch.length < hit.ifAlive.length) this.pmfScratch = new Float64Array(hit.ifAlive.length * 2);
      pmf = mixWithDeath(hit.ifAlive, pAlive, this.keepForecasts ? undefined : this.pmfScratch);
      if (x === 0) cached = hit;
    } else if (sleep) {
      const alive = ruleBasedPAlive(sleep, settings.sleeping);
      pAlive = alive;
      const rate = shrunkRepeatRate(days - 1, asOfDay - first, this.portalRate);
      const dp = discountedPurchases((d) => rate * d * alive, horizonDays, annualDiscountRate);
      expected = dp.expected;
      discounted = dp.discounted;
      pmf = mixWithDeath(poissonPmfIfAlive(rate * horizonDays), alive);
    }
    return { pAlive, expected, discounted, valueSource, pmf, cached };
  }

  /**
   * The 80 % intervals; money × margin × discounted/expected like the point CLV. A one-time buyer's
   * intervals under the models depend only on T (P(alive) = 1, the population's spend): kept per T.
   */
  private intervals(pmf: Float64Array, spend: SpendModel, moneyScale: number, cached: { oneTime?: CustomerIntervals } | null): CustomerIntervals {
    const shareable = cached !== null && spend.kind === 'gamma';
    if (shareable && cached.oneTime) return cached.oneTime;
    const out = customerIntervals(pmf, spend, moneyScale, this.valueQuantiles);
    if (shareable) cached.oneTime = out;
    return out;
  }

  /**
   * Value per purchase: the Gamma-Gamma expectation when fitted and finite, else the historic
   * average; and the distribution of one purchase's value the intervals use (the customer's
   * Gamma-Gamma posterior, or that fixed value).
   */
  private expectedValue(i: number, days: number, avgValue: number): { expectedValue: number; spend: SpendModel } {
    if (this.ggParams && days > 0) {
      const ev = gammaGammaExpectedValue(this.ggParams, days - 1, this.cols.repeatMean[i]!);
      if (Number.isFinite(ev)) return { expectedValue: ev, spend: spendPosterior(this.ggParams, days - 1, this.cols.repeatMean[i]!) };
    }
    return { expectedValue: avgValue, spend: { kind: 'fixed', value: avgValue } };
  }
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
