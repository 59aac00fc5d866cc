/**
 * REST rows → store inputs. Contacts/companies come from the legacy list methods (string
 * values), deals from crm.item.list converted to the legacy shape by the export
 * (itemRowToLegacy), product rows from crm.item.productrow.list (camelCase, typed).
 */
import type {
  CompanyInput, ContactInput, CurrencyInput, DealContactInput, DealInput, FunnelInput, ProductInput, ProductRowInput,
  SectionInput, StageInput, StageSemantic,
} from '../store/crm.js';

type Row = Record<string, unknown>;

export const str = (v: unknown): string | null => (v === null || v === undefined || v === '' ? null : String(v));
export const int = (v: unknown): number | null => {
  if (v === null || v === undefined || v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? Math.trunc(n) : null;
};
export const numOrNull = (v: unknown): number | null => {
  if (v === null || v === undefined || v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
};
const yn = (v: unknown): boolean => v === true || v === 'Y' || v === 'y' || v === 1 || v === '1';

export function ufOf(r: Row): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) if (k.startsWith('UF_')) out[k] = v;
  return out;
}

export const CONTACT_SELECT = [
  'ID', 'NAME', 'SECOND_NAME', 'LAST_NAME', 'TYPE_ID', 'SOURCE_ID', 'ASSIGNED_BY_ID', 'COMPANY_ID', 'ADDRESS_CITY',
  'HAS_PHONE', 'HAS_EMAIL', 'DATE_CREATE', 'DATE_MODIFY', 'UF_*',
];

export function mapContact(r: Row): ContactInput {
  return {
    id: Number(r.ID),
    name: str(r.NAME),
    secondName: str(r.SECOND_NAME),
    lastName: str(r.LAST_NAME),
    typeId: str(r.TYPE_ID),
    sourceId: str(r.SOURCE_ID),
    assignedById: int(r.ASSIGNED_BY_ID),
    companyId: int(r.COMPANY_ID),
    city: str(r.ADDRESS_CITY),
    hasPhone: yn(r.HAS_PHONE),
    hasEmail: yn(r.HAS_EMAIL),
    dateCreate: str(r.DATE_CREATE),
    dateModify: str(r.DATE_MODIFY),
    uf: ufOf(r),
  };
}

export const COMPANY_SELECT = [
  'ID', 'TITLE', 'COMPANY_TYPE', 'INDUSTRY', 'REVENUE', 'CURRENCY_ID', 'SOURCE_ID', 'ASSIGNED_BY_ID', 'ADDRESS_CITY',
  'HAS_PHONE', 'HAS_EMAIL', 'DATE_CREATE', 'DATE_MODIFY', 'UF_*',
];

export function mapCompany(r: Row): CompanyInput {
  return {
    id: Number(r.ID),
    title: str(r.TITLE),
    companyType: str(r.COMPANY_TYPE),
    industry: str(r.INDUSTRY),
    revenue: numOrNull(r.REVENUE),
    currencyId: str(r.CURRENCY_ID),
    sourceId: str(r.SOURCE_ID),
    assignedById: int(r.ASSIGNED_BY_ID),
    city: str(r.ADDRESS_CITY),
    hasPhone: yn(r.HAS_PHONE),
    hasEmail: yn(r.HAS_EMAIL),
    dateCreate: str(r.DATE_CREATE),
    dateModify: str(r.DATE_MODIFY),
    uf: ufOf(r),
  };
}

/** Legacy names; crm.item.list gets them mapped (CONTACT_IDS → contactIds: the deal↔contact links). */
export const DEAL_SELECT = [
  'ID', 'TITLE', 'TYPE_ID', 'CATEGORY_ID', 'STAGE_ID', 'STAGE_SEMANTIC_ID', 'CURRENCY_ID', 'OPPORTUNITY', 'CLOSEDATE',
  'BEGINDATE', 'DATE_CREATE', 'DATE_MODIFY', 'ASSIGNED_BY_ID', 'COMPANY_ID', 'SOURCE_ID', 'CONTACT_IDS', 'UF_*',
];

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

function semantic(v: unknown): StageSemantic | null {
  return v === 'S' || v === 'F' || v === 'P' ? v : v === null || v === undefined || v === '' ? null : 'P';
}

export function mapDeal(r: Row, toBase: ToBase): { deal: DealInput; links: DealContactInput[] } {
  const id = Number(r.ID);
  const currencyId = str(r.CURRENCY_ID);
  const opportunity = numOrNull(r.OPPORTUNITY);
  const sem = semantic(r.STAGE_SEMANTIC_ID);
  const uf = ufOf(r);
  const raw = r.CONTACT_IDS;
  const contactIds = (Array.isArray(raw) ? raw : raw === null || raw === undefined || raw === '' ? [] : [raw]).map(Number).filter((n) => Number.isFinite(n) && n > 0);
  const links: DealContactInput[] = [...new Set(contactIds)].map((c, i) => ({ dealId: id, contactId: c, sort: (i + 1) * 10, isPrimary: i === 0 }));
  const loss = uf[LOSS_REASON_FIELD];
  return {
    deal: {
      id,
      title: str(r.TITLE),
      typeId: str(r.TYPE_ID),
      categoryId: int(r.CATEGORY_ID) ?? 0,
      stageId: str(r.STAGE_ID),
      stageSemantic: sem,
      currencyId,
      opportunity,
      opportunityBase: toBase(opportunity, currencyId),
      closeDate: str(r.CLOSEDATE),
      beginDate: str(r.BEGINDATE),
      dateCreate: str(r.DATE_CREATE),
      dateModify: str(r.DATE_MODIFY),
      assignedById: int(r.ASSIGNED_BY_ID),
      companyId: int(r.COMPANY_ID),
      sourceId: str(r.SOURCE_ID),
      lossReason: sem === 'F' ? str(Array.isArray(loss) ? loss[0] : loss) : null,
      uf,
    },
    links,
  };
}

export function mapProductRow(r: Row, productSection: ReadonlyMap<number, number | null>): ProductRowInput {
  const productId = int(r.productId ?? r.PRODUCT_ID);
  return {
    id: Number(r.id ?? r.ID),
    dealId: Number(r.ownerId ?? r.OWNER_ID),
    productId,
    productName: str(r.productName ?? r.PRODUCT_NAME),
    price: numOrNull(r.price ?? r.PRICE),
    quantity: numOrNull(r.quantity ?? r.QUANTITY),
    discountSum: numOrNull(r.discountSum ?? r.DISCOUNT_SUM),
    taxRate: numOrNull(r.taxRate ?? r.TAX_RATE),
    measureName: str(r.measureName ?? r.MEASURE_NAME),
    sort: int(r.sort ?? r.SORT),
    sectionId: productId ? (productSection.get(productId) ?? null) : null,
  };
}

export function mapCurrency(r: Row): CurrencyInput {
  return { code: String(r.CURRENCY), amount: Number(r.AMOUNT), amountCnt: int(r.AMOUNT_CNT) ?? 1, base: yn(r.BASE), sort: int(r.SORT) };
}

export function mapStage(r: Row): StageInput {
  const s = r.SEMANTICS;
  return {
    entityId: String(r.ENTITY_ID),
    statusId: String(r.STATUS_ID),
    name: str(r.NAME),
    semantics: s === 'S' || s === 'F' ? s : 'P',
    categoryId: int(r.CATEGORY_ID),
    sort: int(r.SORT),
    color: str(r.COLOR),
  };
}

export function mapFunnel(r: Row): FunnelInput {
  return { id: Number(r.id), name: str(r.name), sort: int(r.sort), isDefault: yn(r.isDefault) };
}

export function mapProduct(r: Row): ProductInput {
  return {
    id: Number(r.ID),
    name: str(r.NAME),
    sectionId: int(r.SECTION_ID),
    catalogId: int(r.CATALOG_ID),
    price: numOrNull(r.PRICE),
    currencyId: str(r.CURRENCY_ID),
    active: r.ACTIVE === undefined || r.ACTIVE === null ? null : yn(r.ACTIVE),
  };
}

export function mapSection(r: Row): SectionInput {
  return { id: Number(r.ID), parentId: int(r.SECTION_ID), catalogId: int(r.CATALOG_ID), name: str(r.NAME) };
}
