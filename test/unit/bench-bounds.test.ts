/**
 * The benches' lower bounds (bench/lib/bounds.ts) against figures worked out by hand from the rules:
 * bucket 50 @ 2/s, 480 s per method per ten calendar minutes ("sum > limit"), the 0.1 s floor per
 * method per request, ≤ 50 commands per batch.
 */
import { describe, expect, it } from 'vitest';
import { boundModel, capacity, groups, leastCharged, methodBound, requestBound, runBounds, windowBound, type BoundModel } from '../../bench/lib/bounds.js';

const M: BoundModel = { burst: 50, drain: 2, opLimit: 480, floor: 0.1, bucketSec: 60, buckets: 10, maxBatch: 50 };

describe('bench lower bounds', () => {
  it('requests: (R − 50) / 2, never negative', () => {
    expect(requestBound(1050, M)).toBe(500);
    expect(requestBound(40, M)).toBe(0);
  });

  it('an interval touches one group of ten calendar minutes below 540 s and two from 540 s', () => {
    expect(groups(0, M)).toBe(1);
    expect(groups(539.9, M)).toBe(1);
    expect(groups(540, M)).toBe(2);
    expect(groups(1139.9, M)).toBe(2);
    expect(groups(1140, M)).toBe(3);
    // a group holds the limit plus one admitted batch of 50 calls: 480 + 50 × 0.3
    expect(capacity(100, M, 0.3)).toBeCloseTo(495, 9);
  });

  it('the floor: calls of 0.065 s go one per request free, calls of 0.3 s never', () => {
    // 1,000 list pages of 0.065 s in 100 s: 250 requests can each carry one free → 750 charged
    expect(leastCharged(1000, 0.065, 100, M)).toBeCloseTo(750 * 0.065, 9);
    expect(leastCharged(1000, 0.3, 100, M)).toBeCloseTo(300, 9);
  });

  it('updates: 3,200 × 0.3 s = 960 s need a second group, so 540 s, however grouped', () => {
    const b = methodBound('crm.contact.update', { calls: 3200, processingSeconds: 960, chargedSeconds: 960 }, M);
    expect(b.freePerRequest).toBe(0);
    expect(b.asGrouped).toBeCloseTo(540, 0);
    expect(b.anyGrouping).toBeCloseTo(540, 0);
  });

  it('product rows: 11,000 × 0.1 s charged in batches need three groups; sent with the floor they need 625 s', () => {
    const b = methodBound('crm.item.productrow.list', { calls: 11000, processingSeconds: 1100, chargedSeconds: 1100 }, M);
    expect(b.freePerRequest).toBe(1);
    // as grouped: 1,100 s > 2 × 485 → three groups → T ≥ 1,140
    expect(b.asGrouped).toBeCloseTo(1140, 0);
    // any grouping: 0.1 · (11,000 − (50 + 2T)) ≤ 970 (two groups, T ≥ 540) → T ≥ 625
    expect(b.anyGrouping).toBeCloseTo(625, 0);
    // first window: before 540 s at most 1,130 free + 4,850 charged calls; 5,020 left → 101 requests
    // after 540 s → 540 + (101 − 50)/2 = 565.5
    expect(windowBound([b], M)).toEqual({ bound: 565.5, k: 1, requestsAfter: 101 });
  });

  it('the largest bound names where it comes from', () => {
    const r = runBounds(300, {
      batch: { calls: 300, processingSeconds: 0, chargedSeconds: 0 },
      'crm.item.productrow.list': { calls: 11000, processingSeconds: 1100, chargedSeconds: 1100 },
      'crm.contact.list': { calls: 1000, processingSeconds: 65, chargedSeconds: 0 },
    }, M);
    expect(r.methods.map((x) => x.method)).toEqual(['crm.item.productrow.list', 'crm.contact.list']);
    expect(r.requestBound).toBe(125);
    expect(r.largest.by).toBe('crm.item.productrow.list (as grouped)');
    expect(r.largest.bound).toBeCloseTo(1140, 0);
  });

  it("reads the model from the portal's declared limits; a model without a floor charges every call", () => {
    const m = boundModel({ bucket: { burst: 50, drain: 2 }, operatingLimit: 420, costs: { minimalFixTime: 0.1 } });
    expect(m).toMatchObject({ burst: 50, drain: 2, opLimit: 420, floor: 0.1, bucketSec: 60, buckets: 10 });
    expect(boundModel({ bucket: { burst: 250, drain: 5 }, operatingLimit: 480, costs: {} }).floor).toBe(0);
    expect(() => boundModel({ costs: {} })).toThrow(/bucket.burst/);
  });
});
