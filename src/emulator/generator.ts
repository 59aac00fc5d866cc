/**
 * Deterministic data generator for the emulated portal: a shop / B2B seller with users,
 * currencies, funnels, a product catalog, companies, contacts and a deal history that follows
 * a buy-till-you-die process (BG/NBD-style purchases with gamma-gamma spend).
 *
 * Model, per contact i (see docs/emulator.md, "Data generator"):
 *  - created at t0_i (history of `years` years ending at `portal.clock.now()`, denser recently);
 *  - a buyer with probability `buyerShare` (else a lead-like contact: no deals, or one lost/open deal);
 *  - purchase rate λ_i ~ Gamma(r, α) per year, dropout probability p_i ~ Beta(a, b) after each purchase;
 *  - the first deal follows creation by a few days, then inter-deal gaps ~ Exp(λ_i), each deal is
 *    won / lost / (in the last weeks) still open; after every won deal the customer drops out with p_i;
 *  - mean order value ν_i ~ Gamma(q, γ) (gamma-gamma), each order ~ ν_i · Gamma(4)/4, filled with
 *    catalog products from the customer's favourite sections.
 * An optional `deals` target is met by scaling the rates with one knob k found by bisection
 * (λ·k; for k>1 also p/k; for k<1 fewer buyers), each contact simulated from its own seeded stream
 * so the deal count is (nearly) monotone in k.
 *
 * Same seed and options → identical tables (IDs, values, dates relative to `now`).
 */
import type { Portal } from './portal.js';
import { addCatalog } from './generator/catalog.js';
import { addCompanies, indexCompanyMembers } from './generator/companies.js';
import { drawCompanyAnchors, drawContactModel } from './generator/contact-model.js';
import { addContacts } from './generator/contacts.js';
import { createContext } from './generator/context.js';
import { addCurrencies } from './generator/currencies.js';
import { orderDeals } from './generator/deal-order.js';
import { simulateDeals } from './generator/deal-process.js';
import { addDeals } from './generator/deals.js';
import { addFunnels } from './generator/funnels.js';
import { addLeads } from './generator/leads.js';
import { keepLiveModel } from './generator/live-model.js';
import { addLossReasonField } from './generator/loss-reason-field.js';
import { plantQualityProblems } from './generator/quality.js';
import type { GenerateOptions, GenerationSummary } from './generator/options.js';
import { summarize } from './generator/summary.js';
import { addUsers } from './generator/users.js';

export { CATALOG_ID, LOSS_ENUM_FIELD, LOSS_REASON_FIELD } from './generator/constants.js';
export { NO_RATE_CURRENCY, demoQualityPlan } from './generator/quality.js';
export type { GenerateOptions, GenerationSummary } from './generator/options.js';

/**
 * The steps run in a fixed order over one shared context (generator/context.ts): IDs are handed
 * out table by table and each step draws from its own seeded stream, so reordering steps changes
 * the generated portal.
 */
export function generatePortal(portal: Portal, opts: GenerateOptions): GenerationSummary {
  const t0 = performance.now();
  checkInput(portal, opts);
  const ctx = createContext(portal, opts);
  // reference data
  addUsers(ctx);
  addCurrencies(ctx);
  addFunnels(ctx);
  addLossReasonField(ctx);
  addCatalog(ctx);
  // the hidden model: who exists when, who buys how often and how much
  drawCompanyAnchors(ctx);
  drawContactModel(ctx);
  simulateDeals(ctx);
  orderDeals(ctx);
  // CRM records
  addCompanies(ctx);
  addContacts(ctx);
  indexCompanyMembers(ctx);
  addDeals(ctx);
  addLeads(ctx);
  // data-quality problems with known counts (off unless asked for)
  const quality = plantQualityProblems(ctx, opts.quality);
  portal.bumpId('productRow', ctx.ids.productRow);
  portal.bumpId('multifield', ctx.ids.multifield);
  if (opts.live) keepLiveModel(ctx);
  return { ...summarize(ctx, t0), quality };
}

function checkInput(portal: Portal, opts: GenerateOptions): void {
  if (!Number.isFinite(opts.seed)) throw new Error('generatePortal: seed must be a number');
  if (portal.contacts.size > 0 || portal.deals.size > 0 || portal.companies.size > 0 || portal.leads.size > 0) {
    throw new Error('generatePortal: the portal already holds CRM data; generate into an empty portal');
  }
  if (opts.deals !== undefined && !(opts.deals >= 0)) throw new Error('generatePortal: deals must be >= 0');
}
