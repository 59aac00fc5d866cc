import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { explainLevel, fixedThresholds, levelOf, levelRanges, quantileThresholds } from '../../src/scoring/rfm.js';
import { allCells, cellLabel, segmentMap, segmentOf, uncoveredCells } from '../../src/scoring/segments.js';
import { DEFAULT_RULES_3, DEFAULT_RULES_5, DEFAULT_SETTINGS, scoringSettingsSchema } from '../../src/scoring/settings.js';
import { SEGMENT_CODES } from '../../src/scoring/codes.js';
import { SEGMENT_TEXT, LIFECYCLE_TEXT } from '../../src/scoring/i18n.js';
import { LIFECYCLE_CODES } from '../../src/scoring/codes.js';

const scales = [3, 5] as const;

describe('levels from thresholds', () => {
  it('fixed thresholds: one level per bound strictly beaten', () => {
    const f = fixedThresholds([1, 2, 4, 8], 5, 'frequency');
    expect([1, 2, 3, 4, 5, 8, 9, 100].map((v) => levelOf(v, f))).toEqual([1, 2, 3, 3, 4, 4, 5, 5]);
    const r = fixedThresholds([365, 180, 90, 30], 5, 'recency');
    expect([0, 29, 30, 89, 179, 364, 365, 2000].map((v) => levelOf(v, r))).toEqual([5, 5, 4, 4, 3, 2, 1, 1]);
    expect(explainLevel(29, r)).toContain('R=5/5');
  });

  for (const k of scales) {
    it(`quantile bins with distinct values are balanced to ±1 (scale ${k})`, () => {
      fc.assert(
        fc.property(fc.uniqueArray(fc.integer({ min: -1e6, max: 1e6 }), { minLength: k + 1, maxLength: 400 }), (vals) => {
          for (const dim of ['frequency', 'recency'] as const) {
            const t = quantileThresholds(vals, k, dim);
            expect(t.method).toBe('quantile');
            const counts = new Array<number>(k).fill(0);
            for (const v of vals) counts[levelOf(v, t) - 1]!++;
            const n = vals.length;
            counts.forEach((c) => expect(Math.abs(c - n / k)).toBeLessThanOrEqual(1));
          }
        }),
      );
    });

    it(`quantile levels with ties: tied values share a level, bounds follow the tie rule, no level empty (scale ${k})`, () => {
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 0, max: 12 }), { minLength: 1, maxLength: 300 }), (vals) => {
          const t = quantileThresholds(vals, k, 'frequency');
          const level = new Map<number, number>();
          for (const v of vals) {
            const l = levelOf(v, t);
            expect(l).toBeGreaterThanOrEqual(1);
            expect(l).toBeLessThanOrEqual(k);
            if (level.has(v)) expect(level.get(v)).toBe(l);
            level.set(v, l);
          }
          if (t.method === 'quantile') {
            // the tie rule, recomputed from the counts of each value: bound i is the smallest value
            // with at least ⌈i·n/k⌉ customers at or below it, unless that is not above the previous
            // bound (then the next value), and never so high that fewer values than levels remain above
            const n = vals.length;
            const values = [...new Set(vals)].sort((a, b) => a - b);
            let prev = -Infinity;
            for (let i = 1; i < k; i++) {
              const quantile = values.find((v) => vals.filter((x) => x <= v).length >= Math.ceil((i * n) / k))!;
              const next = values.find((v) => v > prev)!;
              const cap = values[values.length - 1 - (k - i)]!;
              const want = Math.min(Math.max(quantile, next), cap);
              expect(t.bounds[i - 1]).toBe(want);
              prev = want;
            }
            // more values than levels: every level has members
            for (let l = 1; l <= k; l++) expect(vals.some((v) => levelOf(v, t) === l)).toBe(true);
          }
        }),
      );
    });

    it(`levels are monotonic in the value (scale ${k}, both directions, both modes)`, () => {
      fc.assert(
        fc.property(
          fc.array(fc.double({ min: 0, max: 1e5, noNaN: true }), { minLength: 1, maxLength: 200 }),
          fc.double({ min: 0, max: 1e5, noNaN: true }),
          fc.double({ min: 0, max: 1e5, noNaN: true }),
          (vals, a, b) => {
            const [lo, hi] = a <= b ? [a, b] : [b, a];
            const m = quantileThresholds(vals, k, 'monetary');
            expect(levelOf(hi, m)).toBeGreaterThanOrEqual(levelOf(lo, m));
            const r = quantileThresholds(vals, k, 'recency');
            expect(levelOf(lo, r)).toBeGreaterThanOrEqual(levelOf(hi, r));
          },
        ),
      );
    });
  }

  it('few distinct values are spread over the scale; one value gets the middle level', () => {
    const t = quantileThresholds([1, 1, 1, 1, 1, 1, 2, 2, 3], 5, 'frequency');
    expect(t.method).toBe('spread');
    expect([1, 2, 3].map((v) => levelOf(v, t))).toEqual([1, 3, 5]);
    const r = quantileThresholds([10, 40], 3, 'recency');
    expect([10, 40].map((v) => levelOf(v, r))).toEqual([3, 1]);
    const c = quantileThresholds([7, 7, 7], 5, 'recency');
    expect(c.method).toBe('constant');
    expect(levelOf(7, c)).toBe(3);
    expect(levelOf(7, quantileThresholds([7], 3, 'monetary'))).toBe(2);
  });
  it('heavy ties in frequency keep one-time buyers at level 1', () => {
    const vals = [...new Array(70).fill(1), ...new Array(15).fill(2), ...new Array(10).fill(3), 4, 5, 6, 7, 9];
    const t = quantileThresholds(vals, 5, 'frequency');
    expect(levelOf(1, t)).toBe(1);
    expect(levelOf(9, t)).toBe(5);
    // 70 % buy once: ranks 20, 40, 60 all fall on 1 purchase day and rank 80 on 2, so the tie rule
    // gives 1, 2, 3 and then 4 purchase days their own levels (without it, levels 2 and 3 were empty)
    expect(t.bounds).toEqual([1, 2, 3, 4]);
    expect([1, 2, 3, 4, 5, 6, 7, 9].map((v) => levelOf(v, t))).toEqual([1, 2, 3, 4, 5, 5, 5, 5]);
  });
  it('the tie rule only moves a bound that would leave a level empty', () => {
    // 100 distinct purchase-day counts 1..100 → plain quantiles 20 / 40 / 60 / 80
    expect(quantileThresholds(Array.from({ length: 100 }, (_, i) => i + 1), 5, 'frequency').bounds).toEqual([20, 40, 60, 80]);
    // 50 one-time buyers and 50 distinct counts 2..51: rank 20 and rank 40 are both 1 → the second bound moves to 2
    const vals = [...new Array(50).fill(1), ...Array.from({ length: 50 }, (_, i) => i + 2)];
    expect(quantileThresholds(vals, 5, 'frequency').bounds).toEqual([1, 2, 11, 31]);
    // recency (lower is better): a tie of 60 customers at 400 days, the rest distinct 1..40 days
    const rec = [...new Array(60).fill(400), ...Array.from({ length: 40 }, (_, i) => i + 1)];
    const r = quantileThresholds(rec, 5, 'recency');
    expect(r.bounds).toEqual([400, 40, 39, 21]);
    expect([400, 40, 39, 22, 21, 20, 1].map((v) => levelOf(v, r))).toEqual([1, 2, 3, 4, 4, 5, 5]);
  });
});

describe('segment rule tables', () => {
  for (const [scale, rules] of [[3, DEFAULT_RULES_3], [5, DEFAULT_RULES_5]] as const) {
    it(`every one of the ${scale ** 3} cells of the ${scale}-level scale maps to exactly one segment`, () => {
      const cells = allCells(scale);
      expect(cells).toHaveLength(scale ** 3);
      const map = segmentMap(rules, scale);
      expect(map.size).toBe(scale ** 3);
      for (const [r, f, m] of cells) {
        const seg = segmentOf(rules, r, f, m);
        expect(SEGMENT_CODES).toContain(seg);
        expect(map.get(cellLabel(scale, r, f, m))).toBe(seg);
      }
      expect(uncoveredCells(rules, scale)).toEqual([]);
    });
  }

  // [scale, cell, segment] — one or more cells for every segment reachable on each scale
  const table: [3 | 5, string, string][] = [
    [5, '555', 'champions'], [5, '444', 'champions'], [5, '553', 'loyal'], [5, '335', 'loyal'],
    [5, '525', 'potential_loyalist'], [5, '421', 'potential_loyalist'], [5, '515', 'new'], [5, '411', 'promising'],
    [5, '321', 'need_attention'], [5, '315', 'about_to_sleep'], [5, '155', 'cant_lose'], [5, '244', 'cant_lose'],
    [5, '253', 'at_risk'], [5, '131', 'at_risk'], [5, '225', 'hibernating'], [5, '211', 'hibernating'],
    [5, '121', 'lost'], [5, '111', 'lost'],
    [3, 'CCC', 'champions'], [3, 'CCB', 'champions'], [3, 'CCA', 'loyal'], [3, 'BCA', 'loyal'],
    [3, 'CBA', 'potential_loyalist'], [3, 'CAC', 'new'], [3, 'BBB', 'need_attention'], [3, 'BAC', 'about_to_sleep'],
    [3, 'ACC', 'cant_lose'], [3, 'ACB', 'at_risk'], [3, 'ABA', 'at_risk'], [3, 'AAC', 'hibernating'], [3, 'AAA', 'lost'],
  ];
  it.each(table)('scale %i cell %s → %s', (scale, cell, segment) => {
    const map = segmentMap(scale === 3 ? DEFAULT_RULES_3 : DEFAULT_RULES_5, scale);
    expect(map.get(cell)).toBe(segment);
  });

  it('every segment except no_purchases is reachable on the 5-level scale', () => {
    const reached = new Set(segmentMap(DEFAULT_RULES_5, 5).values());
    expect([...reached].sort()).toEqual(SEGMENT_CODES.filter((c) => c !== 'no_purchases').sort());
  });

  it('settings reject a rule table that leaves cells uncovered, or a level above the scale', () => {
    const broken = scoringSettingsSchema.safeParse({ segments: { scale3: DEFAULT_RULES_3.slice(0, -1) } });
    expect(broken.success).toBe(false);
    expect(JSON.stringify(broken.error?.issues)).toContain('AAA');
    const above = scoringSettingsSchema.safeParse({ segments: { scale3: [{ segment: 'lost', r: [1, 5] }] } });
    expect(above.success).toBe(false);
    const custom = scoringSettingsSchema.parse({ segments: { scale3: [{ segment: 'champions', r: [3, 3] }, { segment: 'lost' }] } });
    expect(segmentOf(custom.segments.scale3, 3, 1, 1)).toBe('champions');
    expect(segmentOf(custom.segments.scale3, 2, 3, 3)).toBe('lost');
  });
  it('settings reject non-monotone fixed thresholds and fill defaults', () => {
    expect(scoringSettingsSchema.safeParse({ rfm: { fixed: { scale5: { recency: [30, 90, 180, 365], frequency: [1, 2, 4, 8], monetary: [1, 2, 3, 4] } } } }).success).toBe(false);
    expect(DEFAULT_SETTINGS.rfm.scale).toBe(5);
    expect(DEFAULT_SETTINGS.sleeping.missedCycles).toBe(1);
    expect(DEFAULT_SETTINGS.lifecycle.regularMinPurchaseDays).toBe(3);
  });
  it('every label has an English and a Russian name and description', () => {
    for (const c of SEGMENT_CODES) for (const l of ['en', 'ru'] as const) expect(SEGMENT_TEXT[c][l].name.length * SEGMENT_TEXT[c][l].description.length).toBeGreaterThan(0);
    for (const c of LIFECYCLE_CODES) for (const l of ['en', 'ru'] as const) expect(LIFECYCLE_TEXT[c][l].description.length).toBeGreaterThan(0);
    expect(SEGMENT_TEXT.champions.ru.name).toMatch(/[а-я]/i);
  });
});

describe('levelRanges: the values each level holds', () => {
  it('fixed default bounds in words-ready ranges', () => {
    expect(levelRanges(fixedThresholds([365, 180, 90, 30], 5, 'recency')).map((x) => [x.min, x.max])).toEqual([[365, null], [180, 364], [90, 179], [30, 89], [null, 29]]);
    expect(levelRanges(fixedThresholds([1, 2, 4, 8], 5, 'frequency')).map((x) => [x.min, x.max])).toEqual([[null, 1], [2, 2], [3, 4], [5, 8], [9, null]]);
    const m = levelRanges(fixedThresholds([10_000, 50_000], 3, 'monetary'));
    expect(m.map((x) => [x.min, x.max, x.minExclusive])).toEqual([[null, 10_000, false], [10_000, 50_000, true], [50_000, null, true]]);
  });
  it('every value falls in the range of its own level (random bounds and values)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 6, maxLength: 200 }), fc.constantFrom(3 as const, 5 as const), fc.constantFrom('recency' as const, 'frequency' as const, 'monetary' as const), (vals, k, dim) => {
        const t = quantileThresholds(vals, k, dim);
        const ranges = levelRanges(t);
        for (const v of vals) {
          const r = ranges[levelOf(v, t) - 1]!;
          expect(r.empty).toBe(false);
          if (r.min !== null) expect(r.minExclusive ? v > r.min : v >= r.min).toBe(true);
          if (r.max !== null) expect(v).toBeLessThanOrEqual(r.max);
        }
      }),
    );
  });
});
