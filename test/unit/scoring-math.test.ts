import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { lnGamma, lnGammaSigned, logAddExp, median } from '../../src/scoring/special.js';
import { nelderMead, minimizeMultiStart } from '../../src/scoring/optimize.js';
import {
  bgnbdConditionalExpected, bgnbdExpected, bgnbdExpectedIfAlive, bgnbdLogLikelihood, bgnbdLogLikelihoodOne, bgnbdPAlive, fitBgNbd,
} from '../../src/scoring/bgnbd.js';
import { coarsenTriples, compressTriples } from '../../src/scoring/triples.js';
import { fitGammaGamma, gammaGammaExpectedValue, gammaGammaLogLikelihood, gammaGammaLogLikelihoodOne } from '../../src/scoring/gammagamma.js';
import { discountedPurchases, monthlyDiscountRate } from '../../src/scoring/clv.js';
import { mulberry32 } from '../../src/emulator/generator/random.js';

const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1));

describe('lnGamma', () => {
  it('matches factorials and Γ(1/2) = √π', () => {
    for (const n of [1, 2, 3, 5, 9, 10, 11, 15, 20]) expect(lnGamma(n)).toBeCloseTo(Math.log(factorial(n - 1)), 11);
    expect(lnGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 13);
    expect(lnGamma(1e-8)).toBeCloseTo(-Math.log(1e-8) - 0.5772156649 * 1e-8, 8);
  });
  it('satisfies Γ(x+1) = xΓ(x) across the Lanczos/Stirling switch', () => {
    fc.assert(fc.property(fc.double({ min: 1e-3, max: 1e4, noNaN: true }), (x) => {
      expect(lnGamma(x + 1) - lnGamma(x)).toBeCloseTo(Math.log(x), 9);
    }));
  });
  it('gives the sign of Γ for negative arguments', () => {
    expect(lnGammaSigned(-0.5)).toEqual({ value: expect.closeTo(Math.log(2 * Math.sqrt(Math.PI)), 12), sign: -1 });
    expect(lnGammaSigned(-1.5).sign).toBe(1);
    expect(lnGammaSigned(-2).sign).toBe(0);
  });
  it('logAddExp does not overflow', () => {
    expect(logAddExp(1000, 1000)).toBeCloseTo(1000 + Math.log(2), 12);
    expect(logAddExp(-Infinity, 3)).toBe(3);
    expect(median([5, 1, 3, 2])).toBe(2.5);
  });
});

describe('Nelder–Mead', () => {
  it('finds the Rosenbrock minimum', () => {
    const rosen = (x: readonly number[]) => 100 * (x[1]! - x[0]! ** 2) ** 2 + (1 - x[0]!) ** 2;
    const r = nelderMead(rosen, [-1.2, 1], { maxEvaluations: 10_000 });
    expect(r.x[0]).toBeCloseTo(1, 5);
    expect(r.x[1]).toBeCloseTo(1, 5);
    expect(r.converged).toBe(true);
  });
  it('walks away from non-finite regions and keeps the best of several starts', () => {
    const f = (x: readonly number[]) => (x[0]! < -5 ? NaN : (x[0]! - 2) ** 2 + (x[1]! + 1) ** 2);
    const r = minimizeMultiStart(f, [[-5.1, 0], [10, 10]]);
    expect(r.x[0]).toBeCloseTo(2, 6);
    expect(r.x[1]).toBeCloseTo(-1, 6);
  });
});

describe('BG/NBD numerics', () => {
  const p = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 };
  it('the fast total log-likelihood equals the sum of the one-customer formula', () => {
    const rows = [
      { x: 0, tx: 0, T: 30, weight: 3 },
      { x: 1, tx: 5, T: 20, weight: 1 },
      { x: 7, tx: 19.5, T: 38, weight: 2 },
    ];
    const direct = rows.reduce((s, t) => s + t.weight * bgnbdLogLikelihoodOne(p, t.x, t.tx, t.T), 0);
    expect(bgnbdLogLikelihood(p, rows)).toBeCloseTo(direct, 9);
  });
  it('compresses customers into unique weighted triples', () => {
    const t = compressTriples([{ x: 1, tx: 2, T: 3 }, { x: 1, tx: 2, T: 3 }, { x: 0, tx: 0, T: 3 }]);
    expect(t).toHaveLength(2);
    expect(t.find((r) => r.x === 1)!.weight).toBe(2);
  });
  it('coarsening keeps every customer and stays under the limit', () => {
    const rows = Array.from({ length: 500 }, (_, i) => ({ x: i % 3, tx: (i % 3) * ((i * 7) % 97), T: 300 + (i % 50), weight: 1 }));
    const exact = compressTriples(rows);
    const { triples, step } = coarsenTriples(exact, 100, 1);
    expect(triples.length).toBeLessThanOrEqual(100);
    expect(step).toBeGreaterThan(0);
    expect(triples.reduce((s, t) => s + t.weight, 0)).toBe(500);
  });
  it('P(alive) is 1 without repeats, falls with time since the last purchase', () => {
    expect(bgnbdPAlive(p, 0, 0, 30)).toBe(1);
    const early = bgnbdPAlive(p, 3, 35, 38);
    const late = bgnbdPAlive(p, 3, 5, 38);
    expect(early).toBeGreaterThan(late);
    expect(late).toBeGreaterThan(0);
  });
  it('the conditional expectation of a brand-new customer equals the unconditional E[X(t)]', () => {
    expect(bgnbdConditionalExpected(p, 39, 0, 0, 0)).toBeCloseTo(bgnbdExpected(p, 39), 12);
    // E[X(t)] grows with t
    expect(bgnbdExpected(p, 78)).toBeGreaterThan(bgnbdExpected(p, 39));
  });
  it('a = 1 (removable singularity) gives the limit of the neighbours', () => {
    const q = { ...p, a: 1 };
    const v = bgnbdConditionalExpected(q, 39, 2, 30, 38);
    const lo = bgnbdConditionalExpected({ ...p, a: 0.999 }, 39, 2, 30, 38);
    const hi = bgnbdConditionalExpected({ ...p, a: 1.001 }, 39, 2, 30, 38);
    expect(v).toBeGreaterThan(Math.min(lo, hi) - 1e-3);
    expect(v).toBeLessThan(Math.max(lo, hi) + 1e-3);
  });
  it('never returns NaN or Infinity, and stays between 0 and what an immortal customer or a lifetime buys (property)', () => {
    // the domain a portal can produce, in weeks: at most one purchase day a day (x ≤ 7·T, r/α ≤ 7)
    const pos = (min: number, max: number) => fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
    fc.assert(
      fc.property(pos(1e-3, 50), pos(1e-2, 1e4), pos(1e-3, 50), pos(1e-3, 50), fc.integer({ min: 0, max: 5000 }), pos(0, 1), pos(0, 3000), fc.oneof(fc.constant(0), pos(1e-6, 5000)), (r0, alpha, a, b, x0, frac, T, t) => {
        const r = Math.min(r0, 7 * alpha);
        const x = Math.min(x0, Math.floor(7 * T));
        const tx = x === 0 ? 0 : frac * T;
        const q = { r, alpha, a, b };
        const ll = bgnbdLogLikelihoodOne(q, x, tx, T);
        const pa = bgnbdPAlive(q, x, tx, T);
        const e = bgnbdConditionalExpected(q, t, x, tx, T);
        const alive = bgnbdExpectedIfAlive(q, t, x, T);
        expect(Number.isFinite(ll)).toBe(true);
        expect(pa).toBeGreaterThanOrEqual(0);
        expect(pa).toBeLessThanOrEqual(1);
        expect(Number.isFinite(e)).toBe(true);
        expect(e).toBeGreaterThanOrEqual(0);
        expect(e).toBeLessThanOrEqual(alive * (1 + 1e-12));
        // an alive customer buys something in any window (the old hypergeometric form returned 0 here for large a)
        if (t > 0) expect(alive).toBeGreaterThan(0);
        // no more than the Poisson count of a customer who never drops out, (r+x)·t/(α+T)
        expect(alive).toBeLessThanOrEqual(((r + x) * t) / (alpha + T) * (1 + 1e-9));
        // no more than the whole remaining lifetime, E[1/p] = (a+b+x−1)/(a−1) for a > 1
        if (a > 1) expect(alive).toBeLessThanOrEqual(((a + b + x - 1) / (a - 1)) * (1 + 1e-9));
      }),
      { numRuns: 300 },
    );
  });
  it('recovers the parameters of simulated data', () => {
    // simulate the BG/NBD story with a seeded PRNG: λ ~ Gamma(r, α), p ~ Beta(a, b)
    const truth = { r: 0.8, alpha: 6, a: 0.6, b: 3 };
    const rand = mulberry32(42);
    const gamma = (shape: number): number => {
      if (shape < 1) return gamma(shape + 1) * Math.pow(rand(), 1 / shape);
      const d = shape - 1 / 3;
      const c = 1 / Math.sqrt(9 * d);
      for (;;) {
        let x: number, v: number;
        do {
          const u1 = rand(), u2 = rand();
          x = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
          v = 1 + c * x;
        } while (v <= 0);
        v = v * v * v;
        const u = rand();
        if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
      }
    };
    const rows = [];
    for (let i = 0; i < 6000; i++) {
      const lambda = gamma(truth.r) / truth.alpha;
      const ga = gamma(truth.a), gb = gamma(truth.b);
      const pDrop = ga / (ga + gb);
      const T = 20 + 30 * rand();
      let t = 0, x = 0, tx = 0;
      for (;;) {
        t += -Math.log(rand()) / lambda;
        if (t > T) break;
        x++;
        tx = t;
        if (rand() < pDrop) break;
      }
      rows.push({ x, tx, T });
    }
    const fit = fitBgNbd(compressTriples(rows));
    expect(fit.converged).toBe(true);
    expect(fit.params.r).toBeGreaterThan(truth.r * 0.8);
    expect(fit.params.r).toBeLessThan(truth.r * 1.25);
    expect(fit.params.a / (fit.params.a + fit.params.b)).toBeCloseTo(truth.a / (truth.a + truth.b), 1);
  });
});

describe('Gamma-Gamma numerics', () => {
  it('total log-likelihood equals the sum of the one-customer density', () => {
    const g = { p: 6, q: 4, gamma: 16 };
    const rows = [{ x: 1, zbar: 10 }, { x: 3, zbar: 35 }, { x: 3, zbar: 20, weight: 2 }];
    const direct = rows.reduce((s, r) => s + (r.weight ?? 1) * gammaGammaLogLikelihoodOne(g, r.x, r.zbar), 0);
    expect(gammaGammaLogLikelihood(g, rows)).toBeCloseTo(direct, 9);
  });
  it('the expected spend lies between the population mean and the customer mean, moving to the latter with x', () => {
    const g = { p: 6.25, q: 3.74, gamma: 15.44 };
    const pop = (g.p * g.gamma) / (g.q - 1);
    expect(gammaGammaExpectedValue(g, 0, 0)).toBeCloseTo(pop, 10);
    const one = gammaGammaExpectedValue(g, 1, 100);
    const many = gammaGammaExpectedValue(g, 50, 100);
    expect(one).toBeGreaterThan(pop);
    expect(many).toBeGreaterThan(one);
    expect(many).toBeLessThan(100);
    expect(gammaGammaExpectedValue({ ...g, q: 0.9 }, 2, 10)).toBeNaN();
  });
  it('recovers the mean spend of simulated data', () => {
    const rand = mulberry32(7);
    const rows = Array.from({ length: 3000 }, () => {
      const x = 1 + Math.floor(rand() * 6);
      const mean = 20 + 40 * rand();
      return { x, zbar: mean * (0.8 + 0.4 * rand()) };
    });
    const fit = fitGammaGamma(rows);
    expect(fit.converged).toBe(true);
    const meanZ = rows.reduce((s, r) => s + r.zbar, 0) / rows.length;
    const implied = (fit.params.p * fit.params.gamma) / (fit.params.q - 1);
    expect(Math.abs(implied - meanZ) / meanZ).toBeLessThan(0.05);
  });
});

describe('CLV discounting', () => {
  it('discounts monthly increments; zero rate gives the undiscounted total', () => {
    const linear = (t: number) => t / 30;
    const flat = discountedPurchases(linear, 365, 0);
    expect(flat.discounted).toBeCloseTo(365 / 30, 9);
    const disc = discountedPurchases(linear, 365, 0.1);
    expect(disc.discounted).toBeLessThan(flat.discounted);
    expect(disc.expected).toBeCloseTo(365 / 30, 9);
    expect(Math.pow(1 + monthlyDiscountRate(0.1), 12)).toBeCloseTo(1.1, 12);
  });
});

