/**
 * A clock for benches whose emulator runs in-process: the portal clock runs at real speed while
 * anything works (the app, the emulator, the database), and the client's WAITS are fast-forwarded.
 * A sleep of t ms waits t / waitScale wall ms and then moves the portal clock to the time the sleep
 * was due (never back, never twice): two streams sleeping at once until the same portal second move
 * the clock once, as on a real portal where their waits overlap. Work another stream does during a
 * fast-forwarded wait is pushed past the jump, so the measured portal time can only be longer than a
 * real portal's, never shorter.
 */
import type { Clock } from '../../src/b24/limiter.js';

export interface WaitClock extends Clock {
  /** Portal ms the sleeps moved the clock forward. */
  readonly skippedMs: () => number;
}

/** A portal clock at real speed that can be moved forward (in this process, or in the emulator's child). */
export interface MovableClock {
  readonly timeScale: number;
  now(): number;
  /** Moves the clock to `due` (portal epoch ms) if it is behind; resolves with the ms it moved. */
  advanceTo(due: number): number | Promise<number>;
}

/** An in-process PortalClock as a MovableClock. */
export function movable(portal: { timeScale: number; now(): number; advance(ms: number): void }): MovableClock {
  return {
    timeScale: portal.timeScale,
    now: () => portal.now(),
    advanceTo: (due) => {
      const ahead = due - portal.now();
      if (ahead <= 0) return 0;
      portal.advance(ahead);
      return ahead;
    },
  };
}

export function waitClock(portal: MovableClock, waitScale: number): WaitClock {
  if (portal.timeScale !== 1) throw new Error('the wait clock needs a portal clock at time scale 1');
  let skipped = 0;
  return {
    // whole ms, like Date.now(): the limiter reads the clock twice when it decides whether to wait, and a
    // sub-ms clock would make the second read always "later", a 1-ms wait each time, forever
    now: () => Math.floor(portal.now()),
    sleep: async (ms: number) => {
      const due = portal.now() + Math.max(0, ms);
      await new Promise((r) => setTimeout(r, Math.max(0, ms) / waitScale));
      skipped += await portal.advanceTo(due);
    },
    skippedMs: () => skipped,
  };
}
