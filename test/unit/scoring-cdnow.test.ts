/**
 * Validation on the CDNOW sample (shared/data/cdnow beside the repository, see its README.md): 2,357 customers,
 * 39-week calibration ending 1997-09-30, time in weeks.
 *
 * Sources of the published numbers:
 *  [FHL05]  Fader, Hardie & Lee (2005), "'Counting Your Customers' the Easy Way: An Alternative to
 *           the Pareto/NBD Model", Marketing Science 24(2) 275–284, §4 (empirical analysis, CDNOW):
 *           BG/NBD r = 0.243, α = 4.414, a = 0.793, b = 2.426, LL = −9582.4. The same four values are
 *           the CDNOW estimates used in the BTYD R package docs (bgnbd.Expectation example,
 *           https://search.r-project.org/CRAN/refmans/BTYD/html/bgnbd.Expectation.html).
 *  [note004] Fader, Hardie & Lee (2005), "Implementing the BG/NBD Model for Customer Base Analysis
 *           in Excel", http://brucehardie.com/notes/004/ (June 2005), §5: for the customer with
 *           x = 2, t_x = 30.43, T = 38.86, E[Y(39) | x, t_x, T] = 1.226.
 *  [FHL05b] Fader, Hardie & Lee (2005), "RFM and CLV: Using Iso-Value Curves for Customer Base
 *           Analysis", JMR 42(4) 415–430, and Fader & Hardie (2013), "The Gamma-Gamma Model of
 *           Monetary Value", http://www.brucehardie.com/notes/025/gamma_gamma.pdf: p = 6.25,
 *           q = 3.74, γ = 15.44 on the 946 customers with x > 0 (also "c(6.25, 3.74, 15.44) # in
 *           original documentation" in BTYD spend.LL, https://search.r-project.org/CRAN/refmans/BTYD/html/spend.LL.html).
 *           A published Gamma-Gamma log-likelihood could not be confirmed in the sources available
 *           here; we assert our maximum against the LL at the published parameters instead (ours is
 *           −4055.92, see the report).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseIsoDay } from '../../src/scoring/dates.js';
import { customersFromTransactions, parseTransactions } from '../../src/scoring/transactions.js';
import { summarizeCustomer } from '../../src/scoring/summary.js';
import { CDNOW_DIR } from '../helpers/cdnow.js';
import { modelTimes, repeatMean, scorePortal, spendRows } from '../../src/scoring/index.js';
import { bgnbdConditionalExpected, bgnbdExpected, bgnbdLogLikelihood, fitBgNbd } from '../../src/scoring/bgnbd.js';
import { compressTriples } from '../../src/scoring/triples.js';
import { fitGammaGamma, gammaGammaLogLikelihood } from '../../src/scoring/gammagamma.js';

const DIR = CDNOW_DIR;
const CAL_END = parseIsoDay('1997-09-30');
const HOLDOUT_END = parseIsoDay('1998-06-30');

const transactions = parseTransactions(readFileSync(`${DIR}/cdnow_sample_transactions.csv`, 'utf8'));
const calibration = customersFromTransactions(transactions, CAL_END).map((c) => summarizeCustomer(c, CAL_END, new Set()));
const published = readFileSync(`${DIR}/cdnow_customers_summary_with_transactions.csv`, 'utf8')
  .trim()
  .split(/\r?\n/)
  .slice(1)
  .map((l) => {
    const [id, x, tx, T, zbar] = l.split(',').map(Number);
    return { id: String(id), x: x!, tx: tx!, T: T!, zbar: zbar! };
  });

// published estimates and the tolerances: parameters ±0.5 % relative (they are given to 3–4
// significant digits), log-likelihood ±0.1
const BGNBD = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 }; // [FHL05] §4
const BGNBD_LL = -9582.4; // [FHL05] §4
const GG = { p: 6.25, q: 3.74, gamma: 15.44 }; // [FHL05b] / note 025
const close = (got: number, want: number, rel = 0.005) => expect(Math.abs(got - want) / want).toBeLessThan(rel);

describe('CDNOW summary from the transactions', () => {
  it('reproduces cdnow_customers_summary.csv (x, t_x, T) exactly', () => {
    const summaryCsv = readFileSync(`${DIR}/cdnow_customers_summary.csv`, 'utf8').trim().split(/\r?\n/).slice(1);
    expect(calibration).toHaveLength(summaryCsv.length);
    expect(calibration).toHaveLength(2357);
    const ours = new Map(calibration.map((s) => [s.id, modelTimes(s.days, CAL_END, 7)]));
    let compared = 0;
    for (const line of summaryCsv) {
      const [id, x, tx, T] = line.split(',');
      const o = ours.get(id!)!;
      expect([o.x, o.tx.toFixed(2), o.T.toFixed(2)]).toEqual([Number(x), Number(tx).toFixed(2), Number(T).toFixed(2)]);
      compared++;
    }
    expect(compared).toBe(2357);
  });
  it('reproduces zbar (mean repeat purchase value) of the 946 repeat customers', () => {
    const ours = new Map(calibration.map((s) => [s.id, s]));
    const repeaters = published.filter((p) => p.x > 0);
    expect(repeaters).toHaveLength(946);
    // published to 2 decimals (half-way cases such as 22.345 may round either way)
    for (const p of repeaters) expect(Math.abs(repeatMean(ours.get(p.id)!.values) - p.zbar)).toBeLessThanOrEqual(0.005 + 1e-9);
  });
});

describe('BG/NBD on CDNOW', () => {
  const fit = fitBgNbd(compressTriples(calibration.map((s) => modelTimes(s.days, CAL_END, 7))), { starts: 4 });
  it('matches the published parameters and log-likelihood [FHL05]', () => {
    expect(fit.converged).toBe(true);
    close(fit.params.r, BGNBD.r);
    close(fit.params.alpha, BGNBD.alpha);
    close(fit.params.a, BGNBD.a);
    close(fit.params.b, BGNBD.b);
    expect(Math.abs(fit.ll - BGNBD_LL)).toBeLessThan(0.1);
  });
  it('gives the same fit on the published (rounded) summary', () => {
    const f2 = fitBgNbd(compressTriples(published.map((p) => ({ x: p.x, tx: p.tx, T: p.T }))));
    close(f2.params.r, BGNBD.r);
    close(f2.params.b, BGNBD.b);
    expect(Math.abs(f2.ll - BGNBD_LL)).toBeLessThan(0.1);
    // the published parameters are within rounding of our optimum: LL there is lower, but barely
    const atPublished = bgnbdLogLikelihood(BGNBD, compressTriples(published.map((p) => ({ x: p.x, tx: p.tx, T: p.T }))));
    expect(atPublished).toBeLessThanOrEqual(f2.ll + 1e-9);
    expect(f2.ll - atPublished).toBeLessThan(0.05);
  });
  it('E[Y(39) | x=2, t_x=30.43, T=38.86] = 1.226 [note004 §5]', () => {
    expect(bgnbdConditionalExpected(BGNBD, 39, 2, 30.43, 38.86)).toBeCloseTo(1.226, 3);
    expect(bgnbdConditionalExpected(fit.params, 39, 2, 30.43, 38.86)).toBeCloseTo(1.226, 2);
  });
  it('calibration and hold-out totals are in line with the data', () => {
    // calibration: Σx = repeat purchase days observed; the model's Σ E[X(T_i)] must be close
    const sumX = calibration.reduce((s, c) => s + c.days.length - 1, 0);
    const modelCal = published.reduce((s, p) => s + bgnbdExpected(fit.params, p.T), 0);
    expect(Math.abs(modelCal - sumX) / sumX).toBeLessThan(0.03);
    // hold-out (weeks 40–78): actual repeat purchase days vs Σ E[Y(39) | x, t_x, T]
    const holdoutActual = customersFromTransactions(transactions, HOLDOUT_END)
      .map((c) => summarizeCustomer(c, HOLDOUT_END, new Set()))
      .reduce((s, c) => s + Array.from(c.days).filter((d) => d > CAL_END).length, 0);
    const predicted = calibration.reduce((s, c) => {
      const t = modelTimes(c.days, CAL_END, 7);
      return s + bgnbdConditionalExpected(fit.params, 39, t.x, t.tx, t.T);
    }, 0);
    expect(Math.abs(predicted - holdoutActual) / holdoutActual).toBeLessThan(0.15);
  });
});

describe('Gamma-Gamma on CDNOW', () => {
  const rows = spendRows(calibration);
  const fit = fitGammaGamma(rows);
  it('fits on the 946 repeat customers and matches the published parameters [FHL05b]', () => {
    expect(rows).toHaveLength(946);
    expect(fit.converged).toBe(true);
    close(fit.params.p, GG.p);
    close(fit.params.q, GG.q);
    close(fit.params.gamma, GG.gamma);
  });
  it('our maximum is at least the log-likelihood at the published (rounded) parameters, and within 0.1 of it', () => {
    const atPublished = gammaGammaLogLikelihood(GG, rows);
    expect(fit.ll).toBeGreaterThanOrEqual(atPublished - 1e-9);
    expect(fit.ll - atPublished).toBeLessThan(0.1);
  });
});

describe('scorePortal on CDNOW (weeks)', () => {
  it('fits the same models inside the full scoring run', () => {
    const run = scorePortal(
      { asOf: '1997-09-30', customers: customersFromTransactions(transactions, CAL_END) },
      { models: { timeUnit: 'week', maxFitTriples: 100_000 } },
    );
    expect(run.models.bgnbd.status).toBe('ok');
    expect(run.models.gammagamma.status).toBe('ok');
    close(run.models.bgnbd.params!.r, BGNBD.r);
    close(run.models.gammagamma.params!.p, GG.p);
    expect(Math.abs(run.models.bgnbd.ll! - BGNBD_LL)).toBeLessThan(0.1);
    expect(run.customers).toHaveLength(2357);
    for (const c of run.customers) {
      expect(Number.isFinite(c.predictedClv)).toBe(true);
      expect(c.pAlive).toBeGreaterThanOrEqual(0);
      expect(c.pAlive).toBeLessThanOrEqual(1);
    }
  });
  it('coarsening the time grid (bench mode) changes the parameters only slightly', () => {
    const run = scorePortal(
      { asOf: '1997-09-30', customers: customersFromTransactions(transactions, CAL_END) },
      { models: { timeUnit: 'week', maxFitTriples: 1000 } },
    );
    expect(run.models.bgnbd.gridStep).toBeGreaterThan(0);
    expect(run.models.bgnbd.uniqueTriples).toBeLessThanOrEqual(1000);
    // a 2-day grid on a 39-week window moves every parameter by < 2 %
    for (const k of ['r', 'alpha', 'a', 'b'] as const) close(run.models.bgnbd.params![k], BGNBD[k], 0.02);
  });
});
