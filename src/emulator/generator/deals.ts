/**
 * Step: the deal records (stream subSeed(seed, 4)) in creation order: currency, contacts,
 * company, responsible, and by outcome the stage with product rows (won), a loss reason (lost)
 * or an open stage. The random draws of one deal happen in the order of the code below; changing
 * it changes every generated portal.
 */
import type { DealRec } from '../model.js';
import { companyIdOf } from './companies.js';
import type { GenContext } from './context.js';
import { DAY, EV_LOST, EV_OPEN, EV_WON, round2 } from './constants.js';
import { OPEN0, OPEN0_PROB, OPEN1, OPEN1_PROB } from './dictionaries.js';
import { lostPlacement } from './loss-reason-field.js';
import { LOSS_REASONS } from './pools.js';
import { addProductRows } from './product-rows.js';
import { Rng, subSeed } from './random.js';
import { assignUser } from './users.js';

const TYPE_IDS = ['SALE', 'GOODS', 'SERVICES', 'COMPLEX'];
const TYPE_W = [60, 25, 10, 5];

interface Outcome { stageId: string; probability: number; opportunity: number; manual: boolean; uf: Record<string, unknown> }

export function addDeals(ctx: GenContext): void {
  const { base, rateOf, events } = ctx;
  const dRng = new Rng(subSeed(ctx.seed, 4));
  const curCodes = [base, rateOf.has('RUB') ? 'RUB' : base, rateOf.has('EUR') ? 'EUR' : base];
  for (let oi = 0; oi < events.count; oi++) addDeal(ctx, dRng, events.order[oi] ?? 0, curCodes);
}

function addDeal(ctx: GenContext, dRng: Rng, e: number, curCodes: string[]): void {
  const { portal, base, start, now, events: ev, tally } = ctx;
  const c = ctx.contacts;
  const ci = ev.contact[e] ?? 0;
  const kind = ev.kind[e] ?? EV_WON;
  const funnel = ev.funnel[e] ?? 0;
  const id = portal.nextId('deal');
  const created = ctx.biz(ev.create[e] ?? start);
  let closeT: number;
  if (kind === EV_OPEN) closeT = created + (7 + dRng.next() * 38) * DAY;
  else closeT = Math.max(created, ctx.biz(ev.time[e] ?? created));
  let currency = curCodes[c.cur[ci] ?? 0] ?? base;
  if (funnel === 1 && dRng.chance(0.35)) currency = curCodes[2] ?? base;
  const rate = ctx.rateOf.get(currency) ?? 1; // base units per 1 unit of the deal currency
  const whole = rate < 0.1; // e.g. RUB: whole units
  const cj = c.company[ci] ?? -1;
  let contactIds = dealContacts(ctx, dRng, e, cj);
  // B2B profile: every deal of a company's contact is the company's, 15% of them without a contact
  const companyId = cj >= 0 && (ctx.b2b || funnel === 1 || dRng.chance(0.4)) ? companyIdOf(ctx, cj) : null;
  if (companyId !== null) tally.companyDeals++;
  if (companyId !== null && ctx.b2b && ctx.b2bRng.chance(0.15)) {
    contactIds = [];
    tally.companyOnlyDeals++;
  }
  // order value in base currency (gamma-gamma)
  const target = (c.spend[ci] ?? 200) * dRng.gamma(4, 0.25) * (funnel === 1 ? 2.5 : 1);
  const resp = dealResponsible(ctx, dRng, ci, created);
  const { stageId, probability, opportunity, manual, uf } = kind === EV_WON
    ? wonOutcome(ctx, dRng, { dealId: id, ci, funnel, target, rate, whole })
    : notWonOutcome(ctx, dRng, kind, funnel, target / rate, whole);
  tally.byCat[String(funnel)] = (tally.byCat[String(funnel)] ?? 0) + 1;
  tally.byCur[currency] = (tally.byCur[currency] ?? 0) + 1;
  const closed = kind !== EV_OPEN;
  const modify = closed ? closeT : Math.min(now, Math.round((created + dRng.next() * (now - created)) / 1000) * 1000);
  if (created < tally.dateFrom) tally.dateFrom = created;
  if (closed && closeT > tally.dateTo) tally.dateTo = closeT;
  if (!closed && created > tally.dateTo) tally.dateTo = created;
  portal.deals.set(id, {
    id, title: funnel === 1 ? `Wholesale order #${id}` : `Order #${id}`,
    typeId: funnel === 1 ? 'GOODS' : dRng.weighted(TYPE_IDS, TYPE_W), categoryId: funnel, stageId, probability,
    currencyId: currency, opportunity, isManualOpportunity: manual, taxValue: 0, companyId, contactIds,
    beginDate: ctx.dayStr(created), closeDate: ctx.dayStr(closeT), opened: true, closed, comments: null,
    sourceId: ev.first[e] ? (c.source[ci] ?? 'WEB') : 'REPEAT_SALE', sourceDescription: null,
    assignedById: resp, createdById: resp, modifyById: resp, dateCreate: created, dateModify: modify, uf,
  } satisfies DealRec);
}

/**
 * The deal's contacts: the customer, in wholesale deals of a company half the time also a
 * colleague who existed by then, else rarely a family member who also buys here.
 */
function dealContacts(ctx: GenContext, dRng: Rng, e: number, cj: number): number[] {
  const { events: ev, contacts: c } = ctx;
  const { start: compStart, members: compMembers } = ctx.companies;
  const ci = ev.contact[e] ?? 0;
  let contactIds = [c.firstId + ci];
  if (cj >= 0 && ev.funnel[e] === 1 && dRng.chance(0.5)) {
    const from = compStart[cj] ?? 0, to = compStart[cj + 1] ?? 0;
    if (to - from > 1) {
      const other = compMembers[from + dRng.int(0, to - from - 1)] ?? ci;
      if (other !== ci && (c.created[other] ?? Infinity) <= (ev.create[e] ?? 0)) contactIds.push(c.firstId + other);
    }
  } else if (dRng.chance(0.02) && ci > 0) {
    contactIds.push(c.firstId + dRng.int(0, ci - 1)); // a family member who also buys here
  }
  if (contactIds.length > 1) { ctx.tally.multi++; contactIds = contactIds.slice(); }
  return contactIds;
}

/** Mostly the contact's responsible; deals of the former employee created late go to the head of sales. */
function dealResponsible(ctx: GenContext, dRng: Rng, ci: number, created: number): number {
  const { start, now } = ctx;
  const assigned = dRng.chance(0.85) ? (ctx.contacts.assigned[ci] ?? 1) : assignUser(ctx, dRng, created);
  const assignedUser = ctx.portal.users.get(assigned);
  return assignedUser && !assignedUser.active && created > start + (now - start) * 0.4 ? (ctx.staff.managerIds[0] ?? 1) : assigned;
}

function wonOutcome(ctx: GenContext, dRng: Rng, o: Parameters<typeof addProductRows>[2]): Outcome {
  const { tally } = ctx;
  tally.won++;
  tally.wonPerContact[o.ci] = (tally.wonPerContact[o.ci] ?? 0) + 1;
  const sum = addProductRows(ctx, dRng, o);
  return { stageId: o.funnel === 1 ? 'C1:WON' : 'WON', probability: 100, opportunity: round2(sum), manual: false, uf: {} };
}

/** A lost or open deal: a round amount without product rows. `value` is in the deal currency. */
function notWonOutcome(ctx: GenContext, dRng: Rng, kind: number, funnel: number, value: number, whole: boolean): Outcome {
  const { tally } = ctx;
  const opportunity = whole ? Math.round(value / 100) * 100 : Math.round(value / 10) * 10;
  const uf: Record<string, unknown> = {};
  if (kind === EV_LOST) {
    tally.lost++;
    const system = funnel === 1 ? 'C1:LOSE' : dRng.chance(0.15) ? 'APOLOGY' : 'LOSE';
    const placed = lostPlacement(ctx, funnel, system, dRng.pick(LOSS_REASONS));
    return { stageId: placed.stageId, probability: 0, opportunity, manual: true, uf: placed.uf };
  }
  tally.open++;
  const si = dRng.int(0, (funnel === 1 ? OPEN1.length : OPEN0.length) - 1);
  const stageId = (funnel === 1 ? OPEN1[si] : OPEN0[si]) ?? 'NEW';
  const probability = (funnel === 1 ? OPEN1_PROB[si] : OPEN0_PROB[si]) ?? 10;
  return { stageId, probability, opportunity, manual: true, uf };
}
