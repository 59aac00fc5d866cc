/**
 * The campaign statistics (src/campaigns/lift.ts, figures.ts): known values worked by hand or
 * published, and the coverage of the 90 % intervals by simulation with seeded draws: over many
 * simulated campaigns whose true lift is known, the interval must hold it about 90 % of the time.
 */
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/emulator/generator/random.js';
import { compareGroups, conversionDifference, groupDraw, groupOf, relativeLift, roiOf, wilson, type MemberOutcome } from '../../src/campaigns/index.js';

/** a small seeded PRNG (the simulation must be reproducible): the generator's mulberry32 */
const rng = mulberry32;
/** Poisson by inversion (small means). */
function poisson(r: () => number, lambda: number): number {
  let k = 0;
  let p = Math.exp(-lambda);
  let s = p;
  const u = r();
  while (u > s) {
    k++;
    p *= lambda / k;
    s += p;
  }
  return k;
}
/** Geometric with mean mu (overdispersed: variance mu + mu²), as skewed as purchase counts are. */
const geometric = (r: () => number, mu: number) => Math.floor(Math.log(1 - r()) / Math.log(1 - 1 / (1 + mu)));

const sums = (xs: number[]) => ({ n: xs.length, sum: xs.reduce((a, b) => a + b, 0), sumSq: xs.reduce((a, b) => a + b * b, 0) });

describe('campaign lift', () => {
  it('relative lift and its interval, worked by hand', () => {
    // T: 0,1,2,1 → mean 1, s² 2/3; H: 0,1,0,1 → mean 0.5, s² 1/3
    // se² = (2/3)/(4·1²) + (1/3)/(4·0.5²) = 1/6 + 1/3 = 0.5; log ratio ln 2
    const l = relativeLift(sums([0, 1, 2, 1]), sums([0, 1, 0, 1]))!;
    expect(l.estimate).toBeCloseTo(1, 12);
    expect(l.low).toBeCloseTo(2 * Math.exp(-1.6448536269514722 * Math.SQRT1_2) - 1, 10);
    expect(l.high).toBeCloseTo(2 * Math.exp(1.6448536269514722 * Math.SQRT1_2) - 1, 10);
    expect(l.low).toBeCloseTo(-0.3750, 3);
    // no purchases in a group: no ratio
    expect(relativeLift(sums([0, 0, 0]), sums([1, 0, 2]))).toBeNull();
    expect(relativeLift(sums([1]), sums([1, 0, 2]))).toBeNull();
  });

  it('Wilson and Newcombe intervals match the published examples', () => {
    // Newcombe (1998), Statistics in Medicine 17: 857–872, example (a): 56/70 vs 48/80, 95 %: 0.0524 to 0.3339
    const z95 = 1.959963984540054;
    const d = conversionDifference(56, 70, 48, 80, z95)!;
    expect(d.estimate).toBeCloseTo(0.2, 12);
    expect(d.low).toBeCloseTo(0.0524, 4);
    expect(d.high).toBeCloseTo(0.3339, 4);
    // Wilson 95 % of 10/100: 0.0552 to 0.1744
    const w = wilson(10, 100, z95);
    expect(w.low).toBeCloseTo(0.0552, 4);
    expect(w.high).toBeCloseTo(0.1744, 4);
    expect(roiOf(150, 100)).toBeCloseTo(0.5, 12);
    expect(roiOf(150, 0)).toBeNull();
  });

  it.each([
    ['Poisson purchases, 10 % holdout', (r: () => number, mu: number) => poisson(r, mu), 1800, 200, 0.5, 0.25],
    ['skewed (geometric) purchases, 20 % holdout', geometric, 2400, 600, 0.4, 0.15],
  ])('the 90 percent interval of the lift holds the true lift about 90 percent of the time: %s', (_name, draw, nT, nH, muH, trueLift) => {
    const r = rng(20261202);
    const SIMS = 1000;
    let covered = 0;
    for (let s = 0; s < SIMS; s++) {
      const t = Array.from({ length: nT }, () => draw(r, muH * (1 + trueLift)));
      const h = Array.from({ length: nH }, () => draw(r, muH));
      const l = relativeLift(sums(t), sums(h))!;
      if (l.low <= trueLift && trueLift <= l.high) covered++;
    }
    console.log(`lift coverage (${_name}): ${covered / SIMS}`);
    expect(covered / SIMS).toBeGreaterThan(0.86);
    expect(covered / SIMS).toBeLessThan(0.94);
  });

  it('the 90 % interval of the conversion difference holds the true difference about 90 % of the time', () => {
    const r = rng(7);
    const SIMS = 2000;
    let covered = 0;
    for (let s = 0; s < SIMS; s++) {
      let xt = 0;
      let xh = 0;
      for (let i = 0; i < 900; i++) if (r() < 0.12) xt++;
      for (let i = 0; i < 100; i++) if (r() < 0.08) xh++;
      const d = conversionDifference(xt, 900, xh, 100)!;
      if (d.low <= 0.04 && 0.04 <= d.high) covered++;
    }
    console.log(`conversion difference coverage: ${covered / SIMS}`);
    expect(covered / SIMS).toBeGreaterThan(0.86);
    expect(covered / SIMS).toBeLessThan(0.94);
  });

  it('groups: stable per customer and seed, the holdout share as asked', () => {
    const ids = Array.from({ length: 20_000 }, (_, i) => i + 1);
    const a = ids.map((id) => groupOf('seed-a', 'contact', id, 0.1));
    expect(ids.map((id) => groupOf('seed-a', 'contact', id, 0.1))).toEqual(a);
    const share = a.filter((g) => g === 'holdout').length / ids.length;
    // binomial sd at n = 20000, p = 0.1: 0.0021
    expect(Math.abs(share - 0.1)).toBeLessThan(0.0085);
    const b = ids.map((id) => groupOf('seed-b', 'contact', id, 0.1));
    const same = a.filter((g, i) => g === 'holdout' && b[i] === 'holdout').length / ids.length;
    expect(same).toBeLessThan(0.02); // independent draws: about 1 %
    for (const id of [1, 2, 3]) expect(groupDraw('s', 'company', id)).not.toBe(groupDraw('s', 'contact', id));
  });

  it('figures: per member, per group, and a step leaves out who converted before it', () => {
    const d = (day: string, amount: number, margin = amount * 0.3) => ({ day, amount, margin });
    const members: MemberOutcome[] = [
      { id: 1, grp: 'treatment', deals: [d('2026-01-02', 100), d('2026-01-20', 50)] },
      { id: 2, grp: 'treatment', deals: [] },
      { id: 3, grp: 'treatment', deals: [d('2026-01-10', 30)] },
      { id: 4, grp: 'holdout', deals: [d('2026-01-15', 40)] },
      { id: 5, grp: 'holdout', deals: [] },
    ];
    const all = compareGroups(members, { from: '2026-01-01', to: '2026-01-31', reached: { treatment: 3 } });
    expect(all.groups.treatment).toMatchObject({ members: 3, reached: 3, converted: 2, purchases: 3, revenue: 180 });
    expect(all.groups.treatment.revenuePerMember).toBeCloseTo(60, 10);
    expect(all.groups.holdout).toMatchObject({ members: 2, converted: 1, purchases: 1, revenue: 40, revenuePerMember: 20 });
    expect(all.incrementalRevenue).toBeCloseTo((60 - 20) * 3, 10);
    expect(all.incrementalMargin).toBeCloseTo((18 - 6) * 3, 10);
    expect(all.lift).toBeCloseTo(1 / 0.5 - 1, 10);
    // a step planned on 01-05: member 1 had converted (left out), its purchases after count from 01-06
    const step = compareGroups(members, { from: '2026-01-01', to: '2026-01-31', after: '2026-01-05' });
    expect(step.groups.treatment).toMatchObject({ members: 2, converted: 1, purchases: 1, revenue: 30 });
    expect(step.groups.holdout).toMatchObject({ members: 2, converted: 1, revenue: 40 });
  });
});
