/**
 * E[Y(t) | alive, x, T] of the BG/NBD model against 60-digit values of the paper's hypergeometric
 * form (test/fixtures/bgnbd-expected.py, mpmath): 160 points drawn from a grid of a (0.3 … 1e5, a = 1
 * included), b, r, α, x, T, t, plus the fit that made every CLV 0 (a = 2,792, b = 34,826: a and b ran
 * off together), CDNOW's fit, thousands of purchase days (P(N = 0) underflows) and a + b < 1.
 * The purchase distribution (purchase-distribution.ts, a separate recurrence) must have that mean too.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bgnbdExpectedIfAlive } from '../../src/scoring/bgnbd.js';
import { bgnbdPmfIfAlive, pmfMean } from '../../src/scoring/purchase-distribution.js';

interface Row { r: number; alpha: number; a: number; b: number; x: number; T: number; t: number; expected: string }
const rows = JSON.parse(readFileSync(new URL('../fixtures/bgnbd-expected.json', import.meta.url), 'utf8')) as Row[];
const rel = (got: number, want: number) => Math.abs(got - want) / Math.abs(want);
const label = (w: Row) => `a=${w.a} b=${w.b} r=${w.r} α=${w.alpha} x=${w.x} T=${w.T} t=${w.t}`;

describe('BG/NBD expected purchases of an alive customer', () => {
  it('the fixture covers the regions the hypergeometric form failed in', () => {
    expect(rows.length).toBeGreaterThanOrEqual(160);
    expect(rows.some((w) => w.a > 1000 && w.b > 10_000)).toBe(true);
    expect(rows.some((w) => w.a === 1)).toBe(true);
    expect(rows.some((w) => (w.r + w.x) * Math.log1p(w.t / (w.alpha + w.T)) > 745)).toBe(true); // P(N = 0) < 1e-323
    expect(rows.some((w) => w.x === 0 && w.a + w.b < 1)).toBe(true);
  });

  it('equals the 60-digit reference within 1e-10 everywhere', () => {
    const off: string[] = [];
    for (const w of rows) {
      const got = bgnbdExpectedIfAlive({ r: w.r, alpha: w.alpha, a: w.a, b: w.b }, w.t, w.x, w.T);
      if (!(rel(got, Number(w.expected)) < 1e-10)) off.push(`${label(w)}: ${got} ≠ ${w.expected}`);
    }
    expect(off).toEqual([]);
  });

  it('the purchase distribution sums to 1 and has that mean', () => {
    const off: string[] = [];
    for (const w of rows) {
      const pmf = bgnbdPmfIfAlive({ r: w.r, alpha: w.alpha, a: w.a, b: w.b }, w.t, w.x, w.T);
      const total = pmf.reduce((s, v) => s + v, 0);
      if (!(Math.abs(total - 1) < 1e-9) || !(rel(pmfMean(pmf), Number(w.expected)) < 1e-6)) off.push(`${label(w)}: Σ ${total}, mean ${pmfMean(pmf)} ≠ ${w.expected}`);
    }
    expect(off).toEqual([]);
  });

  it('two fits a day apart on the same ridge (a/b equal, a 671 vs 2,792) predict within 0.5 %, and the day moves it by less than the 5 % write tolerance', () => {
    const day1 = { a: 671.3134621127981, b: 8414.189780322442, r: 0.8096324962811975, alpha: 13.362264381531709 };
    const day2 = { a: 2792.112841938547, b: 34826.65030970265, r: 0.8079796147292058, alpha: 13.351797464170966 };
    for (const [x, T] of [[0, 2], [1, 50], [4, 80], [12, 150]] as const) {
      const e1 = bgnbdExpectedIfAlive(day1, 52, x, T);
      const e2 = bgnbdExpectedIfAlive(day2, 52, x, T);
      const next = bgnbdExpectedIfAlive(day2, 52, x, T + 1 / 7); // the next day, in weeks
      expect(e2).toBeGreaterThan(0);
      expect(rel(e2, e1)).toBeLessThan(0.005);
      expect(rel(next, e1)).toBeLessThan(0.05);
    }
  });
});
