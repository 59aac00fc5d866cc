/**
 * REST rows → store inputs, and the REST `select` lists, all derived from the field tables of
 * src/store/crm-fields.ts (one row per field: REST name, column, how the value is read).
 * Contacts/companies come from the legacy list methods (string values), deals from
 * crm.item.list converted to the legacy shape by the export (itemRowToLegacy), product rows
 * from crm.item.productrow.list (camelCase, typed) or crm.deal.productrows.get (legacy names).
 * What is not a plain REST value is added here: a deal's base-currency amount and contact links,
 * a product row's section. (A lost deal's reason is resolved when scoring: src/pipeline/refusal.ts.)
 */
import type {
  CompanyInput, ContactInput, CurrencyInput, DealContactInput, DealFieldInput, DealInput, FunnelInput, LeadInput, ProductInput,
  ProductRowInput, SectionInput, StageInput,
} from '../store/crm.js';
import {
  COMPANIES, CONTACTS, CURRENCIES, DEAL_FIELDS, DEALS, FUNNELS, LEADS, PRODUCT_ROWS, PRODUCTS, SECTIONS, STAGES, readRest, restSelect,
} from '../store/crm-fields.js';

type Row = Record<string, unknown>;

export const CONTACT_SELECT = restSelect(CONTACTS);
export const COMPANY_SELECT = restSelect(COMPANIES);
/** Legacy names; crm.item.list gets them mapped (CONTACT_IDS → contactIds: the deal↔contact links). */
export const DEAL_SELECT = restSelect(DEALS);
export const PRODUCT_SELECT = restSelect(PRODUCTS);
export const LEAD_SELECT = restSelect(LEADS);
export const SECTION_SELECT = restSelect(SECTIONS);

export const mapContact = (r: Row): ContactInput => readRest(CONTACTS, r);
export const mapCompany = (r: Row): CompanyInput => readRest(COMPANIES, r);
export const mapLead = (r: Row): LeadInput => readRest(LEADS, r);

/**
 * crm.deal.fields ({NAME: {type, isMultiple, isDynamic, listLabel, items}}) → the user fields' rows
 * (the reason of a lost deal may be read from one: settings.refusal).
 */
export function mapDealFields(result: unknown): DealFieldInput[] {
  if (!result || typeof result !== 'object' || Array.isArray(result)) return [];
  const out: DealFieldInput[] = [];
  for (const [name, d] of Object.entries(result as Record<string, Row>)) {
    if (!/^UF_CRM_/.test(name) || !d || typeof d !== 'object') continue;
    out.push(readRest(DEAL_FIELDS, {
      FIELD_NAME: name, USER_TYPE_ID: d.type, MULTIPLE: d.isMultiple === true ? 'Y' : 'N',
      LABEL: d.listLabel || d.formLabel || d.title || name, ITEMS: d.items,
    }));
  }
  return out;
}

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
  deal.opportunityBase = toBase(deal.opportunity ?? null, deal.currencyId ?? null);
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
