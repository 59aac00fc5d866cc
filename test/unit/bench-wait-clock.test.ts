/** The cycle bench's wait clock (bench/lib/wait-clock.ts): waits are fast-forwarded, overlapping waits overlap. */
import { describe, expect, it } from 'vitest';
import { PortalClock } from '../../src/emulator/clock.js';
import { movable, waitClock } from '../../bench/lib/wait-clock.js';

describe('bench wait clock', () => {
  it('a 60-s wait moves the portal clock 60 s in about 60 ms of wall time', async () => {
    const portal = new PortalClock(Date.UTC(2026, 0, 1), 1);
    const c = waitClock(movable(portal), 1000);
    const p0 = portal.now();
    const w0 = performance.now();
    await c.sleep(60_000);
    expect(portal.now() - p0).toBeGreaterThanOrEqual(60_000);
    expect(portal.now() - p0).toBeLessThan(61_000);
    expect(performance.now() - w0).toBeLessThan(1_000);
  });

  it('two streams waiting at once until the same time move the clock once; a longer wait adds only its excess', async () => {
    const portal = new PortalClock(Date.UTC(2026, 0, 1), 1);
    const c = waitClock(movable(portal), 1000);
    const p0 = portal.now();
    await Promise.all([c.sleep(100_000), c.sleep(100_000), c.sleep(30_000)]);
    const moved = portal.now() - p0;
    expect(moved).toBeGreaterThanOrEqual(100_000);
    expect(moved).toBeLessThan(101_000);
    expect(c.skippedMs()).toBeLessThanOrEqual(moved);
  });

  it('reads whole milliseconds and refuses a scaled portal clock', () => {
    const c = waitClock(movable(new PortalClock(Date.UTC(2026, 0, 1) + 0.7, 1)), 1000);
    expect(Number.isInteger(c.now())).toBe(true);
    expect(() => waitClock(movable(new PortalClock(Date.now(), 100)), 1000)).toThrow(/time scale 1/);
  });
});
