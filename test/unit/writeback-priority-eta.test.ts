/** The write-back order (priority.ts) and the ETA's window play (eta.ts), on numbers worked out by hand. */
import { expect, it } from 'vitest';
import { byPriority, tierOf } from '../../src/writeback/priority.js';
import { etaNow, spendSeconds, writebackEta } from '../../src/writeback/eta.js';

const p = (segmentFrom: string | null, segmentTo: string | null, lifecycleChanged = false) => ({ segmentFrom, segmentTo, lifecycleChanged, clv: null, monetary: null });

it('tiers: into or out of the top / at-risk segments, other moves and lifecycle, the rest', () => {
  expect(tierOf(p(null, 'champions'))).toBe(1);
  expect(tierOf(p('loyal', 'need_attention'))).toBe(1);
  expect(tierOf(p('promising', 'at_risk'))).toBe(1);
  expect(tierOf(p('cant_lose', 'lost'))).toBe(1);
  expect(tierOf(p('champions', 'champions'))).toBe(3); // no move: a CLV drift of a champion is tier 3
  expect(tierOf(p('new', 'promising'))).toBe(2);
  expect(tierOf(p('lost', 'lost', true))).toBe(2);
  expect(tierOf(p(null, null, false))).toBe(3);
  const order = [{ id: 3, tier: 2 as const, value: 900 }, { id: 2, tier: 1 as const, value: 10 }, { id: 1, tier: 1 as const, value: 10 }, { id: 4, tier: 1 as const, value: 500 }]
    .sort(byPriority).map((x) => x.id);
  expect(order).toEqual([4, 1, 2, 3]);
});

it('the window play: free budget at once, then what leaves the window, then a window later', () => {
  const o = { now: 1000, opLimit: 30, windowSec: 600, bucketSec: 60, padSec: 0 };
  // nothing spent: 20 s fit now
  expect(spendSeconds(20, o, [])).toBe(0);
  // 30 s spent, 10 s leave at 1100 and 20 s at 1300: 25 s more → 10 at 1100, 15 at 1300
  expect(spendSeconds(25, o, [{ at: 1100, sum: 10 }, { at: 1300, sum: 20 }])).toBe(300);
  // empty window, 75 s of work: 30 now (leave at 960+600=1560), 30 at 1560 (leave at 2160), 15 at 2160
  expect(spendSeconds(75, o, [])).toBe(1160);
  // two methods share the updates: 250 updates at 0.3 s = 75 s → 37.5 each: 30 now, 7.5 at 1560
  const eta = writebackEta({ remaining: 250, methods: [{ cost: 0.3, releases: [] }, { cost: 0.3, releases: [] }], ...o, batchSize: 50, drainPerSec: 2 });
  expect(eta).toBe(560);
  // requests bound when the work is cheap: 1000 updates in batches of 50 = 20 requests at 2/s
  expect(writebackEta({ remaining: 1000, methods: [{ cost: 0.001, releases: [] }], ...o, batchSize: 50, drainPerSec: 2 })).toBe(10);
  expect(etaNow({ etaSec: 100, at: '2026-01-01T00:00:00Z' }, Date.parse('2026-01-01T00:00:30Z'))).toBe(70);
  expect(etaNow({ etaSec: 10, at: '2026-01-01T00:00:00Z' }, Date.parse('2026-01-01T00:01:00Z'))).toBe(0);
});
