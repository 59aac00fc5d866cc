/**
 * One purchase of a live customer, as the generator's process makes them: a deal begins in the
 * first stage of its funnel (wholesale for most company customers), 80% end won with product rows
 * from the customer's favourite sections, 20% lost with a reason; the close comes after a lead
 * time Exp(3 days) (wholesale 9 days), with a move to the second stage halfway. The deal is added
 * through the same helper REST uses (ONCRMDEALADD); the moves are scheduled (live/process.ts).
 */
import { DAY, round2 } from '../generator/constants.js';
import { OPEN0, OPEN1 } from '../generator/dictionaries.js';
import { purchaseRng } from '../generator/live-streams.js';
import { lossReasonFieldIn, placeLoss } from '../generator/loss-reason-field.js';
import { LOSS_REASONS } from '../generator/pools.js';
import { drawOrderRows } from '../generator/product-rows.js';
import type { Rng } from '../generator/random.js';
import { addDeal } from '../methods/data.js';
import type { LiveCustomerRec, LiveMoveRec } from '../model.js';
import type { Portal } from '../portal.js';
import type { LiveCatalog } from './catalog.js';

export interface Purchase {
  dealId: number;
  won: boolean;
  moves: LiveMoveRec[];
}

/** Creates purchase number `n` of customer `c` at portal ms `t`; returns the deal and its scheduled moves. */
export function beginPurchase(portal: Portal, cat: LiveCatalog, c: LiveCustomerRec, n: number, t: number): Purchase {
  const r = purchaseRng(portal.liveSeed, c.contactId, n);
  const funnel = r.chance(c.wholesaleP) ? 1 : 0;
  const won = r.next() < 0.8;
  const lead = r.exp() * (funnel === 1 ? 9 : 3) * DAY;
  const companyId = c.companyId !== null && (funnel === 1 || r.chance(c.companyDealP)) ? c.companyId : null;
  const contactIds = companyId !== null && r.chance(c.companyOnlyP) ? [] : [c.contactId];
  const currency = funnel === 1 && cat.rateOf.has('EUR') && r.chance(0.35) ? 'EUR' : c.currency;
  const rate = cat.rateOf.get(currency) ?? 1;
  const target = c.spend * r.gamma(4, 0.25) * (funnel === 1 ? 2.5 : 1);
  const id = portal.nextId('deal');
  const opportunity = won ? fillOrder(portal, cat, c, r, { dealId: id, funnel, target, rate, whole: rate < 0.1 }) : roundAmount(target / rate, rate < 0.1);
  const stages = funnel === 1 ? OPEN1 : OPEN0;
  const user = responsible(portal, c.assignedById);
  addDeal(portal, {
    id, title: funnel === 1 ? `Wholesale order #${id}` : `Order #${id}`, typeId: funnel === 1 ? 'GOODS' : 'SALE', categoryId: funnel,
    stageId: stages[0] ?? 'NEW', probability: 10, currencyId: currency, opportunity, isManualOpportunity: !won, companyId, contactIds,
    beginDate: cat.dayStr(t), closeDate: cat.dayStr(t + lead), sourceId: 'REPEAT_SALE', assignedById: user, createdById: user, modifyById: user,
  }, user, t);
  const close = won ? { stageId: funnel === 1 ? 'C1:WON' : 'WON', uf: {} } : lostStage(portal, r, funnel);
  const moves: LiveMoveRec[] = [
    { at: Math.round(t + lead / 2), dealId: id, stageId: stages[1] ?? stages[0] ?? 'NEW', uf: {}, close: false },
    { at: Math.round(t + lead), dealId: id, stageId: close.stageId, uf: close.uf, close: true },
  ];
  return { dealId: id, won, moves };
}

function fillOrder(portal: Portal, cat: LiveCatalog, c: LiveCustomerRec, r: Rng, o: { dealId: number; funnel: number; target: number; rate: number; whole: boolean }): number {
  const fav = [cat.topIndex.get(c.favTops[0] ?? 0) ?? 0, cat.topIndex.get(c.favTops[1] ?? 0) ?? 0] as const;
  const { rows, sum } = drawOrderRows({ topLeaves: cat.topLeaves, fav, nextRowId: () => portal.nextId('productRow') }, r, o);
  if (rows.length > 0) portal.productRows.set(o.dealId, rows);
  return round2(sum);
}

function roundAmount(value: number, whole: boolean): number {
  return whole ? Math.round(value / 100) * 100 : Math.round(value / 10) * 10;
}

/** A lost deal's stage and reason, placed as the portal keeps reasons (its field, or a custom lost stage it has). */
function lostStage(portal: Portal, r: Rng, funnel: number): { stageId: string; uf: Record<string, unknown> } {
  const system = funnel === 1 ? 'C1:LOSE' : r.chance(0.15) ? 'APOLOGY' : 'LOSE';
  const placed = placeLoss(portal, lossReasonFieldIn(portal), funnel, system, r.pick(LOSS_REASONS));
  const known = portal.statuses.some((s) => s.statusId === placed.stageId);
  return known ? placed : { stageId: system, uf: placed.uf };
}

/** The customer's responsible, or the head of sales (user 2, else the admin) when that user has left. */
function responsible(portal: Portal, userId: number): number {
  if (portal.users.get(userId)?.active) return userId;
  return portal.users.get(2)?.active ? 2 : 1;
}
