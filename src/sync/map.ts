/**
 * REST rows → store inputs, and the REST `select` lists, all derived from the field tables of
 * src/store/crm-fields.ts (one row per field: REST name, column, how the value is read).
 * Contacts/companies come from the legacy list methods (string values), deals from
 * crm.item.list converted to the legacy shape by the export (itemRowToLegacy), product rows
 * from crm.item.productrow.list (camelCase, typed) or crm.deal.productrows.get (legacy names).
 * What is not a plain REST value is added here: a deal's base-currency amount, loss reason and
 * contact links, a product row's section.
 */
import { str } from '../bitrix/rest-values.js';
import type {
  CompanyInput, ContactInput, CurrencyInput, DealContactInput, DealInput, FunnelInput, ProductInput, ProductRowInput,
  SectionInput, StageInput,
} from '../store/crm.js';
import {
  COMPANIES, CONTACTS, CURRENCIES, DEALS, FUNNELS, PRODUCT_ROWS, PRODUCTS, SECTIONS, STAGES, readRest, restSelect,
} from '../store/crm-fields.js';

type Row = Record<string, unknown>;

export const CONTACT_SELECT = restSelect(CONTACTS);
export const COMPANY_SELECT = restSelect(COMPANIES);
/** Legacy names; crm.item.list gets them mapped (CONTACT_IDS → contactIds: the deal↔contact links). */
export const DEAL_SELECT = restSelect(DEALS);
export const PRODUCT_SELECT = restSelect(PRODUCTS);
export const SECTION_SELECT = restSelect(SECTIONS);

export const mapContact = (r: Row): ContactInput => readRest(CONTACTS, r);
export const mapCompany = (r: Row): CompanyInput => readRest(COMPANIES, r);

export const LOSS_REASON_FIELD = 'UF_CRM_LOSS_REASON';

/** Base-currency converter from crm.currency.list rows (AMOUNT / AMOUNT_CNT relative to base). */
export type ToBase = (amount: number | null, currency: string | null) => number | null;

export function makeToBase(currencies: readonly CurrencyInput[]): ToBase {
  const rate = new Map<string, number>();
  for (const c of currencies) rate.set(c.code, c.amount / (c.amountCnt || 1));
  const base = currencies.find((c) => c.base);
  const baseRate = base ? (rate.get(base.code) ?? 1) : 1;
  return (amount, currency) => {
    if (amount === null) return null;
    const r = currency ? rate.get(currency) : baseRate;
    if (r === undefined) return null; // unknown currency: no conversion rather than a wrong one
    return Math.round(((amount * r) / baseRate) * 100) / 100;
  };
}

export function mapDeal(r: Row, toBase: ToBase): { deal: DealInput; links: DealContactInput[] } {
  const deal = readRest(DEALS, r);
  const contactIds = DEALS.fields.contactIds.read?.(r) ?? [];
  const links: DealContactInput[] = [...new Set(contactIds)].map((c, i) => ({ dealId: deal.id, contactId: c, sort: (i + 1) * 10, isPrimary: i === 0 }));
  const loss = deal.uf?.[LOSS_REASON_FIELD];
  deal.opportunityBase = toBase(deal.opportunity ?? null, deal.currencyId ?? null);
  deal.lossReason = deal.stageSemantic === 'F' ? str(Array.isArray(loss) ? loss[0] : loss) : null;
  return { deal, links };
}

export function mapProductRow(r: Row, productSection: ReadonlyMap<number, number | null>): ProductRowInput {
  const row = readRest(PRODUCT_ROWS, r);
  row.sectionId = row.productId ? (productSection.get(row.productId) ?? null) : null;
  return row;
}

export const mapCurrency = (r: Row): CurrencyInput => readRest(CURRENCIES, r);
export const mapStage = (r: Row): StageInput => readRest(STAGES, r);
export const mapFunnel = (r: Row): FunnelInput => readRest(FUNNELS, r);
export const mapProduct = (r: Row): ProductInput => readRest(PRODUCTS, r);
export const mapSection = (r: Row): SectionInput => readRest(SECTIONS, r);
