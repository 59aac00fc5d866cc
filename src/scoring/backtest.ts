/**
 * Backtest of the predicted value on a portal's own history: pretend it is `fitUntil`, score the
 * customers known by then exactly as a run does (scorePortal: model fits, expected purchases, CLV and
 * the 80 % intervals over the horizon; no discounting, margin 1, so the CLV is the predicted revenue),
 * then compare with what they really bought in (fitUntil, fitUntil + horizon].
 *
 *  - coverage / valueCoverage: the coverage of the middle 80 % of each customer's forecast of purchase
 *    days / revenue (calibration.ts): about 80 % when the forecasts are right;
 *  - insideRange / valueInsideRange: the plain share of customers whose actual purchase days / revenue
 *    fell inside the 80 % interval written to the CRM; expectedInside: what the model itself expects
 *    of insideRange (above 80 %: an interval of a count that is most likely 0 is [0, 0] and holds
 *    more than 80 %; calibration.ts explains);
 *  - predicted / actual: purchase days of all customers in the hold-out; predictedValue / actualValue
 *    the revenue;
 *  - deciles: the customers ranked by predicted revenue (decile 1 = the lowest tenth, 10 = the
 *    highest), each decile's customers, predicted and actual purchase days and revenue: the
 *    calibration chart;
 *  - mae / valueMae: mean over the deciles of |predicted − actual| per customer (purchase days /
 *    revenue); relativeError / valueRelativeError: (Σ predicted − Σ actual) / Σ actual.
 * Pure: customers in, figures out.
 */
import { formatDay, type DayNumber } from './dates.js';
import { scoringSettingsSchema, type ScoringSettings, type ScoringSettingsInput } from './settings.js';
import { CustomerScratch, scanCustomer } from './summary.js';
import { scorePortalView } from './index.js';
import type { ScoredPortal } from './score-view.js';
import type { CustomerInput, CustomerScore, FitStatus } from './types.js';
import { countStep, massInside, middleShare, valueStep } from './calibration.js';
import { ValueQuantiles } from './value-quantiles.js';

export interface BacktestDecile {
  decile: number;
  customers: number;
  predicted: number;
  actual: number;
  predictedValue: number;
  actualValue: number;
  /** coverage of the middle 80 % of the decile's purchase-day forecasts */
  coverage: number;
  /** share of the decile's customers whose purchase days fell inside their interval */
  insideRange: number;
}

export interface BacktestResult {
  fitUntil: string;
  holdoutEnd: string;
  horizonDays: number;
  customers: number;
  valueSource: 'models' | 'rules';
  models: { bgnbd: FitStatus; gammagamma: FitStatus };
  coverage: number | null;
  valueCoverage: number | null;
  insideRange: number | null;
  valueInsideRange: number | null;
  expectedInside: number | null;
  predicted: number;
  actual: number;
  predictedValue: number;
  actualValue: number;
  mae: number | null;
  valueMae: number | null;
  relativeError: number | null;
  valueRelativeError: number | null;
  deciles: BacktestDecile[];
}

/** A backtest as a scoring run stores it (src/pipeline/backtest.ts): the result, or why there is none. */
export type StoredBacktest = ({ status: 'done' } & BacktestResult) | { status: 'skipped' | 'failed'; reason: string; fitUntil: string | null; horizonDays: number };

interface Row {
  /** the forecast: purchase days and revenue over the hold-out */
  predicted: number;
  predictedValue: number;
  actual: number;
  actualValue: number;
  /** middle-80 % shares (calibration.ts) and whether the actual values fell inside the intervals */
  mid: number;
  valueMid: number;
  inside: boolean;
  valueInside: boolean;
  expectedInside: number;
}

/** Purchase days and revenue of a customer in (from, to] (the run's purchase-day rules); `s` is scratch. */
function holdoutOf(c: CustomerInput, from: DayNumber, to: DayNumber, settings: ScoringSettings, s: CustomerScratch): { days: number; value: number } {
  scanCustomer(c, to, NO_REASONS, settings.rfm.freeOrdersArePurchases, s);
  let days = 0;
  let value = 0;
  for (let k = 0; k < s.nDays; k++) {
    if (s.days[k]! <= from) continue;
    days++;
    value += s.values[k]!;
  }
  return { days, value };
}

const NO_REASONS: ReadonlySet<string> = new Set<string>();

/**
 * One row per customer who bought before the cut, in input order: its forecast (scored as it is
 * reached, then dropped) against what it bought in the hold-out. The input is read a second time
 * beside the run: customer i of the run is the input's i-th.
 */
function backtestRows(run: ScoredPortal, customers: Iterable<CustomerInput>, fitUntil: DayNumber, holdoutEnd: DayNumber, settings: ScoringSettings): Row[] {
  const rows: Row[] = [];
  const values = new ValueQuantiles();
  const s = new CustomerScratch();
  let i = 0;
  for (const c of customers) {
    const at = i++;
    if (!run.customers.isBuyer(at)) continue; // no purchase before the cut: nothing was predicted
    const a = holdoutOf(c, fitUntil, holdoutEnd, settings, s);
    rows.push(rowOf(run.customers.at(at), a.days, a.value, values));
  }
  if (i !== run.customers.length) throw new Error(`backtest: the input gave ${i} customers on its second pass, ${run.customers.length} on its first`);
  return rows;
}

export function backtest(customers: Iterable<CustomerInput>, fitUntil: DayNumber, horizonDays: number, settingsInput: ScoringSettings | ScoringSettingsInput = {}): BacktestResult {
  const base = scoringSettingsSchema.parse(settingsInput);
  const settings = scoringSettingsSchema.parse({ ...base, models: { ...base.models, horizonDays, annualDiscountRate: 0, margin: 1 } });
  const holdoutEnd = fitUntil + horizonDays;
  const run = scorePortalView({ asOf: fitUntil, customers }, settings, { keepForecasts: true });
  const rows = backtestRows(run, customers, fitUntil, holdoutEnd, settings);
  const deciles = decileRows(rows);
  const sum = (f: (r: Row) => number) => rows.reduce((s, r) => s + f(r), 0);
  const predicted = sum((r) => r.predicted);
  const actual = sum((r) => r.actual);
  const predictedValue = sum((r) => r.predictedValue);
  const actualValue = sum((r) => r.actualValue);
  const n = rows.length;
  const mean = (f: (r: Row) => number) => (n ? sum(f) / n : null);
  const meanAbs = (f: (d: BacktestDecile) => number) => (deciles.length ? deciles.reduce((s, d) => s + f(d), 0) / deciles.length : null);
  return {
    fitUntil: formatDay(fitUntil),
    holdoutEnd: formatDay(holdoutEnd),
    horizonDays,
    customers: n,
    valueSource: run.models.bgnbd.status === 'ok' ? 'models' : 'rules',
    models: { bgnbd: run.models.bgnbd.status, gammagamma: run.models.gammagamma.status },
    coverage: mean((r) => r.mid),
    valueCoverage: mean((r) => r.valueMid),
    insideRange: mean((r) => (r.inside ? 1 : 0)),
    valueInsideRange: mean((r) => (r.valueInside ? 1 : 0)),
    expectedInside: mean((r) => r.expectedInside),
    predicted,
    actual,
    predictedValue,
    actualValue,
    mae: meanAbs((d) => Math.abs(d.predicted - d.actual) / d.customers),
    valueMae: meanAbs((d) => Math.abs(d.predictedValue - d.actualValue) / d.customers),
    relativeError: actual > 0 ? (predicted - actual) / actual : null,
    valueRelativeError: actualValue > 0 ? (predictedValue - actualValue) / actualValue : null,
    deciles,
  };
}

/** A customer's actual hold-out figures against its forecast (scorePortal keepForecasts: every buyer has one); the score is not kept. */
function rowOf(score: CustomerScore, actual: number, actualValue: number, values: ValueQuantiles): Row {
  const f = score.forecast!;
  const iv = score.intervals!;
  const [a, b] = countStep(f.pmf, actual);
  const [va, vb] = valueStep(f.pmf, f.spend, actualValue / f.moneyScale, values);
  return {
    predicted: score.expectedPurchases,
    predictedValue: score.predictedClv,
    actual,
    actualValue,
    mid: middleShare(a, b),
    valueMid: middleShare(va, vb),
    inside: actual >= iv.purchasesLow && actual <= iv.purchasesHigh,
    // the CRM holds the CLV to the cent
    valueInside: actualValue >= iv.clvLow - 0.005 && actualValue <= iv.clvHigh + 0.005,
    expectedInside: massInside(f.pmf, iv.purchasesLow, iv.purchasesHigh),
  };
}

/** Customers ranked by predicted revenue (ties: input order), cut into ten groups of near-equal size. */
function decileRows(rows: readonly Row[]): BacktestDecile[] {
  const n = rows.length;
  const order = rows.map((_, i) => i).sort((i, j) => rows[i]!.predictedValue - rows[j]!.predictedValue || i - j);
  const out: BacktestDecile[] = [];
  for (let d = 0; d < 10; d++) {
    const from = Math.floor((d * n) / 10);
    const to = Math.floor(((d + 1) * n) / 10);
    if (to <= from) continue;
    const row: BacktestDecile = { decile: d + 1, customers: to - from, predicted: 0, actual: 0, predictedValue: 0, actualValue: 0, coverage: 0, insideRange: 0 };
    for (let k = from; k < to; k++) {
      const r = rows[order[k]!]!;
      row.predicted += r.predicted;
      row.actual += r.actual;
      row.predictedValue += r.predictedValue;
      row.actualValue += r.actualValue;
      row.coverage += r.mid / row.customers;
      if (r.inside) row.insideRange += 1 / row.customers;
    }
    out.push(row);
  }
  return out;
}
