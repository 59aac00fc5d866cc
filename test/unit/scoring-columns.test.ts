/**
 * scorePortal aggregates customers into columns and computes labels from per-customer numbers
 * (src/scoring/columns.ts) for speed. These tests recompute every label the straightforward way —
 * a CustomerSummary per customer and the per-customer functions, as scorePortal did before the
 * optimisation — and require identical results (Object.is on every number, same keys and order).
 */
import { describe, expect, it } from 'vitest';
import { parseIsoDay, formatDay } from '../../src/scoring/dates.js';
import { CustomerScratch, normalizeReason, summarizeCustomer } from '../../src/scoring/summary.js';
import { lifecycleStage } from '../../src/scoring/lifecycle.js';
import { medianGap, medianGapInto, ruleBasedPAlive, sleepingStatus } from '../../src/scoring/sleeping.js';
import { activeInterests, buildSectionIndex, everInterests } from '../../src/scoring/interests.js';
import { fixedThresholds, levelOf, quantileThresholds } from '../../src/scoring/rfm.js';
import { cellLabel, segmentOf } from '../../src/scoring/segments.js';
import { discountedPurchases, predictedClv, shrunkRepeatRate } from '../../src/scoring/clv.js';
import { bgnbdExpectedIfAlive, bgnbdPAlive } from '../../src/scoring/bgnbd.js';
import { coarsenTriples, compressTriples } from '../../src/scoring/triples.js';
import { gammaGammaExpectedValue } from '../../src/scoring/gammagamma.js';
import { bgnbdPmfIfAlive, mixWithDeath, poissonPmfIfAlive } from '../../src/scoring/purchase-distribution.js';
import { customerIntervals, spendPosterior, type SpendModel } from '../../src/scoring/value-distribution.js';
import { ValueQuantiles } from '../../src/scoring/value-quantiles.js';
import { scoringSettingsSchema, type InterestMapEntry, type ScoringSettingsInput } from '../../src/scoring/settings.js';
import {
  fitModels, modelTimes, repeatMean, rfmValues, scorePortal,
  type CustomerInput, type CustomerScore, type RfmValues, type SectionNode,
} from '../../src/scoring/index.js';
import { mulberry32 } from '../../src/emulator/generator/random.js';

const AS_OF = parseIsoDay('2025-01-01');


/** customers with refunds, free orders, same-day deals, string dates, deals after as-of, lost reasons, several sections */
function portal(seed: number, count: number): { customers: CustomerInput[]; sections: SectionNode[] } {
  const rand = mulberry32(seed);
  const exp = () => -Math.log(1 - rand());
  const sections: SectionNode[] = [];
  for (let top = 1; top <= 8; top++) {
    sections.push({ id: top, parentId: null, name: `Top ${top}` });
    for (let k = 1; k <= 5; k++) {
      sections.push({ id: top * 100 + k, parentId: top, name: `Section ${top}.${k}` });
      if (k <= 2) sections.push({ id: top * 10000 + k, parentId: top * 100 + k, name: `Sub ${top}.${k}` });
    }
  }
  const leaves = [...sections.filter((s) => s.parentId !== null).map((s) => s.id), 424242];
  const pick = () => leaves[Math.floor(rand() * leaves.length)]!;
  const customers: CustomerInput[] = [];
  for (let i = 0; i < count; i++) {
    const n = rand() < 0.05 ? 0 : 1 + Math.floor(exp() * 3 + 0.5) + (rand() < 0.02 ? 40 : 0);
    const first = AS_OF - Math.floor(rand() * 1095);
    const spend = 100 + 1000 * exp();
    const won: { date: number | string; amount: number; sectionIds?: number[] }[] = [];
    const lost: { date?: number | string; reason?: string | null; reasonId?: string }[] = [];
    for (let k = 0; k < n; k++) {
      let date: number | string = k === 0 ? first : first + Math.floor(rand() * (AS_OF - first + 1));
      if (rand() < 0.03) date += 30;
      if (rand() < 0.2) date = formatDay(date);
      if (rand() < 0.1) {
        lost.push({ date: rand() < 0.2 ? undefined : date, reason: rand() < 0.5 ? 'no response' : rand() < 0.5 ? ' Too  expensive ' : null, reasonId: rand() < 0.3 ? 'NO_RESPONSE' : undefined });
        continue;
      }
      let amount = Math.round(spend * (0.5 + rand()));
      if (rand() < 0.05) amount = 0;
      if (rand() < 0.05) amount = -Math.round(spend * rand());
      if (rand() < 0.05) amount += 0.37;
      won.push(rand() < 0.1 ? { date, amount } : { date, amount, sectionIds: rand() < 0.2 ? [] : rand() < 0.3 ? [pick(), pick()] : [pick()] });
      if (rand() < 0.05) won.push({ date, amount: 17, sectionIds: [pick()] });
    }
    customers.push({ id: `c${i}`, kind: rand() < 0.1 ? 'company' : undefined, createdAt: rand() < 0.5 ? formatDay(first - 3) : undefined, won, lost, openDeals: rand() < 0.05 ? 1 : 0 });
  }
  return { customers, sections };
}

/** scorePortal's customers computed the straightforward way (one summary object per customer). */
function referenceCustomers(input: { customers: CustomerInput[]; sections: SectionNode[] }, settingsInput: ScoringSettingsInput): CustomerScore[] {
  const settings = scoringSettingsSchema.parse(settingsInput);
  const scale = settings.rfm.scale;
  const noResponse = new Set(settings.lifecycle.noResponseReasons.map(normalizeReason));
  const summaries = input.customers.map((c) => summarizeCustomer(c, AS_OF, noResponse, settings.rfm.freeOrdersArePurchases));
  const values: (RfmValues | null)[] = summaries.map((s) => (s.days.length > 0 ? rfmValues(s, AS_OF, settings.rfm) : null));
  const buyers = values.filter((v): v is RfmValues => v !== null);
  let thresholds = null;
  if (buyers.length > 0) {
    const fx = scale === 3 ? settings.rfm.fixed.scale3 : settings.rfm.fixed.scale5;
    thresholds =
      settings.rfm.mode === 'fixed'
        ? { recency: fixedThresholds(fx.recency, scale, 'recency'), frequency: fixedThresholds(fx.frequency, scale, 'frequency'), monetary: fixedThresholds(fx.monetary, scale, 'monetary') }
        : {
            recency: quantileThresholds(Float64Array.from(buyers, (b) => b.recencyDays), scale, 'recency'),
            frequency: quantileThresholds(Float64Array.from(buyers, (b) => b.frequency), scale, 'frequency'),
            monetary: quantileThresholds(Float64Array.from(buyers, (b) => b.monetary), scale, 'monetary'),
          };
  }
  const models = fitModels(summaries, AS_OF, settings.models);
  const bgParams = models.bgnbd.status === 'ok' ? models.bgnbd.params : null;
  const ggParams = models.gammagamma.status === 'ok' ? models.gammagamma.params : null;
  const unitDays = settings.models.timeUnit === 'week' ? 7 : 1;
  const { horizonDays, annualDiscountRate, margin } = settings.models;
  let sumX = 0;
  let sumT = 0;
  for (const s of summaries) {
    if (s.days.length === 0) continue;
    sumX += s.days.length - 1;
    sumT += AS_OF - s.days[0]!;
  }
  const portalRate = sumT > 0 ? sumX / sumT : 0;
  const index = buildSectionIndex(input.sections);
  const mapBySection = new Map<number, InterestMapEntry>(settings.interests.map.map((e) => [e.sectionId, e]));
  const rules = scale === 3 ? settings.segments.scale3 : settings.segments.scale5;
  const valueQ = new ValueQuantiles();
  return summaries.map((s, i) => {
    const v = values[i]!;
    const life = lifecycleStage(s, AS_OF, settings.lifecycle);
    const sleep = sleepingStatus(s.days, AS_OF, settings.sleeping);
    const r = v && thresholds ? levelOf(v.recencyDays, thresholds.recency) : null;
    const f = v && thresholds ? levelOf(v.frequency, thresholds.frequency) : null;
    const m = v && thresholds ? levelOf(v.monetary, thresholds.monetary) : null;
    let historicValue = 0;
    for (let k = 0; k < s.values.length; k++) historicValue += s.values[k]!;
    let pAlive = 0;
    let expected = 0;
    let discounted = 0;
    let valueSource: CustomerScore['valueSource'] = 'rules';
    let pmf: Float64Array | null = null;
    if (s.days.length > 0 && bgParams) {
      const t = modelTimes(s.days, AS_OF, unitDays);
      const hit = discountedPurchases((d) => bgnbdExpectedIfAlive(bgParams, d / unitDays, t.x, t.T), horizonDays, annualDiscountRate);
      pAlive = bgnbdPAlive(bgParams, t.x, t.tx, t.T);
      expected = hit.expected * pAlive;
      discounted = hit.discounted * pAlive;
      valueSource = 'models';
      pmf = mixWithDeath(bgnbdPmfIfAlive(bgParams, horizonDays / unitDays, t.x, t.T), pAlive);
    } else if (s.days.length > 0) {
      pAlive = ruleBasedPAlive(sleep, settings.sleeping);
      const rate = shrunkRepeatRate(s.days.length - 1, AS_OF - s.days[0]!, portalRate);
      const dp = discountedPurchases((d) => rate * d * pAlive, horizonDays, annualDiscountRate);
      expected = dp.expected;
      discounted = dp.discounted;
      pmf = mixWithDeath(poissonPmfIfAlive(rate * horizonDays), pAlive);
    }
    let expectedValue = s.days.length > 0 ? historicValue / s.days.length : 0;
    let spend: SpendModel = { kind: 'fixed', value: expectedValue };
    if (ggParams && s.days.length > 0) {
      const ev = gammaGammaExpectedValue(ggParams, s.days.length - 1, repeatMean(s.values));
      if (Number.isFinite(ev)) {
        expectedValue = ev;
        spend = spendPosterior(ggParams, s.days.length - 1, repeatMean(s.values));
      }
    }
    return {
      id: s.id,
      kind: s.kind,
      recencyDays: v ? v.recencyDays : null,
      frequency: v ? v.frequency : 0,
      monetary: v ? v.monetary : 0,
      r, f, m,
      rfm: r !== null && f !== null && m !== null ? cellLabel(scale, r, f, m) : null,
      segment: r !== null && f !== null && m !== null ? segmentOf(rules, r, f, m) : 'no_purchases',
      lifecycle: life.stage,
      refusalReason: life.refusalReason,
      sleeping: sleep.sleeping,
      medianGapDays: sleep.medianGapDays,
      expectedNextPurchase: sleep.expectedNextDay === null ? null : formatDay(sleep.expectedNextDay),
      daysOverdue: sleep.daysOverdue,
      interests: activeInterests(s.sections, AS_OF, settings.interests, index, mapBySection),
      interestsEver: everInterests(s.sections, AS_OF, settings.interests, index, mapBySection),
      historicValue,
      pAlive,
      expectedPurchases: expected,
      expectedValue,
      predictedClv: predictedClv(margin, expectedValue, discounted),
      valueSource,
      intervals: pmf ? customerIntervals(pmf, spend, margin * (expected > 0 ? discounted / expected : 1), valueQ) : null,
    };
  });
}

const interestMap: InterestMapEntry[] = [
  { sectionId: 1, tag: 'top1', windowDays: 30, related: [{ tag: 'kids_goods', windowDays: 1095 }] },
  { sectionId: 205, tag: 'kids_goods', windowDays: 400, related: [{ tag: 'top1', windowDays: 30 }] },
  { sectionId: 30001, tag: 'section:3', windowDays: 500, related: [] },
];

describe('columnar scorePortal = the straightforward per-customer path', () => {
  const variants: [string, ScoringSettingsInput][] = [
    ['defaults (weeks)', {}],
    ['days, coarsened fit grid, binned spend rows', { models: { timeUnit: 'day', maxFitTriples: 300 } }],
    ['3 levels, fixed bounds, average M, F window, interest map', { rfm: { scale: 3, mode: 'fixed', monetary: 'average', frequencyWindowMonths: 12 }, interests: { depth: 2, map: interestMap } }],
    ['no free orders, depth 3, other lifecycle/sleeping settings, models off', {
      rfm: { freeOrdersArePurchases: false, frequencyWindowMonths: 6 }, interests: { depth: 3, map: interestMap, defaultWindowDays: 100 },
      lifecycle: { regularMinPurchaseDays: 4, regularWindowMonths: 6 }, sleeping: { missedCycles: 2, oneTimeDays: 90 }, models: { enabled: false },
    }],
  ];
  const data = portal(7, 1500);
  it.each(variants)('%s', (_name, settings) => {
    const generator = function* () {
      yield* data.customers;
    };
    const run = scorePortal({ asOf: AS_OF, customers: generator(), sections: data.sections }, settings);
    expect(run.customers).toStrictEqual(referenceCustomers(data, settings));
  });

  it('the allocation-free median gap and the numeric-key coarsening agree with the plain ones', () => {
    const rand = mulberry32(3);
    const scratch = new Float64Array(200);
    for (let t = 0; t < 300; t++) {
      const n = 2 + Math.floor(rand() * 60);
      const days = Int32Array.from({ length: n }, () => Math.floor(rand() * 2000)).sort();
      for (let i = 1; i < n; i++) if (days[i]! <= days[i - 1]!) days[i] = days[i - 1]! + 1;
      expect(medianGapInto(days, n, scratch)).toBe(medianGap(days));
    }
    const rows = Array.from({ length: 3000 }, () => {
      const T = Math.floor(rand() * 1000) / 7;
      return { x: Math.floor(rand() * 20), tx: Math.floor(rand() * T * 7) / 7, T, weight: 1 + Math.floor(rand() * 3) };
    });
    const exact = compressTriples(rows);
    // coarsenTriples as first written: text keys, one object per triple and step
    const textCoarsen = (triples: typeof exact, max: number, base: number) => {
      let current = triples;
      let step = 0;
      for (let h = base; current.length > max; h *= 2) {
        current = compressTriples(triples.map((t) => ({ x: t.x, tx: Math.round(t.tx / h) * h, T: Math.round(t.T / h) * h, weight: t.weight })));
        step = h;
      }
      return { triples: current, step };
    };
    for (const [max, base] of [[2000, 1 / 7], [500, 1 / 7], [100, 0.3], [40, 1], [5000, 1]] as const) {
      const ours = coarsenTriples(exact, max, base);
      expect(ours).toStrictEqual(textCoarsen(exact, max, base));
      if (max < exact.length) expect(ours.step).toBeGreaterThan(0);
    }
  });

  it('a customer scanned after a larger one is not affected by the reused buffers', () => {
    const scratch = new CustomerScratch();
    const big: CustomerInput = { id: 'big', won: Array.from({ length: 300 }, (_, i) => ({ date: AS_OF - i, amount: 1 + (i % 3), sectionIds: [i % 40, 7] })) };
    const small: CustomerInput = { id: 'small', won: [{ date: AS_OF - 5, amount: 3, sectionIds: [7] }, { date: AS_OF - 9, amount: 2 }] };
    summarizeCustomer(big, AS_OF, new Set(), true, scratch);
    expect(summarizeCustomer(small, AS_OF, new Set(), true, scratch)).toStrictEqual(summarizeCustomer(small, AS_OF, new Set()));
  });
});
