/** What a generation run produced, for the CLI, the benches and the tests. */
import type { GenContext } from './context.js';
import { CATALOG_ID } from './constants.js';
import { lossReasonFieldOf } from './loss-reason-field.js';
import type { GenerationSummary } from './options.js';

export function summarize(ctx: GenContext, t0: number): Omit<GenerationSummary, 'quality'> {
  const { portal, nContacts, tally } = ctx;
  let oneTime = 0, repeat = 0;
  for (let i = 0; i < nContacts; i++) {
    const w = tally.wonPerContact[i] ?? 0;
    if (w === 1) oneTime++;
    else if (w > 1) repeat++;
  }
  let without = 0;
  for (let i = 0; i < nContacts; i++) if (!ctx.contacts.hasDeal[i]) without++;

  return {
    seed: ctx.seed,
    users: portal.users.size,
    currencies: portal.currencies.map((c) => c.currency),
    statuses: portal.statuses.length,
    categories: portal.categories.length,
    sections: portal.sections.size,
    products: portal.products.size,
    companies: ctx.companies.n,
    contacts: nContacts,
    contactsWithoutDeals: without,
    deals: ctx.events.count,
    won: tally.won, lost: tally.lost, open: tally.open,
    dealsByCategory: tally.byCat,
    dealsByCurrency: tally.byCur,
    dealsWithSeveralContacts: tally.multi,
    profile: ctx.b2b ? 'b2b' : 'shop',
    companyDeals: tally.companyDeals,
    companyOnlyDeals: tally.companyOnlyDeals,
    productRows: tally.rows,
    oneTimeBuyers: oneTime,
    repeatBuyers: repeat,
    rateScale: ctx.rateScale,
    dateFrom: Number.isFinite(tally.dateFrom) ? new Date(tally.dateFrom).toISOString() : null,
    dateTo: Number.isFinite(tally.dateTo) ? new Date(tally.dateTo).toISOString() : null,
    lossReasonField: lossReasonFieldOf(ctx),
    leads: { total: portal.leads.size, converted: tally.leadsConverted, junk: tally.leadsJunk },
    catalogId: CATALOG_ID,
    ms: Math.round(performance.now() - t0),
  };
}
