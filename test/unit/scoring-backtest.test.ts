/**
 * The predictive intervals and the backtest (issue 15 item 4).
 *
 *  - the conditional purchase distribution P(Y(t)=y | x, t_x, T) at the published CDNOW BG/NBD
 *    parameters (Fader, Hardie & Lee 2005, Marketing Science 24(2) §4: r=0.243, α=4.414, a=0.793,
 *    b=2.426) sums to 1, its mean is the conditional expectation (eq. 10; 1.226 for the customer of
 *    note 004), and it matches a seeded simulation of the BG/NBD story from the posterior;
 *  - the CLV quantiles match a simulation of the Gamma-Gamma spend (p=6.25, q=3.74, γ=15.44);
 *  - the incomplete beta against closed forms;
 *  - the CLI backtest on the CDNOW hold-out (fit to 1997-09-30, weeks 40–78): coverage of the middle
 *    80 % between 75 % and 90 %; the actual purchase days (total and per decile) recounted here from
 *    the raw file; bad flags → exit 2 with a message.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CDNOW_DIR } from '../helpers/cdnow.js';
import { mulberry32 } from '../../src/emulator/generator/random.js';
import { bgnbdConditionalExpected, bgnbdPAlive } from '../../src/scoring/bgnbd.js';
import { bgnbdPmfIfAlive, discreteQuantile, mixWithDeath, pmfMean } from '../../src/scoring/purchase-distribution.js';
import { regularizedIncompleteBeta } from '../../src/scoring/incomplete-beta.js';
import { spendPosterior, valueQuantile } from '../../src/scoring/value-distribution.js';
import { middleShare } from '../../src/scoring/calibration.js';
import { ValueQuantiles } from '../../src/scoring/value-quantiles.js';
import { digamma, normalQuantile, trigamma } from '../../src/scoring/polygamma.js';
import { customersFromTransactions, parseTransactions } from '../../src/scoring/transactions.js';
import { parseIsoDay } from '../../src/scoring/dates.js';
import { scorePortal } from '../../src/scoring/index.js';

const P = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
const GG = { p: 6.25, q: 3.74, gamma: 15.44 };
const ROOT = join(import.meta.dirname, '..', '..');
const CDNOW = join(CDNOW_DIR, 'cdnow_sample_transactions.csv');

function cli(...args: string[]) {
  // node with tsx's loader: one process (the tsx binary starts a second node)
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'scoring', 'cli.ts'), ...args], { encoding: 'utf8', cwd: ROOT });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Gamma(shape, rate) by Marsaglia & Tsang (2000), with the U^(1/shape) boost below shape 1. */
function gammaSampler(rand: () => number) {
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const g = (shape: number): number => {
    if (shape < 1) return g(shape + 1) * Math.pow(rand(), 1 / shape);
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      const z = normal();
      const v = (1 + c * z) ** 3;
      if (v <= 0) continue;
      if (Math.log(1 - rand()) < 0.5 * z * z + d - d * v + d * Math.log(v)) return d * v;
    }
  };
  return (shape: number, rate: number) => g(shape) / rate;
}

/** One draw of the purchases in (T, T+t] and their total value, from the posterior (the model's story, step by step). */
function simulateCustomer(rand: () => number, gamma: (s: number, r: number) => number, x: number, tx: number, T: number, t: number, zbar: number) {
  if (rand() >= bgnbdPAlive(P, x, tx, T)) return { y: 0, value: 0 };
  const lambda = gamma(P.r + x, P.alpha + T);
  const g1 = gamma(P.a, 1);
  const dropout = g1 / (g1 + gamma(P.b + x, 1)); // Beta(a, b+x)
  let time = 0;
  let y = 0;
  for (;;) {
    time += -Math.log(1 - rand()) / lambda;
    if (time > t) break;
    y++;
    if (rand() < dropout) break;
  }
  const spend = spendPosterior(GG, x, zbar);
  if (spend.kind !== 'gamma') throw new Error('expected a gamma spend');
  const nu = gamma(spend.q, spend.gamma);
  let value = 0;
  for (let k = 0; k < y; k++) value += gamma(spend.p, nu);
  return { y, value };
}

describe('conditional purchase distribution (published CDNOW parameters)', () => {
  const customers: [number, number, number][] = [[2, 30.43, 38.86], [0, 0, 38.86], [1, 1.71, 38.86], [7, 29.43, 35.14], [20, 37, 38]];
  it.each(customers)('x=%d t_x=%d T=%d: sums to 1, mean = E[Y(39) | x, t_x, T]', (x, tx, T) => {
    const pmf = mixWithDeath(bgnbdPmfIfAlive(P, 39, x, T), bgnbdPAlive(P, x, tx, T));
    expect(Math.abs(pmf.reduce((s, v) => s + v, 0) - 1)).toBeLessThan(1e-9);
    for (const v of pmf) expect(v).toBeGreaterThanOrEqual(0);
    const expected = bgnbdConditionalExpected(P, 39, x, tx, T);
    expect(Math.abs(pmfMean(pmf) - expected) / expected).toBeLessThan(1e-7);
  });

  it('a degenerate fit (a ≈ 5e-9, b ≈ 3e-8, seen in a portal\'s backtest) ends at the NB count\'s tail, not at 1M entries', () => {
    const q = { r: 0.8381895291737931, alpha: 58.92302841007252, a: 4.59072267421857e-9, b: 3.3087222867102554e-8 };
    const [t, x, T] = [52.142857142857146, 0, 15.428571428571429];
    const pmf = bgnbdPmfIfAlive(q, t, x, T);
    expect(pmf.length).toBeLessThan(2_000); // it was 1,000,000 (the sum's rounding never got within 1e-10 of 1)
    // P(0) of an alive customer = NB(0) = (α'/(α'+t))^r' (the death term starts at y = 1)
    expect(pmf[0]).toBeCloseTo(Math.pow((q.alpha + T) / (q.alpha + T + t), q.r + x), 12);
    expect(Math.abs(pmf.reduce((s, v) => s + v, 0) - 1)).toBeLessThan(1e-9);
    // the NB count's survival past the cut is below 5e-11: P(NB ≤ n-1) from its own terms
    const r1 = q.r + x, p0 = (q.alpha + T) / (q.alpha + T + t);
    let nb = Math.pow(p0, r1), cdf = 0;
    for (let j = 0; j < pmf.length; j++) { cdf += nb; nb *= ((r1 + j) / (j + 1)) * (1 - p0); }
    expect(1 - cdf).toBeLessThan(5e-11);
  });

  it('the note-004 customer (x=2, t_x=30.43, T=38.86): mean 1.226 as published', () => {
    expect(pmfMean(mixWithDeath(bgnbdPmfIfAlive(P, 39, 2, 38.86), bgnbdPAlive(P, 2, 30.43, 38.86)))).toBeCloseTo(1.226, 3);
  });

  it('matches a seeded simulation of the model: probabilities, purchase and CLV quantiles', () => {
    const rand = mulberry32(15);
    const gamma = gammaSampler(rand);
    const [x, tx, T, zbar, t] = [7, 29.43, 35.14, 30, 39];
    const N = 60_000;
    const counts = new Float64Array(200);
    const values: number[] = [];
    for (let i = 0; i < N; i++) {
      const d = simulateCustomer(rand, gamma, x, tx, T, t, zbar);
      counts[Math.min(d.y, 199)]!++;
      values.push(d.value);
    }
    const pmf = mixWithDeath(bgnbdPmfIfAlive(P, t, x, T), bgnbdPAlive(P, x, tx, T));
    for (let y = 0; y < 12; y++) {
      const p = pmf[y]!;
      expect(Math.abs(counts[y]! / N - p)).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / N) + 1e-4);
    }
    const simQuantile = (level: number) => {
      let c = 0;
      for (let y = 0; y < counts.length; y++) if ((c += counts[y]! / N) >= level) return y;
      return counts.length;
    };
    expect(discreteQuantile(pmf, 0.1)).toBe(simQuantile(0.1));
    expect(discreteQuantile(pmf, 0.9)).toBe(simQuantile(0.9));
    values.sort((a, b) => a - b);
    const spend = spendPosterior(GG, x, zbar);
    for (const level of [0.5, 0.9]) {
      const sim = values[Math.floor(level * N)]!;
      expect(Math.abs(valueQuantile(pmf, spend, level) - sim) / sim).toBeLessThan(0.03);
    }
  });
});

describe('the fast CLV quantiles (log-normal mixture) against the exact sum of incomplete beta functions', () => {
  it('are within 3 % for every CDNOW customer whose quantile is above 0, and 0 exactly where the exact one is', () => {
    const cut = parseIsoDay('1997-09-30');
    const run = scorePortal(
      { asOf: cut, customers: customersFromTransactions(parseTransactions(readFileSync(CDNOW, 'utf8')), cut) },
      { models: { horizonDays: 273, annualDiscountRate: 0 } },
      { keepForecasts: true },
    );
    const fast = new ValueQuantiles();
    let compared = 0;
    for (const c of run.customers) {
      const f = c.forecast!;
      const [low, high] = fast.quantiles(f.pmf, f.spend, [0.1, 0.9]);
      for (const [level, got] of [[0.1, low!], [0.9, high!]] as const) {
        const exact = valueQuantile(f.pmf, f.spend, level);
        if (exact === 0) expect(got).toBe(0);
        else {
          expect(Math.abs(got - exact) / exact).toBeLessThan(0.03);
          compared++;
        }
      }
      // what the CRM gets: the same numbers (margin 1, no discount)
      expect(c.intervals!.clvHigh).toBeCloseTo(high!, 9);
    }
    expect(compared).toBeGreaterThan(2000);
  });

  it('the normal quantile, digamma and trigamma hit known values', () => {
    expect(normalQuantile(0.9)).toBeCloseTo(1.2815515655446004, 8);
    expect(normalQuantile(0.025)).toBeCloseTo(-1.959963984540054, 8);
    expect(normalQuantile(1e-6)).toBeCloseTo(-4.753424308822899, 7);
    expect(normalQuantile(0.5)).toBe(0);
    expect(digamma(1)).toBeCloseTo(-0.5772156649015329, 11); // −γ (Euler)
    expect(trigamma(1)).toBeCloseTo(Math.PI ** 2 / 6, 11);
  });
});

describe('incomplete beta and the middle-80 % share', () => {
  it('equals the closed forms I_x(a,1) = x^a and I_x(1,b) = 1 − (1−x)^b', () => {
    for (const [x, a] of [[0.3, 2.5], [0.9, 40], [0.05, 0.3], [0.999, 700]] as const) {
      expect(regularizedIncompleteBeta(x, a, 1)).toBeCloseTo(Math.pow(x, a), 12);
      expect(regularizedIncompleteBeta(x, 1, a)).toBeCloseTo(1 - Math.pow(1 - x, a), 12);
    }
    expect(regularizedIncompleteBeta(0.5, 3.7, 3.7)).toBeCloseTo(0.5, 12);
  });
  it('counts the part of a step inside [0.1, 0.9]', () => {
    expect(middleShare(0, 0.95)).toBeCloseTo(0.8 / 0.95, 12); // P(0) = 0.95, nothing bought
    expect(middleShare(0.95, 0.99)).toBe(0);
    expect(middleShare(0.5, 0.5)).toBe(1);
    expect(middleShare(0.05, 0.05)).toBe(0);
  });
});

/** The CDNOW file read here line by line: each customer's purchase days (amounts of one day summed). */
function rawPurchaseDays(): Map<string, Map<string, number>> {
  const byCustomer = new Map<string, Map<string, number>>();
  for (const line of readFileSync(CDNOW, 'utf8').trim().split(/\r?\n/).slice(1)) {
    const [id, date, amount] = line.split(',');
    let days = byCustomer.get(id!);
    if (!days) byCustomer.set(id!, (days = new Map()));
    days.set(date!, (days.get(date!) ?? 0) + Number(amount));
  }
  return byCustomer;
}

describe('cli backtest on the CDNOW hold-out (fit to 1997-09-30, weeks 40–78)', () => {
  const r = cli('backtest', '--transactions', CDNOW, '--until', '1997-09-30', '--horizon-days', '273');
  const lines = r.out.trim().split('\n');
  const j = JSON.parse(lines[lines.length - 1]!);

  it('prints one JSON line with the contract fields; the coverage of the middle 80 % lies in 75–90 %', () => {
    expect(r.code).toBe(0);
    expect(j).toMatchObject({ fitUntil: '1997-09-30', holdoutEnd: '1998-06-30', horizonDays: 273, customers: 2357, valueSource: 'models' });
    expect(j.coverage).toBeGreaterThanOrEqual(0.75);
    expect(j.coverage).toBeLessThanOrEqual(0.9);
    expect(j.valueCoverage).toBeGreaterThanOrEqual(0.75);
    expect(j.valueCoverage).toBeLessThanOrEqual(0.9);
    // the plain share inside [low, high] is what the model itself expects of it (above 80 %: see calibration.ts)
    expect(Math.abs(j.insideRange - j.expectedInside)).toBeLessThan(0.03);
    expect(j.deciles).toHaveLength(10);
    for (const d of j.deciles) expect(Object.keys(d)).toEqual(expect.arrayContaining(['decile', 'customers', 'predicted', 'actual']));
    expect(j.deciles.map((d: { decile: number }) => d.decile)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(j.deciles.reduce((s: number, d: { customers: number }) => s + d.customers, 0)).toBe(2357);
    // ranked by predicted value: the deciles' predicted revenue per customer rises
    const perCustomer = j.deciles.map((d: { predictedValue: number; customers: number }) => d.predictedValue / d.customers);
    for (let i = 1; i < 10; i++) expect(perCustomer[i]).toBeGreaterThanOrEqual(perCustomer[i - 1]);
    expect(Math.abs(j.relativeError - (j.predicted - j.actual) / j.actual)).toBeLessThan(1e-3);
  });

  it('the actual purchase days, in total and per decile, are those of the raw file', () => {
    const raw = rawPurchaseDays();
    const holdout = (id: string) => [...raw.get(id)!].filter(([d, v]) => d > '1997-09-30' && d <= '1998-06-30' && v >= 0).length;
    const holdoutValue = (id: string) => [...raw.get(id)!].filter(([d]) => d > '1997-09-30' && d <= '1998-06-30').reduce((s, [, v]) => s + v, 0);
    const ids = [...raw.keys()];
    expect(j.actual).toBe(ids.reduce((s, id) => s + holdout(id), 0));
    expect(j.actualValue).toBeCloseTo(ids.reduce((s, id) => s + holdoutValue(id), 0), 1);
    // the ranking: the predicted value of each customer as of the cut, ties in file order
    const cut = parseIsoDay('1997-09-30');
    const run = scorePortal(
      { asOf: cut, customers: customersFromTransactions(parseTransactions(readFileSync(CDNOW, 'utf8')), cut) },
      { models: { horizonDays: 273, annualDiscountRate: 0, margin: 1 } },
    );
    const order = run.customers.map((c, i) => ({ id: c.id, v: c.predictedClv, i })).sort((a, b) => a.v - b.v || a.i - b.i);
    for (let d = 0; d < 10; d++) {
      const members = order.slice(Math.floor((d * 2357) / 10), Math.floor(((d + 1) * 2357) / 10));
      expect(j.deciles[d].customers).toBe(members.length);
      expect(j.deciles[d].actual).toBe(members.reduce((s, m) => s + holdout(m.id), 0));
    }
  });

  it('refuses bad flags with a message and exit code 2', () => {
    for (const args of [
      ['--transactions', CDNOW, '--until', '1997-09-30'],
      ['--transactions', CDNOW, '--until', '1997-02-30', '--horizon-days', '273'],
      ['--transactions', CDNOW, '--until', '1997-09-30', '--horizon-days', '0'],
      ['--transactions', CDNOW, '--until', '1997-09-30', '--horizon-days', '-5'],
      ['--transactions', CDNOW, '--until', '1997-09-30', '--horizon-days', '12.5'],
      ['--transactions', CDNOW, '--until', '1997-09-30', '--horizon-days', '273', '--unit', 'month'],
      ['--transactions', CDNOW, '--until', '1990-01-01', '--horizon-days', '273'],
      ['--transactions', '/nonexistent.csv', '--until', '1997-09-30', '--horizon-days', '273'],
      ['--transactions', CDNOW, '--until', '1997-09-30', '--horizon-days', '273', '--bogus', '1'],
    ]) {
      const bad = cli('backtest', ...args);
      expect(bad.code, args.join(' ')).toBe(2);
      expect(bad.err).toMatch(/^error: /);
      expect(bad.out).toBe('');
    }
  });
});
