/**
 * Which runs the effectiveness chart draws (src/server/ui-api/effectiveness-query.ts historyPoints):
 * the chosen run and those before it, at least MIN_STEP_DAYS apart, at most HISTORY_POINTS,
 * oldest first; and the ratios of figuresOf: an unfinished window gives null, never 0.
 */
import { describe, expect, it } from 'vitest';
import { figuresOf, HISTORY_POINTS, historyPoints, MIN_STEP_DAYS } from '../../src/server/ui-api/effectiveness-query.js';
import type { RunInfo } from '../../src/server/ui-api/dashboard-runs.js';

const day = (n: number) => new Date(Date.UTC(2026, 0, 1) + n * 86_400_000).toISOString();
const run = (id: number, d: number): RunInfo => ({ id, asOf: day(d), createdAt: day(d), rulesChanged: null, sizes: null, updates: 0, scale: 5 });

describe('effectiveness: the runs drawn over time', () => {
  it('daily runs are thinned to one a week, ending with the chosen run, oldest first', () => {
    const runs = Array.from({ length: 30 }, (_, i) => run(i + 1, i));
    const pts = historyPoints(runs, 29).map((i) => runs[i]!.id);
    expect(pts).toEqual([2, 9, 16, 23, 30]);
    expect(MIN_STEP_DAYS).toBe(7);
    // runs after the chosen one are not drawn
    expect(historyPoints(runs, 10).map((i) => runs[i]!.id)).toEqual([4, 11]);
  });
  it('at most HISTORY_POINTS runs, the latest ones', () => {
    const runs = Array.from({ length: 100 }, (_, i) => run(i + 1, i * 30));
    const pts = historyPoints(runs, 99);
    expect(pts.length).toBe(HISTORY_POINTS);
    expect(pts[pts.length - 1]).toBe(99);
    expect(pts[0]).toBe(100 - HISTORY_POINTS);
  });
});

describe('effectiveness: ratios', () => {
  const c = { segment: 'loyal', members: 40, buyers: 30, converted: 10, retained: 6, won: 12, lost: 4, revenue: 1200, margin: 360, marginFromCatalog: 5, gap: 41.5, gaps: 8, next: 38, kept: 19 };
  it('a finished window: shares of members, buyers and closed deals; amounts per member and per won deal', () => {
    expect(figuresOf(c, true, true)).toEqual({
      segment: 'loyal', members: 40, buyers: 30, conversion: 0.25, winRate: 0.75, wonDeals: 12, lostDeals: 4, revenuePerMember: 30,
      marginPerMember: 9, marginFromCatalog: 5, retention: 0.2, stayed: 0.5, averageOrderValue: 100, meanDaysBetweenOrders: 41.5,
    });
  });
  it('an unfinished window: every window figure null (not 0); "stayed" needs a next run; no deals or buyers: null', () => {
    const f = figuresOf(c, false, false);
    for (const k of ['conversion', 'winRate', 'wonDeals', 'lostDeals', 'revenuePerMember', 'marginPerMember', 'marginFromCatalog', 'retention', 'stayed', 'averageOrderValue', 'meanDaysBetweenOrders'] as const) expect(f[k], k).toBeNull();
    expect(f.members).toBe(40);
    const none = figuresOf({ ...c, buyers: 0, won: 0, lost: 0, revenue: 0, margin: 0, retained: 0, gap: null, next: 0, kept: 0 }, true, true);
    expect([none.winRate, none.retention, none.averageOrderValue, none.meanDaysBetweenOrders, none.stayed]).toEqual([null, null, null, null, null]);
    expect(none.conversion).toBe(0.25);
  });
});
