/**
 * Step (with `live: true`): keeps the hidden purchase model of every buyer still buying when the
 * history ends in `portal.liveCustomers`, so the living portal (src/emulator/live/) can go on from
 * the generator's own process. Its draws come from streams of their own (subSeed(seed, 32, id) for
 * the lifetime, the live process's gap stream for the first purchase), so the generated tables are
 * the same with or without it.
 *
 * Dropout: the history drops a customer out with probability p after each won deal. Going on, a
 * customer's remaining lifetime is drawn once, Exp with rate p·λ (the same expected number of
 * purchases before dropping out, 1/p), so that an uplift on the purchase rate does not shorten it.
 */
import type { LiveCustomerRec } from '../model.js';
import { companyIdOf } from './companies.js';
import type { GenContext } from './context.js';
import { YEAR } from './constants.js';
import { Rng, subSeed } from './random.js';
import { gapBudget } from './live-streams.js';

export function keepLiveModel(ctx: GenContext): void {
  const { portal, contacts: c, rateScale: k } = ctx;
  portal.liveSeed = ctx.seed;
  const curCodes = [ctx.base, ctx.rateOf.has('RUB') ? 'RUB' : ctx.base, ctx.rateOf.has('EUR') ? 'EUR' : ctx.base];
  const topIds = ctx.topLeaves.map((leaves) => topSectionOf(ctx, leaves[0]?.sectionId ?? 0));
  for (let i = 0; i < ctx.nContacts; i++) {
    if (!c.alive[i]) continue;
    const contactId = c.firstId + i;
    const lambda = (c.lambda[i] ?? 1) * k;
    const p = (c.drop[i] ?? 0.3) * (k > 1 ? 1 / k : 1);
    const cj = c.company[i] ?? -1;
    const life = new Rng(subSeed(ctx.seed, 32, contactId)).exp() / Math.max(1e-9, p * lambda);
    const rec: LiveCustomerRec = {
      contactId, companyId: cj >= 0 ? companyIdOf(ctx, cj) : null, lambda,
      deathAt: ctx.now + life * YEAR, spend: c.spend[i] ?? 200, currency: curCodes[c.cur[i] ?? 0] ?? ctx.base,
      wholesaleP: cj >= 0 ? 0.7 : 0.02, companyDealP: ctx.b2b ? 1 : 0.4, companyOnlyP: ctx.b2b ? 0.15 : 0,
      favTops: [topIds[c.fav[2 * i] ?? 0] ?? 0, topIds[c.fav[2 * i + 1] ?? 0] ?? 0],
      assignedById: c.assigned[i] ?? 1, n: 0, budget: gapBudget(ctx.seed, contactId, 0), at: ctx.now, boosts: [],
    };
    portal.liveCustomers.set(contactId, rec);
  }
}

/** The top-level section above a leaf section (0 for the one-bucket catalog of an existing portal). */
function topSectionOf(ctx: GenContext, leafId: number): number {
  const s = ctx.portal.sections.get(leafId);
  return s?.sectionId ?? s?.id ?? 0;
}
