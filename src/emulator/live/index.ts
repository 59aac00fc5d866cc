/**
 * The living portal: the generator's purchase process goes on as portal time passes (new deals,
 * stage moves, their events), and customers on whom a workflow was started buy at (1 + uplift)
 * times their rate for UPLIFT_WEEKS. Driven by the portal clock: in real time by a ticker
 * (`--live`), or by an explicit advance (`POST /_emulator/live/advance`). docs/emulator.md, "Living portal".
 */
import type { Portal } from '../portal.js';
import { ensureLiveStarted, runLive, type LiveRunResult } from './process.js';
import { UPLIFT_WEEKS } from './rate.js';

export { runLive, type LiveRunResult } from './process.js';
export { UPLIFT_MS, UPLIFT_WEEKS, nextArrival } from './rate.js';

export interface LiveStatus {
  started: boolean;
  uplift: number;
  upliftWeeks: number;
  cursor: number | null;
  customers: number;
  /** Live customers not yet dropped out at the cursor, and of those with an uplift running. */
  buying: number;
  boosted: number;
  pendingMoves: number;
}

/** Switches the process on (from the portal's now) and sets the uplift R (≥ 0). */
export function startLive(portal: Portal, opts: { uplift?: number } = {}): void {
  if (opts.uplift !== undefined) {
    if (!(opts.uplift >= 0) || !Number.isFinite(opts.uplift)) throw new Error(`uplift must be a number >= 0, got ${opts.uplift}`);
    portal.liveUplift = opts.uplift;
  }
  ensureLiveStarted(portal);
}

export function liveStatus(portal: Portal): LiveStatus {
  const t = portal.liveCursor || portal.clock.now();
  let buying = 0, boosted = 0;
  for (const c of portal.liveCustomers.values()) {
    if (c.deathAt <= t) continue;
    buying++;
    for (let i = 0; i + 1 < c.boosts.length; i += 2) if ((c.boosts[i] ?? 0) <= t && t < (c.boosts[i + 1] ?? 0)) { boosted++; break; }
  }
  return {
    started: portal.liveCursor > 0, uplift: portal.liveUplift, upliftWeeks: UPLIFT_WEEKS, cursor: portal.liveCursor || null,
    customers: portal.liveCustomers.size, buying, boosted, pendingMoves: portal.liveMoves.length,
  };
}

/** Moves portal time forward by `ms` and runs the process through it (tests and benches need not wait). */
export function advanceLive(portal: Portal, ms: number): LiveRunResult {
  if (!(ms >= 0) || !Number.isFinite(ms)) throw new Error('the portal clock cannot go back');
  ensureLiveStarted(portal);
  const to = Math.max(portal.clock.now(), portal.liveCursor) + ms;
  return runLive(portal, to, { moveClock: true });
}

/**
 * Real time: every `everyMs` wall ms the process catches up with the portal clock (which runs at
 * its time scale). Returns the stop function. Errors go to `log` and do not stop the ticker.
 */
export function startLiveTicker(portal: Portal, everyMs = 1000, log: (line: string) => void = () => undefined): () => void {
  ensureLiveStarted(portal);
  const timer = setInterval(() => {
    try {
      runLive(portal, portal.clock.now(), { moveClock: false });
    } catch (e) {
      log(`emulator: live process: ${e instanceof Error ? e.message : String(e)}`);
    }
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
