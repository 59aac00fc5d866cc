/**
 * Step: the deal process, simulated per contact from its own seeded stream subSeed(seed, 7, i):
 * the first deal a few days after creation, then gaps ~ Exp(λ·k); each deal won / lost / (in the
 * last weeks) still open; after every won deal the customer drops out with p. Buyers are a
 * `buyerShare` of the contacts; the others are leads with at most one lost or open deal.
 *
 * A `deals` target is met by the rate scale k, found by bisection (λ·k; for k>1 also p/k; for
 * k<1 fewer buyers): with one stream per contact the deal count is (nearly) monotone in k.
 */
import type { GenContext } from './context.js';
import { DAY, EV_LOST, EV_OPEN, EV_WON, MAX_EVENTS_PER_CONTACT, OPEN_WINDOW, YEAR } from './constants.js';
import { Rng, subSeed } from './random.js';

export function simulateDeals(ctx: GenContext): void {
  if (ctx.opts.deals !== undefined && ctx.nContacts > 0) ctx.rateScale = calibrateRateScale(ctx, ctx.opts.deals);
  if (ctx.nContacts > 0) {
    const expected = simulate(ctx, ctx.rateScale, false);
    ctx.events.reserve(Math.max(1, expected));
    simulate(ctx, ctx.rateScale, true);
  }
}

/** The rate scale whose deal count is closest to the target (within 1% stops the search). */
function calibrateRateScale(ctx: GenContext, target: number): number {
  let lo = Math.log(1e-4), hi = Math.log(1e4);
  let best = 1, bestErr = Infinity;
  for (let it = 0; it < 48; it++) {
    const mid = (lo + hi) / 2;
    const c = simulate(ctx, Math.exp(mid), false);
    const err = Math.abs(c - target);
    if (err < bestErr) { bestErr = err; best = Math.exp(mid); }
    if (err <= Math.max(0.01 * target, 0)) break;
    if (c < target) lo = mid; else hi = mid;
    if (hi - lo < 1e-9) break;
  }
  return best;
}

/** Runs the process with rate scale k; returns the number of deals, recording them when asked. */
function simulate(ctx: GenContext, k: number, record: boolean): number {
  const buyerP = (ctx.opts.buyerShare ?? 0.8) * (k < 1 ? Math.sqrt(k) : 1);
  const strayP = 0.3 * Math.min(1, k);
  let total = 0;
  for (let i = 0; i < ctx.nContacts; i++) {
    const r = new Rng(subSeed(ctx.seed, 7, i));
    const t = (ctx.contacts.created[i] ?? 0) + r.exp() * 4 * DAY;
    const buyer = (ctx.contacts.buyerU[i] ?? 1) < buyerP;
    total += buyer ? simulateBuyer(ctx, r, i, t, k, record) : simulateLead(ctx, r, i, t, strayP, record);
  }
  return total;
}

/** A lead-like contact: at most one deal, lost or (if recent) open. */
function simulateLead(ctx: GenContext, r: Rng, i: number, t: number, strayP: number, record: boolean): number {
  const { now } = ctx;
  const hasCompany = (ctx.contacts.company[i] ?? -1) >= 0;
  const u = r.next();
  const uf = r.next();
  const ul = r.next();
  if (!(u < strayP && t < now)) return 0;
  if (record) {
    const open = t > now - OPEN_WINDOW;
    ctx.events.push(i, t, open ? EV_OPEN : EV_LOST, hasCompany && uf < 0.5 ? 1 : 0, ul, 1);
  }
  return 1;
}

/** A buyer: deals until the history ends or the customer drops out after a won deal. */
function simulateBuyer(ctx: GenContext, r: Rng, i: number, t: number, k: number, record: boolean): number {
  const { now } = ctx;
  const hasCompany = (ctx.contacts.company[i] ?? -1) >= 0;
  const lam = (ctx.contacts.lambda[i] ?? 1) * k;
  const p = (ctx.contacts.drop[i] ?? 0.3) * (k > 1 ? 1 / k : 1);
  let n = 0;
  let wonSoFar = 0;
  let dropped = false;
  while (t < now && n < MAX_EVENTS_PER_CONTACT) {
    const uo = r.next();
    const ud = r.next();
    const ug = r.open();
    const uf = r.next();
    const ul = r.next();
    let kind: number;
    if (t > now - OPEN_WINDOW && uo < 0.55) kind = EV_OPEN;
    else if (uo >= 0.8) kind = EV_LOST;
    else kind = EV_WON;
    if (record) ctx.events.push(i, t, kind, hasCompany ? (uf < 0.7 ? 1 : 0) : (uf < 0.02 ? 1 : 0), ul, wonSoFar === 0 ? 1 : 0);
    n++;
    if (kind === EV_WON) {
      wonSoFar++;
      if (ud < p) { dropped = true; break; }
    }
    t += (-Math.log(ug) / lam) * YEAR;
  }
  if (record && !dropped) ctx.contacts.alive[i] = 1;
  return n;
}
