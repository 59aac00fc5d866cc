/**
 * scorePortalView (src/scoring/score-view.ts): the scores built when they are read equal scorePortal's
 * array, in any reading order and as often as they are read; relabelling a view with other
 * thresholds (relabelRun) equals applyThresholds on the score objects; the view's counts (segment
 * and lifecycle sizes, level drift) equal those counted over the objects.
 */
import { describe, expect, it } from 'vitest';
import { applyThresholds } from '../../src/pipeline/score.js';
import { formatDay, parseIsoDay } from '../../src/scoring/dates.js';
import { levelOf, relabelRun, scorePortal, scorePortalView, segmentSizes, type CustomerInput, type ScoringRun, type SectionNode } from '../../src/scoring/index.js';
import { mulberry32 } from '../../src/emulator/generator/random.js';

const AS_OF = parseIsoDay('2025-01-01');
const sections: SectionNode[] = [1, 2, 3].flatMap((top) => [
  { id: top, parentId: null, name: `Top ${top}` },
  { id: top * 10 + 1, parentId: top, name: `Section ${top}.1` },
]);

/** buyers with one or many purchase days, customers without purchases, lost and open deals */
function customers(seed: number, count: number): CustomerInput[] {
  const rand = mulberry32(seed);
  const leaves = [11, 21, 31, 2];
  return Array.from({ length: count }, (_, i): CustomerInput => {
    const n = rand() < 0.15 ? 0 : 1 + Math.floor(-Math.log(1 - rand()) * 3);
    const first = AS_OF - Math.floor(rand() * 1000);
    const won = Array.from({ length: n }, (_, k) => ({
      id: i * 100 + k, date: formatDay(k === 0 ? first : first + Math.floor(rand() * (AS_OF - first + 1))),
      amount: Math.round(50 + 2000 * rand()), sectionIds: [leaves[Math.floor(rand() * leaves.length)]!],
    }));
    const lost = rand() < 0.2 ? [{ date: formatDay(first), reason: rand() < 0.5 ? 'no response' : 'too expensive' }] : [];
    return { id: String(1000 + i), won, lost, openDeals: rand() < 0.1 ? 1 : 0 };
  });
}

type Th = NonNullable<ScoringRun['thresholds']>;

/** levelDrift over score objects (the formula the pipeline used before the view). */
function driftOfObjects(run: ScoringRun, th: Th): number {
  let buyers = 0;
  let moved = 0;
  for (const c of run.customers) {
    if (c.recencyDays === null || c.r === null) continue;
    buyers++;
    if (levelOf(c.recencyDays, th.recency) !== c.r || levelOf(c.frequency, th.frequency) !== c.f || levelOf(c.monetary, th.monetary) !== c.m) moved++;
  }
  return buyers ? moved / buyers : 0;
}

describe('scorePortalView', () => {
  const input = { asOf: AS_OF, customers: customers(7, 600), sections };

  it('builds the scores scorePortal returns, in any order, again and again', () => {
    const array = scorePortal(input).customers;
    const view = scorePortalView(input).customers;
    expect(view.length).toBe(array.length);
    for (let i = array.length - 1; i >= 0; i--) expect(view.at(i)).toEqual(array[i]);
    expect([...view]).toEqual(array);
    for (let i = 0; i < array.length; i++) {
      expect(view.id(i)).toBe(array[i]!.id);
      expect(view.segment(i)).toBe(array[i]!.segment);
      expect(view.isBuyer(i)).toBe(array[i]!.recencyDays !== null);
    }
  });

  it('with the forecasts kept (the backtest) too', () => {
    const array = scorePortal(input, {}, { keepForecasts: true }).customers;
    const view = scorePortalView(input, {}, { keepForecasts: true }).customers;
    for (let i = 0; i < array.length; i++) expect(view.at(i)).toEqual(array[i]);
  });

  it('relabelled with other thresholds: the same scores, sizes and drift as applyThresholds on the objects', () => {
    // another portal's bounds: most buyers move
    const other = scorePortal({ asOf: AS_OF - 200, customers: customers(8, 300), sections }).thresholds!;
    const objects = scorePortal(input);
    const lazy = scorePortalView(input);
    expect(lazy.segmentSizes).toEqual(objects.segmentSizes);
    expect(lazy.lifecycleSizes).toEqual(objects.lifecycleSizes);
    expect(lazy.customers.levelDrift(other)).toBe(driftOfObjects(objects, other));
    expect(driftOfObjects(objects, other)).toBeGreaterThan(0);
    applyThresholds(objects, other);
    relabelRun(lazy, other);
    expect(lazy.thresholds).toBe(other);
    expect(lazy.segmentSizes).toEqual(objects.segmentSizes);
    expect(lazy.segmentSizes).toEqual(segmentSizes(objects.customers));
    expect([...lazy.customers]).toEqual(objects.customers);
    expect(lazy.customers.levelDrift(other)).toBe(0);
  });
});
