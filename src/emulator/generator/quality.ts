/**
 * Step (last, stream subSeed(seed, 15)): plants data-quality problems with known counts, for the
 * app's data-quality panel (docs/data-quality.md). Each problem changes existing records, so IDs
 * and every other table stay as generated; no two problems touch the same deal or contact:
 *  - zeroWon:    won deals whose amount is set to 0 (manual amount, product rows kept);
 *  - noCustomer: won deals left with no contact and no company;
 *  - noRate:     won deals moved to a currency the portal has no rate for (NO_RATE_CURRENCY);
 *  - duplicates: pairs of contacts where the second gets the first's e-mail (or its phone when it
 *                has no e-mail): every pair is one more group of two contacts that share a value.
 * Fewer are planted when the portal has too few candidates; the summary says how many were.
 */
import { stageSemantic } from '../methods/schema.js';
import type { ContactRec, DealRec } from '../model.js';
import type { GenContext } from './context.js';
import { Rng, subSeed } from './random.js';

/** A currency code no generated portal lists (crm.currency.list): deals in it have no rate. */
export const NO_RATE_CURRENCY = 'KZT';

export interface QualityPlan {
  zeroWon?: number;
  noCustomer?: number;
  noRate?: number;
  duplicates?: number;
}

export type QualityPlanted = Required<QualityPlan>;

/** Shuffled copy (Fisher–Yates on the step's own stream). */
function shuffled<T>(rng: Rng, xs: readonly T[]): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

function plantDeals(ctx: GenContext, plan: QualityPlan, rng: Rng): Omit<QualityPlanted, 'duplicates'> {
  const won = shuffled(rng, [...ctx.portal.deals.values()].filter((d) => stageSemantic(ctx.portal, d.stageId) === 'S' && d.opportunity > 0));
  const take = (n: number | undefined, ok: (d: DealRec) => boolean): DealRec[] => {
    const out: DealRec[] = [];
    while (out.length < (n ?? 0) && won.length) {
      const d = won.pop()!;
      if (ok(d)) out.push(d);
    }
    return out;
  };
  const withContact = (d: DealRec) => d.contactIds.length > 0;
  const zero = take(plan.zeroWon, withContact);
  for (const d of zero) {
    d.opportunity = 0;
    d.isManualOpportunity = true;
  }
  const orphan = take(plan.noCustomer, () => true);
  for (const d of orphan) {
    d.contactIds = [];
    d.companyId = null;
  }
  const noRate = take(plan.noRate, withContact);
  for (const d of noRate) d.currencyId = NO_RATE_CURRENCY;
  return { zeroWon: zero.length, noCustomer: orphan.length, noRate: noRate.length };
}

function plantDuplicates(ctx: GenContext, n: number, rng: Rng): number {
  const channel = (c: ContactRec) => c.fm.find((m) => m.typeId === 'EMAIL') ?? c.fm.find((m) => m.typeId === 'PHONE');
  const pool = shuffled(rng, [...ctx.portal.contacts.values()].filter((c) => channel(c)));
  let planted = 0;
  while (planted < n && pool.length >= 2) {
    const a = pool.pop()!;
    const b = pool.pop()!;
    const src = channel(a)!;
    const dst = b.fm.find((m) => m.typeId === src.typeId);
    if (dst) dst.value = src.value;
    else b.fm.push({ id: ++ctx.ids.multifield, typeId: src.typeId, valueType: src.valueType, value: src.value });
    planted++;
  }
  return planted;
}

export function plantQualityProblems(ctx: GenContext, plan: QualityPlan | undefined): QualityPlanted {
  if (!plan) return { zeroWon: 0, noCustomer: 0, noRate: 0, duplicates: 0 };
  const rng = new Rng(subSeed(ctx.seed, 15));
  const deals = plantDeals(ctx, plan, rng);
  return { ...deals, duplicates: plantDuplicates(ctx, plan.duplicates ?? 0, rng) };
}

/** The demo's plan: a few of each problem (about 0.2% of the contacts, at least 1), so the panel has something to show. */
export function demoQualityPlan(contacts: number): QualityPlan {
  const n = Math.max(1, Math.round(contacts * 0.002));
  return { zeroWon: n, noCustomer: n, noRate: n, duplicates: n };
}
