/**
 * Step: the hidden model behind the CRM records, drawn from the main stream in this order:
 * company founding moments, contact creation moments, then per contact the buy-till-you-die
 * parameters (rate λ ~ Gamma, dropout p ~ Beta, spend ν ~ Gamma), favourite catalog sections,
 * name pool, preferred currency and (15%, B2B profile 70%) a company that already existed.
 */
import type { GenContext } from './context.js';
import { DAY, USD_VALUE } from './constants.js';

/** Growth: more records recently (density ∝ t^0.6 on the history). */
function growth(ctx: GenContext, u: number): number {
  return ctx.start + (ctx.now - ctx.start) * Math.pow(u, 1 / 1.6);
}

export function drawCompanyAnchors(ctx: GenContext): void {
  const { rng } = ctx;
  const anchor = ctx.companies.anchor;
  for (let j = 0; j < ctx.companies.n; j++) anchor[j] = growth(ctx, rng.next()) - 20 * DAY * rng.next();
  anchor.sort();
}

export function drawContactModel(ctx: GenContext): void {
  const { rng, nContacts, base } = ctx;
  const c = ctx.contacts;
  for (let i = 0; i < nContacts; i++) c.created[i] = growth(ctx, rng.next());
  c.created.sort();
  const nTops = ctx.topLeaves.length;
  const hasRub = ctx.rateOf.has('RUB');
  for (let i = 0; i < nContacts; i++) {
    c.lambda[i] = rng.gamma(0.9, 1.6); // purchases per year, mean ≈ 1.45
    c.drop[i] = rng.beta(1.3, 3.2); // mean ≈ 0.29
    c.spend[i] = rng.gamma(2.2, 110 / (USD_VALUE[base]?.[0] ?? 1) * 1.0); // mean order value ≈ 240 USD
    c.buyerU[i] = rng.next();
    const f1 = rng.int(0, nTops - 1);
    c.fav[2 * i] = f1;
    c.fav[2 * i + 1] = rng.chance(0.5) ? f1 : rng.int(0, nTops - 1);
    c.ru[i] = rng.chance(0.55) ? 1 : 0;
    c.cur[i] = c.ru[i] && hasRub && base !== 'RUB' && rng.chance(0.5) ? 1 : 0;
    if (ctx.companies.n > 0 && rng.chance(ctx.b2b ? 0.7 : 0.15)) joinEarlierCompany(ctx, i);
  }
}

/** A company that already existed when the contact was created; big accounts more often. */
function joinEarlierCompany(ctx: GenContext, i: number): void {
  const { rng } = ctx;
  const c = ctx.contacts;
  const anchor = ctx.companies.anchor;
  const t = c.created[i] ?? 0;
  let lo = 0, hi = ctx.companies.n;
  while (lo < hi) { const mid = (lo + hi) >> 1; if ((anchor[mid] ?? 0) <= t) lo = mid + 1; else hi = mid; }
  if (lo > 0) {
    // prefer a few big accounts: square the uniform
    const u = rng.next();
    c.company[i] = Math.min(lo - 1, Math.floor(u * u * lo));
    c.spend[i] = (c.spend[i] ?? 0) * 3;
  }
}
