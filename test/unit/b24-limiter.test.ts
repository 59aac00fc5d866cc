import { describe, expect, it } from 'vitest';
import { type Clock, Limiter } from '../../src/b24/limiter.js';

function fakeClock(start = 1_700_000_000_000): Clock & { t: number; slept: number[] } {
  const c = {
    t: start,
    slept: [] as number[],
    now: () => c.t,
    sleep: async (ms: number) => { c.slept.push(ms); c.t += ms; },
  };
  return c;
}

describe('leaky bucket mirror', () => {
  it('lets the burst through up to the safety threshold, then paces at the drain rate', async () => {
    const clock = fakeClock();
    const l = new Limiter({ plan: 'standard', safetyMargin: 0.2, clock });
    expect(l.threshold).toBe(40);
    for (let i = 0; i < 40; i++) await l.acquireRequest();
    expect(clock.slept).toEqual([]);
    // the 41st waits for half a second (drain 2/s) of portal time
    await l.acquireRequest();
    expect(clock.slept).toHaveLength(1);
    expect(clock.slept[0]).toBeCloseTo(500, 5);
    // steady state: one request per 500 ms, never above the threshold
    const t0 = clock.t;
    for (let i = 0; i < 20; i++) await l.acquireRequest();
    expect(clock.t - t0).toBeCloseTo(10_000, 3);
    expect(l.bucketLevel()).toBeLessThanOrEqual(40);
  });

  it('drains while idle', async () => {
    const clock = fakeClock();
    const l = new Limiter({ plan: 'enterprise', clock });
    for (let i = 0; i < 100; i++) await l.acquireRequest();
    clock.t += 10_000; // 10 s * 5/s
    expect(l.bucketLevel()).toBeCloseTo(50, 6);
  });

  it('timeScale: portal seconds run faster than local ones (emulator only)', async () => {
    const clock = fakeClock();
    const l = new Limiter({ plan: 'standard', timeScale: 100, clock });
    for (let i = 0; i < 40; i++) await l.acquireRequest();
    await l.acquireRequest();
    expect(clock.slept[0]).toBeCloseTo(5, 5); // 0.5 portal s = 5 local ms at ×100
  });

  it('503 resyncs the copy to full and backs off exponentially', async () => {
    const clock = fakeClock();
    const l = new Limiter({ plan: 'standard', clock });
    l.onRateLimited();
    const w1 = l.bucketWaitMs();
    // counter 51 → threshold 40: (51+1-40)/2 = 6 s
    expect(w1).toBeGreaterThanOrEqual(6000 - 1);
    clock.t += w1;
    await l.acquireRequest();
    l.onRateLimited();
    l.onRateLimited();
    expect(l.stats.rateLimitHits).toBe(3);
    expect(l.bucketWaitMs()).toBeGreaterThan(0);
  });
});

describe('operating budget mirror', () => {
  it('charges estimates and learns the per-call cost from the reported processing time', () => {
    const clock = fakeClock();
    const l = new Limiter({ clock, defaultCallCost: 0.5, operatingMargin: 0.1 });
    l.syncPortalClock(1000, clock.t);
    const est = l.chargeEstimate('crm.deal.list', 50);
    expect(est).toBe(25);
    // portal says 50 calls took 5 s in total
    l.observeOperating('crm.deal.list', { calls: 50, estimated: est, measuredCost: 5, operating: 5, resetAt: 1600 });
    expect(l.costPerCall('crm.deal.list')).toBeCloseTo(0.1, 6);
    expect(l.projected('crm.deal.list')).toBeCloseTo(5, 6);
    expect(l.capacity('crm.deal.list')).toBe(Math.floor((432 - 5) / 0.1));
  });

  it('time reported by the portal that is not ours (another process) is not mistaken for our cost', () => {
    const clock = fakeClock();
    const l = new Limiter({ clock, defaultCallCost: 0.1, operatingMargin: 0.1 });
    l.syncPortalClock(1000, clock.t);
    const est = l.chargeEstimate('crm.deal.list', 1);
    l.observeOperating('crm.deal.list', { calls: 1, estimated: est, measuredCost: 0.1, operating: 300, resetAt: 1500 });
    expect(l.costPerCall('crm.deal.list')).toBeCloseTo(0.1, 6);
    expect(l.projected('crm.deal.list')).toBeCloseTo(300, 6);
    expect(l.capacity('crm.deal.list')).toBe(Math.floor((432 - 300) / 0.1));
  });

  it('a method near its budget waits until its oldest bucket expires, other methods do not', async () => {
    const clock = fakeClock();
    const l = new Limiter({ clock, operatingLimitSec: 480, operatingMargin: 0.1, expiryPadSec: 0 });
    l.syncPortalClock(10_000, clock.t);
    // 4 one-minute buckets of ~105 s each (own calls)
    for (let m = 0; m < 4; m++) {
      const est = l.chargeEstimate('crm.contact.list', 1);
      l.observeOperating('crm.contact.list', { calls: 1, estimated: est, measuredCost: 105 });
      clock.t += 61_000;
    }
    // now at +244 s: 420 s used, safe limit 432 → 1 call of 105 s does not fit
    expect(l.capacity('crm.contact.list')).toBe(0);
    expect(l.capacity('crm.deal.list')).toBeGreaterThan(0);
    const before = clock.t;
    await l.acquireOperating({ 'crm.contact.list': 1 });
    // the first charge at portal 10 000 s sits in the calendar minute [9 960, 10 020), which
    // leaves the window when the 10th minute after it starts: 9 960 + 600 = 10 560
    expect(l.portalNow()).toBeGreaterThanOrEqual(10_560);
    expect(l.portalNow()).toBeLessThan(10_561);
    expect(clock.t - before).toBeGreaterThan(300_000);
    await l.acquireOperating({ 'crm.deal.list': 50 }); // immediate
  });

  it('foreign operating time (another process) is assumed to leave at operating_reset_at', async () => {
    const clock = fakeClock();
    const l = new Limiter({ clock, defaultCallCost: 0.1, operatingMargin: 0.1 });
    l.syncPortalClock(5_000, clock.t);
    l.observeOperating('crm.item.list', { calls: 0, estimated: 0, operating: 470, resetAt: 5_030 });
    expect(l.capacity('crm.item.list')).toBe(0);
    await l.acquireOperating({ 'crm.item.list': 50 });
    expect(l.portalNow()).toBeGreaterThanOrEqual(5_030);
    expect(l.capacity('crm.item.list')).toBeGreaterThan(50);
  });

  it('429 blocks the method until the reported reset, with timeScale', async () => {
    const clock = fakeClock();
    const l = new Limiter({ clock, timeScale: 100 });
    l.syncPortalClock(2_000, clock.t);
    l.onOperatingLimited('crm.deal.list', 2_060);
    expect(l.capacity('crm.deal.list')).toBe(0);
    const t0 = clock.t;
    await l.acquireOperating({ 'crm.deal.list': 1 });
    // 60 portal s at ×100 = 600 local ms
    expect(clock.t - t0).toBeGreaterThanOrEqual(600);
    expect(clock.t - t0).toBeLessThan(700);
  });

  it('over-counting (e.g. uncharged short calls) is scaled down to the reported sum', () => {
    const clock = fakeClock();
    const l = new Limiter({ clock, defaultCallCost: 1 });
    l.syncPortalClock(100, clock.t);
    l.chargeEstimate('crm.deal.list', 10);
    l.observeOperating('crm.deal.list', { calls: 0, estimated: 0, operating: 2, resetAt: 700 });
    expect(l.projected('crm.deal.list')).toBeCloseTo(2, 6);
  });

  it('refund takes back estimates of calls that never ran', () => {
    const clock = fakeClock();
    const l = new Limiter({ clock, defaultCallCost: 0.2 });
    const est = l.chargeEstimate('crm.deal.list', 50);
    l.refund('crm.deal.list', est);
    expect(l.projected('crm.deal.list')).toBeCloseTo(0, 9);
  });
});

describe('planning from reported costs (floor, free requests, calendar minutes)', () => {
  /** One answered request: `calls` calls of `method` with `processing` seconds in all. */
  function answer(l: Limiter, method: string, calls: number, processing: number, operating?: number): void {
    const est = l.chargeEstimate(method, calls);
    l.observeOperating(method, { calls, estimated: est, measuredCost: processing, operating });
  }

  it('a request whose summed processing is at most 0.1 s is not charged; above, all of it', () => {
    const clock = fakeClock();
    const l = new Limiter({ clock });
    l.syncPortalClock(60_000, clock.t);
    answer(l, 'crm.contact.list', 1, 0.065);
    expect(l.projected('crm.contact.list')).toBe(0);
    expect(l.chargeFor('crm.contact.list', 1)).toBe(0);
    expect(l.chargeFor('crm.contact.list', 2)).toBeCloseTo(0.13, 9);
    answer(l, 'crm.contact.list', 50, 3.25);
    expect(l.projected('crm.contact.list')).toBeCloseTo(3.25, 9);
    expect(new Limiter({ clock, minimalFixTimeSec: 0 }).chargeFor('x.y', 1)).toBeCloseTo(0.2, 9); // prior, no floor
  });

  it('free calls: only once measured, and only for calls under the floor', () => {
    const clock = fakeClock();
    const l = new Limiter({ clock });
    l.syncPortalClock(60_000, clock.t);
    expect(l.freeCalls('crm.status.list')).toBe(0); // not measured yet: assume charged
    answer(l, 'crm.status.list', 1, 0.01);
    expect(l.freeCalls('crm.status.list')).toBe(10);
    answer(l, 'crm.contact.update', 1, 0.3);
    expect(l.freeCalls('crm.contact.update')).toBe(0);
  });

  it('planCalls: everything while the budget has room, else what fits, else what is free, else 0', () => {
    const clock = fakeClock();
    const l = new Limiter({ clock, operatingLimitSec: 10, operatingMargin: 0 });
    l.syncPortalClock(60_000, clock.t);
    answer(l, 'crm.deal.list', 2, 0.13); // learned 0.065 per page, charged 0.13
    expect(l.planCalls('crm.deal.list', 50)).toBe(50); // 0.13 + 3.25 fits in 10
    answer(l, 'crm.deal.list', 50, 3.25);
    answer(l, 'crm.deal.list', 50, 3.25); // 6.63 used
    answer(l, 'crm.deal.list', 36, 2.34); // 8.97 used
    expect(l.planCalls('crm.deal.list', 50)).toBe(15); // what fits: 1.03 / 0.065
    answer(l, 'crm.deal.list', 15, 0.975); // 9.945 used: no charged request fits, a lone page is free
    expect(l.planCalls('crm.deal.list', 50)).toBe(1);
    answer(l, 'crm.deal.list', 3, 0.195); // 10.14: over the safe limit
    expect(l.planCalls('crm.deal.list', 50)).toBe(0); // free calls too: the portal blocks any call above the limit
    // an update (0.3 s) in a full budget: nothing is free, so 0 → wait
    const u = new Limiter({ clock, operatingLimitSec: 1, operatingMargin: 0 });
    u.syncPortalClock(60_000, clock.t);
    answer(u, 'crm.contact.update', 3, 0.9);
    expect(u.planCalls('crm.contact.update', 50)).toBe(0);
    // cheap calls in a budget with no room left for a batch: free requests of 1 page
    const f = new Limiter({ clock, operatingLimitSec: 1, operatingMargin: 0 });
    f.syncPortalClock(60_000, clock.t);
    answer(f, 'crm.deal.list', 14, 0.91); // 0.065 per page, 0.91 used: 1 page fits (0.975), and is free anyway
    answer(f, 'crm.deal.list', 1, 0.065); // free: still 0.91
    expect(f.projected('crm.deal.list')).toBeCloseTo(0.91, 9);
    expect(f.planCalls('crm.deal.list', 50)).toBe(1);
  });

  it('charges sit in calendar minutes, never earlier than the portal\'s (clock lag pad)', () => {
    const clock = fakeClock();
    const l = new Limiter({ clock, expiryPadSec: 2 });
    l.syncPortalClock(60_000 + 58.5, clock.t); // 58.5 s into a minute: the portal may already be in the next one
    answer(l, 'crm.contact.update', 1, 0.3);
    // the charge goes to the minute starting at 60 060 (58.5 + 2 pad ≥ 60), which leaves at 60 660
    expect(l.projected('crm.contact.update', 60_659.9)).toBeCloseTo(0.3, 9);
    expect(l.projected('crm.contact.update', 60_660)).toBe(0);
  });
});

describe('operating wait with a clock that moves on every reading', () => {
  it('a request with budget left does not wait, although each reading of the clock is later than the one before', async () => {
    // a clock of sub-millisecond resolution that moves 1 µs per reading (as performance.now() may)
    const c = { t: 1_700_000_000_000, slept: [] as number[], now: () => (c.t += 0.001), sleep: async (ms: number) => { c.slept.push(ms); c.t += ms; } };
    const l = new Limiter({ plan: 'standard', clock: c });
    await l.acquireOperating({ 'crm.contact.update': 10, 'crm.deal.list': 1 });
    expect(c.slept).toEqual([]);
  });
});

describe('charges reserved before the portal clock is known', () => {
  it('move to the portal clock at the first answer: they leave the window 10 portal minutes later, not at local time', () => {
    const clock = fakeClock(1_700_000_000_000); // local: 2023-11-14T22:13:20Z
    const l = new Limiter({ clock, operatingLimitSec: 20 });
    l.chargeEstimate('crm.contact.update', 50); // 50 × 0.2 s (the prior) = 10 s, booked on the local clock
    expect(l.anchored).toBe(false);
    const portal = 1_600_000_000; // the portal's clock is 100,000,000 s behind
    l.syncPortalClock(portal, clock.t);
    expect(l.projected('crm.contact.update')).toBeCloseTo(10, 6);
    const rel = l.releases('crm.contact.update');
    expect(rel).toHaveLength(1);
    // the charge's minute is at or after the portal's minute (pad 2 s), and it expires 600 s after that
    const minuteStart = Math.floor((portal + 2) / 60) * 60;
    expect(rel[0]!.at).toBeGreaterThanOrEqual(minuteStart + 600 + 2);
    expect(rel[0]!.at).toBeLessThanOrEqual(minuteStart + 660 + 2);
    clock.t += 661_000;
    expect(l.projected('crm.contact.update')).toBe(0);
  });
});
