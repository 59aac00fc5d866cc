/**
 * The living portal's process: moves the purchase process of every live customer on to a portal
 * moment `to`. Purchases begun in (cursor, to] become deals (ONCRMDEALADD), scheduled stage moves
 * due by `to` are applied (ONCRMDEALUPDATE), all in time order (ties: moves first, then by deal or
 * contact ID), so deal IDs and events come out the same whatever steps time is advanced in.
 *
 * With `moveClock` (an explicit advance) the portal clock is moved to each event's moment before
 * it happens, so dates and event timestamps are those of the moment; in real time (the ticker) the
 * clock is already past them and the changes are stamped when they land (see `stamp`).
 */
import { updateDeal } from '../methods/data.js';
import type { LiveCustomerRec, LiveMoveRec } from '../model.js';
import type { Portal } from '../portal.js';
import { readCatalog } from './catalog.js';
import { beginPurchase } from './purchase.js';
import { nextArrival, pruneBoosts } from './rate.js';
import { gapBudget } from '../generator/live-streams.js';
import { ingestWorkflowStarts } from './uplift.js';

export interface LiveRunResult {
  from: number;
  to: number;
  /** Deals begun, stage moves applied, deals closed won / lost. */
  created: number;
  moved: number;
  won: number;
  lost: number;
}

interface Begin { t: number; c: LiveCustomerRec; n: number }

/** Starts the process at the portal's now when it has not started yet (cursor 0). */
export function ensureLiveStarted(portal: Portal): void {
  if (portal.liveCursor === 0) portal.liveCursor = portal.clock.now();
}

export function runLive(portal: Portal, to: number, opts: { moveClock: boolean }): LiveRunResult {
  ensureLiveStarted(portal);
  const from = portal.liveCursor;
  const out: LiveRunResult = { from, to: Math.max(from, to), created: 0, moved: 0, won: 0, lost: 0 };
  if (to <= from) return out;
  ingestWorkflowStarts(portal);
  const begins = collectBegins(portal, to);
  const cat = readCatalog(portal, from);
  let bi = 0;
  for (;;) {
    const move = portal.liveMoves[0];
    const begin = begins[bi];
    const moveNext = move !== undefined && move.at <= to && (begin === undefined || move.at <= begin.t);
    if (moveNext) {
      portal.liveMoves.shift();
      if (applyMove(portal, move, stamp(portal, move.at, opts.moveClock), out)) out.moved++;
    } else if (begin !== undefined) {
      bi++;
      const p = beginPurchase(portal, cat, begin.c, begin.n, stamp(portal, Math.round(begin.t), opts.moveClock));
      for (const m of p.moves) scheduleMove(portal, m);
      out.created++;
    } else break;
  }
  portal.liveCursor = to;
  if (opts.moveClock) stamp(portal, to, true);
  return out;
}

/** Every purchase begun in (cursor, to], per customer from its own budget, sorted by time then contact. */
function collectBegins(portal: Portal, to: number): Begin[] {
  const begins: Begin[] = [];
  const R = portal.liveUplift;
  for (const c of portal.liveCustomers.values()) {
    if (c.at >= to) continue;
    let from = c.at;
    let budget = c.budget;
    for (;;) {
      const a = nextArrival(c, R, from, budget, to);
      if (a.t === null) { c.budget = a.budget; break; }
      c.n++;
      begins.push({ t: a.t, c, n: c.n });
      from = a.t;
      budget = gapBudget(portal.liveSeed, c.contactId, c.n);
    }
    c.at = to;
    pruneBoosts(c, to);
  }
  return begins.sort((x, y) => x.t - y.t || x.c.contactId - y.c.contactId);
}

/** Inserts a move keeping liveMoves sorted by (at, dealId, close last). */
function scheduleMove(portal: Portal, m: LiveMoveRec): void {
  const q = portal.liveMoves;
  const before = (a: LiveMoveRec, b: LiveMoveRec): boolean => a.at < b.at || (a.at === b.at && (a.dealId < b.dealId || (a.dealId === b.dealId && !a.close && b.close)));
  let lo = 0, hi = q.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (before(q[mid]!, m)) lo = mid + 1; else hi = mid; }
  q.splice(lo, 0, m);
}

/** Applies a stage move unless the deal was deleted or closed meanwhile (someone else won it). */
function applyMove(portal: Portal, m: LiveMoveRec, t: number, out: LiveRunResult): boolean {
  const d = portal.deals.get(m.dealId);
  if (!d || d.closed) return false;
  const won = /WON$/.test(m.stageId);
  const patch = m.close ? { stageId: m.stageId, probability: won ? 100 : 0, uf: { ...d.uf, ...m.uf } } : { stageId: m.stageId };
  updateDeal(portal, m.dealId, patch, d.assignedById, t);
  if (m.close) {
    if (d.closed && won) out.won++;
    else if (d.closed) out.lost++;
  }
  return true;
}

/**
 * The moment a change is stamped with. With moveClock the portal clock is brought to `t` first (never
 * back) and the change carries `t`. In real time the change lands when the ticker runs and carries
 * the clock's now, as a REST change would (an incremental sync that ran in between must not miss it).
 */
function stamp(portal: Portal, t: number, moveClock: boolean): number {
  const now = portal.clock.now();
  if (!moveClock) return Math.max(t, Math.round(now));
  if (t > now) portal.clock.advance(t - now);
  return t;
}
