/**
 * Reference data and product methods: crm.status.list, crm.category.list, crm.currency.list,
 * crm.product.list/get, crm.productsection.list, crm.deal.productrows.get,
 * crm.item.productrow.list (https://apidocs.bitrix24.com/api-reference/crm/status/index.html, https://apidocs.bitrix24.com/api-reference/crm/currency/crm-currency-list.html).
 */
import type { CategoryRec, CurrencyRec, ProductRec, ProductRowRec, SectionRec, StatusRec } from '../model.js';
import { assertAccess, listVisibility } from '../perms.js';
import type { Portal } from '../portal.js';
import { runList, type QField, type Resolver } from '../query.js';
import { camelToUpper, isoDateTime, type FType, type V } from '../serialize.js';
import { RestError, type CallContext, type MethodResult, type Params } from '../types.js';
import { legacyId } from './schema.js';
import { def, isObj, list, param, requiredParam, yn, type Def } from './util.js';

type Getter<R> = [FType, (r: R) => V];

function resolverOf<R>(fields: Record<string, Getter<R>>, idKey: string, camel = false): Resolver<R> {
  const map = new Map<string, Getter<R>>();
  for (const [k, v] of Object.entries(fields)) map.set(k.toUpperCase(), v);
  return (name) => {
    const key = camel ? camelToUpper(name.trim()) : name.trim().toUpperCase();
    const g = map.get(key) ?? map.get(name.trim().toUpperCase());
    if (!g) return undefined;
    const q: QField<R> = { name, type: g[0], get: g[1], isId: key === idKey.toUpperCase() };
    return q;
  };
}

// ---------------------------------------------------------------------------
// Statuses

/**
 * CATEGORY_ID of a status: `null` for the default funnel's DEAL_STAGE rows (crm-status-list.md
 * example), whatever the record holds (the generator stores 0 there).
 */
function statusCategory(s: StatusRec): number | null {
  return s.entityId === 'DEAL_STAGE' ? null : s.categoryId;
}

const STATUS_FIELDS: Record<string, Getter<StatusRec>> = {
  ID: ['id', (s) => s.id],
  ENTITY_ID: ['string', (s) => s.entityId],
  STATUS_ID: ['string', (s) => s.statusId],
  NAME: ['string', (s) => s.name],
  SORT: ['int', (s) => s.sort],
  SYSTEM: ['char', (s) => s.system],
  CATEGORY_ID: ['int', statusCategory],
  SEMANTICS: ['string', (s) => s.semantics],
};

function statusOut(s: StatusRec): Record<string, unknown> {
  const extra = s.entityId.startsWith('DEAL_STAGE')
    ? { EXTRA: { SEMANTICS: s.semantics === 'S' ? 'success' : s.semantics === 'F' ? (s.statusId.endsWith('APOLOGY') ? 'apology' : 'failure') : 'process', COLOR: s.color ?? '#39A8EF' } }
    : {};
  return {
    ID: String(s.id), ENTITY_ID: s.entityId, STATUS_ID: s.statusId, NAME: s.name, NAME_INIT: s.system ? s.name : '',
    SORT: String(s.sort), SYSTEM: yn(s.system), CATEGORY_ID: statusCategory(s) === null ? null : String(s.categoryId),
    COLOR: s.color, SEMANTICS: s.semantics, ...extra,
  };
}

// ---------------------------------------------------------------------------
// Products and sections

const PRODUCT_FIELDS: Record<string, Getter<ProductRec>> = {
  ID: ['id', (r) => r.id], NAME: ['string', (r) => r.name], SECTION_ID: ['int', (r) => r.sectionId],
  CATALOG_ID: ['int', (r) => r.catalogId], PRICE: ['double', (r) => r.price], CURRENCY_ID: ['string', (r) => r.currencyId],
  ACTIVE: ['char', (r) => r.active], SORT: ['int', (r) => r.sort], XML_ID: ['string', (r) => r.xmlId],
  DATE_CREATE: ['datetime', (r) => r.dateCreate], TIMESTAMP_X: ['datetime', (r) => r.timestampX],
};

function productOut(p: Portal, r: ProductRec): Record<string, unknown> {
  return {
    ID: String(r.id), NAME: r.name, SECTION_ID: r.sectionId === null ? null : String(r.sectionId), CATALOG_ID: String(r.catalogId),
    PRICE: r.price.toFixed(2), CURRENCY_ID: r.currencyId, ACTIVE: yn(r.active), SORT: String(r.sort), XML_ID: r.xmlId,
    DESCRIPTION: null, DESCRIPTION_TYPE: 'text', MEASURE: '9', VAT_ID: null, VAT_INCLUDED: 'N',
    DATE_CREATE: isoDateTime(r.dateCreate, p.timeZone), TIMESTAMP_X: isoDateTime(r.timestampX, p.timeZone),
    // the rest of crm-product-fields.md: authors (the portal owner here) and pictures (files are not emulated)
    CREATED_BY: '1', MODIFIED_BY: '1', PREVIEW_PICTURE: null, DETAIL_PICTURE: null,
  };
}

function pickSelect(row: Record<string, unknown>, select: unknown): Record<string, unknown> {
  if (!Array.isArray(select) || select.length === 0 || select.includes('*')) return row;
  const out: Record<string, unknown> = {};
  const want = new Set(select.map((s) => String(s).toUpperCase()));
  for (const [k, v] of Object.entries(row)) if (k === 'ID' || want.has(k)) out[k] = v;
  return out;
}

const SECTION_FIELDS: Record<string, Getter<SectionRec>> = {
  ID: ['id', (r) => r.id], CATALOG_ID: ['int', (r) => r.catalogId], NAME: ['string', (r) => r.name],
  SECTION_ID: ['int', (r) => r.sectionId], XML_ID: ['string', (r) => r.xmlId], CODE: ['string', (r) => r.code],
};

/** crm-product-section-fields.md: ID, CATALOG_ID, NAME, SECTION_ID, XML_ID (CODE stays filterable, not returned). */
function sectionOut(r: SectionRec): Record<string, unknown> {
  return {
    ID: String(r.id), CATALOG_ID: String(r.catalogId), NAME: r.name, SECTION_ID: r.sectionId === null ? null : String(r.sectionId),
    XML_ID: r.xmlId,
  };
}

// ---------------------------------------------------------------------------
// catalog.product.list (catalog/product/catalog-product-list.md, scope `catalog`)

/**
 * The catalog's purchase price of a generated product: a deterministic share of the products
 * (about 3 in 4, by a hash of the id, so the generator's random streams stay untouched) have
 * one, 60–80 % of the sale price in the product's currency; the rest have none (null).
 */
export function purchasingPriceOf(r: ProductRec): number | null {
  let h = Math.imul(r.id, 0x9e3779b1) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x85ebca77) >>> 0;
  h = (h ^ (h >>> 13)) >>> 0;
  if (h % 4 === 0) return null;
  const share = 0.6 + ((h >>> 8) % 201) / 1000;
  return Math.round(r.price * share * 100) / 100;
}

const CATALOG_FIELDS: Record<string, Getter<ProductRec>> = {
  ID: ['id', (r) => r.id], IBLOCK_ID: ['int', (r) => r.catalogId], NAME: ['string', (r) => r.name],
  PURCHASING_PRICE: ['double', (r) => purchasingPriceOf(r)], PURCHASING_CURRENCY: ['string', (r) => (purchasingPriceOf(r) === null ? null : r.currencyId)],
};

function catalogOut(r: ProductRec, select: string[]): Record<string, unknown> {
  const price = purchasingPriceOf(r);
  const all: Record<string, unknown> = {
    id: r.id, iblockId: r.catalogId, name: r.name, purchasingPrice: price, purchasingCurrency: price === null ? null : r.currencyId,
  };
  const out: Record<string, unknown> = {};
  for (const k of select) if (k in all) out[k] = all[k];
  return out;
}

/** The caller's catalog right (UserRec.catalogRights; admins and internal calls have every right). */
function catalogRight(ctx: CallContext, right: 'view' | 'iblockRead'): boolean {
  if (ctx.auth.kind === 'internal' || ctx.auth.isAdmin) return true;
  return ctx.portal.users.get(ctx.auth.userId)?.catalogRights?.[right] ?? true;
}

function catalogProductList(ctx: CallContext, params: Params): MethodResult {
  // catalog-product-list.md, "Possible Error Codes": no right to view the catalog, then the iblock checks
  if (!catalogRight(ctx, 'view')) throw new RestError('200040300010', 'Access Denied', 400);
  const sel = param(params, 'select');
  const select = Array.isArray(sel) ? sel.map(String) : [];
  // the docs' errors: select must hold id and iblockId (the missing ones listed), filter an object with iblockId
  const missing = ['id', 'iblockId'].filter((k) => !select.includes(k));
  if (missing.length) throw new RestError('0', `Required select fields: ${missing.join(', ')}`, 400);
  const f = param(params, 'filter');
  if (!isObj(f)) throw new RestError('0', f === undefined ? 'Required filter fields: iblockId' : 'Incorrect filter format', 400);
  const filter = f;
  if (filter.iblockId === undefined || filter.iblockId === null || filter.iblockId === '') throw new RestError('0', 'Required filter fields: iblockId', 400);
  const iblock = Number(filter.iblockId);
  if (![...ctx.portal.products.values()].some((r) => r.catalogId === iblock)) throw new RestError('200040300000', 'Iblock Not Found', 400);
  if (!catalogRight(ctx, 'iblockRead')) throw new RestError('200040300030', 'Access Denied', 400);
  const out = runList(ctx.portal.products, { filter, order: param(params, 'order'), start: param(params, 'start') }, resolverOf(CATALOG_FIELDS, 'ID', true), tz(ctx.portal));
  const res: MethodResult = { result: { products: out.rows.map((r) => catalogOut(r, select)) }, total: out.total, rows: out.rows.length };
  if (out.next !== undefined) res.next = out.next;
  return res;
}

// ---------------------------------------------------------------------------
// Product rows

const ROW_FIELDS: Record<string, Getter<ProductRowRec>> = {
  id: ['id', (r) => r.id], ownerId: ['int', (r) => r.ownerId], ownerType: ['string', (r) => r.ownerType],
  productId: ['int', (r) => r.productId], productName: ['string', (r) => r.productName], price: ['double', (r) => r.price],
  priceExclusive: ['double', (r) => r.priceExclusive], priceNetto: ['double', (r) => r.priceNetto], priceBrutto: ['double', (r) => r.priceBrutto],
  quantity: ['double', (r) => r.quantity], discountTypeId: ['int', (r) => r.discountTypeId], discountRate: ['double', (r) => r.discountRate],
  discountSum: ['double', (r) => r.discountSum], taxRate: ['double', (r) => r.taxRate], taxIncluded: ['char', (r) => r.taxIncluded],
  customized: ['char', (r) => r.customized], measureCode: ['int', (r) => r.measureCode], measureName: ['string', (r) => r.measureName],
  sort: ['int', (r) => r.sort], type: ['int', (r) => r.type],
};
const ROW_RESOLVER = resolverOf(Object.fromEntries(Object.entries(ROW_FIELDS).map(([k, v]) => [camelToUpper(k), v])), 'ID', true);

function rowItem(r: ProductRowRec): Record<string, unknown> {
  return {
    id: r.id, ownerId: r.ownerId, ownerType: r.ownerType, productId: r.productId, productName: r.productName,
    price: r.price, priceAccount: r.price, priceExclusive: r.priceExclusive, priceNetto: r.priceNetto, priceBrutto: r.priceBrutto,
    quantity: r.quantity, discountTypeId: r.discountTypeId, discountRate: r.discountRate, discountSum: r.discountSum,
    taxRate: r.taxRate, taxIncluded: yn(r.taxIncluded), customized: yn(r.customized), measureCode: r.measureCode,
    measureName: r.measureName, sort: r.sort, xmlId: '', type: r.type, storeId: null,
  };
}

/** Legacy row shape, typed as in the docs' example (IDs as strings, amounts as numbers). */
function rowLegacy(r: ProductRowRec): Record<string, unknown> {
  return {
    ID: String(r.id), OWNER_ID: String(r.ownerId), OWNER_TYPE: r.ownerType, PRODUCT_ID: r.productId,
    PRODUCT_NAME: r.productName, ORIGINAL_PRODUCT_NAME: r.productName, PRODUCT_DESCRIPTION: null,
    PRICE: r.price, PRICE_EXCLUSIVE: r.priceExclusive, PRICE_NETTO: r.priceNetto, PRICE_BRUTTO: r.priceBrutto,
    PRICE_ACCOUNT: r.price.toFixed(2), QUANTITY: r.quantity, DISCOUNT_TYPE_ID: r.discountTypeId, DISCOUNT_RATE: r.discountRate,
    DISCOUNT_SUM: r.discountSum, TAX_RATE: r.taxRate, TAX_INCLUDED: yn(r.taxIncluded), CUSTOMIZED: yn(r.customized),
    MEASURE_CODE: r.measureCode, MEASURE_NAME: r.measureName, SORT: r.sort, XML_ID: '', TYPE: r.type,
    STORE_ID: null, RESERVE_ID: null, DATE_RESERVE_END: null, RESERVE_QUANTITY: null,
  };
}

function required(filter: Record<string, unknown>, key: string): unknown {
  const found = Object.entries(filter).find(([k]) => k === key || k.toLowerCase() === key.toLowerCase());
  if (!found || found[1] === undefined || found[1] === null || found[1] === '') {
    throw new RestError('100', `Required filter field "${key}" is missing`, 400);
  }
  return found[1];
}

// ---------------------------------------------------------------------------

function currencyOut(p: Portal, c: CurrencyRec): Record<string, unknown> {
  return {
    CURRENCY: c.currency, AMOUNT_CNT: String(c.amountCnt), AMOUNT: c.amount.toFixed(4), SORT: String(c.sort), BASE: yn(c.base),
    FULL_NAME: c.fullName, LID: p.language, FORMAT_STRING: c.currency === 'USD' ? '$#' : `# ${c.currency}`, DEC_POINT: '.',
    THOUSANDS_SEP: ',', DECIMALS: '2', DATE_UPDATE: isoDateTime(c.dateUpdate, p.timeZone),
  };
}

function categoriesOf(p: Portal, entityTypeId: number): CategoryRec[] {
  const own = p.categories.filter((c) => c.entityTypeId === entityTypeId);
  if (entityTypeId === 2 && !own.some((c) => c.id === 0)) {
    own.unshift({ id: 0, entityTypeId: 2, name: 'General', sort: 0, isDefault: true });
  }
  return own.sort((a, b) => a.sort - b.sort || a.id - b.id);
}

const tz = (p: Portal) => ({ strict: false, allowLogic: false, tz: p.timeZone });

export const catalogMethods: Def[] = [
  def('crm.status.list', 'crm', 'list', (ctx, params) => {
    const p = ctx.portal;
    const order = param(params, 'order') ?? { SORT: 'ASC' };
    const out = runList(p.statuses, { filter: param(params, 'filter'), order }, resolverOf(STATUS_FIELDS, 'ID'), tz(p), Infinity);
    return list(out.rows.map(statusOut), out.total, undefined);
  }),

  // crm-category-list.md: entityTypeId required (code 100); unknown type NOT_FOUND "Smart process not
  // found"; a type without funnels (leads) ENTITY_TYPE_NOT_SUPPORTED
  def('crm.category.list', 'crm', 'list', (ctx, params) => {
    const t = Number(requiredParam(params, 'entityTypeId'));
    if (t === 1) throw new RestError('ENTITY_TYPE_NOT_SUPPORTED', 'Entity type LEAD is not supported', 400);
    if (![2].includes(t)) {
      if (![3, 4, 7, 31].includes(t)) throw new RestError('NOT_FOUND', 'Smart process not found', 400);
      return { result: { categories: [] }, total: 0, rows: 0 };
    }
    const cats = categoriesOf(ctx.portal, t).map((c) => ({
      id: c.id, name: c.name, sort: c.sort, entityTypeId: c.entityTypeId, isDefault: yn(c.isDefault || c.id === 0), originId: '', originatorId: '',
    }));
    return { result: { categories: cats }, total: cats.length, rows: cats.length };
  }),

  def('crm.currency.list', 'crm', 'list', (ctx, params) => {
    const p = ctx.portal;
    const order = isObj(param(params, 'order')) ? (param(params, 'order') as Record<string, string>) : { SORT: 'ASC' };
    const [[k, dir] = ['SORT', 'ASC']] = Object.entries(order);
    const key = String(k).toUpperCase();
    const rows = [...p.currencies].sort((a, b) => {
      const c = key === 'CURRENCY' ? a.currency.localeCompare(b.currency) : a.sort - b.sort;
      return String(dir).toUpperCase() === 'DESC' ? -c : c;
    });
    return list(rows.map((c) => currencyOut(p, c)), rows.length, undefined);
  }),

  def('crm.product.list', 'crm', 'list', (ctx, params) => {
    const p = ctx.portal;
    const out = runList(p.products, { filter: param(params, 'filter'), order: param(params, 'order'), start: param(params, 'start') }, resolverOf(PRODUCT_FIELDS, 'ID'), tz(p));
    const sel = param(params, 'select');
    return list(out.rows.map((r) => pickSelect(productOut(p, r), sel)), out.total, out.next);
  }),
  def('crm.product.get', 'crm', 'get', (ctx, params) => {
    const r = ctx.portal.products.get(legacyId(params));
    if (!r) throw new RestError('', 'Not found', 400);
    return { result: productOut(ctx.portal, r) };
  }),
  def('crm.productsection.list', 'crm', 'list', (ctx, params) => {
    const p = ctx.portal;
    const out = runList(p.sections, { filter: param(params, 'filter'), order: param(params, 'order'), start: param(params, 'start') }, resolverOf(SECTION_FIELDS, 'ID'), tz(p));
    const sel = param(params, 'select');
    return list(out.rows.map((r) => pickSelect(sectionOut(r), sel)), out.total, out.next);
  }),

  def('catalog.product.list', 'catalog', 'list', catalogProductList),

  def('crm.deal.productrows.get', 'crm', 'get', (ctx, params) => {
    const id = legacyId(params, 'The parameter id is invalid or not defined.'); // crm-deal-productrows-get.md
    const deal = ctx.portal.deals.get(id);
    if (!deal) throw new RestError('', 'Not found', 400);
    assertAccess(ctx.portal, ctx.auth, 'deal', deal, 'legacy');
    const rows = [...(ctx.portal.productRows.get(id) ?? [])].sort((a, b) => a.sort - b.sort || a.id - b.id);
    return { result: rows.map(rowLegacy) };
  }),

  def('crm.item.productrow.list', 'crm', 'list', (ctx, params): MethodResult => {
    const p = ctx.portal;
    const f = param(params, 'filter');
    const filter = isObj(f) ? f : {};
    const ownerType = String(required(filter, '=ownerType'));
    const ownerRaw = required(filter, '=ownerId');
    const owners = (Array.isArray(ownerRaw) ? ownerRaw : isObj(ownerRaw) ? Object.values(ownerRaw) : [ownerRaw]).map(Number).filter(Number.isFinite);
    const source: ProductRowRec[] = [];
    if (ownerType === 'D') {
      // rows of deals the caller may not read are left out, like the deals themselves
      const canRead = listVisibility(p, ctx.auth, 'deal', 'item');
      for (const id of [...new Set(owners)].sort((a, b) => a - b)) {
        const deal = p.deals.get(id);
        if (canRead && (!deal || !canRead(deal))) continue;
        const rows = p.productRows.get(id);
        if (rows) source.push(...[...rows].sort((a, b) => a.sort - b.sort || a.id - b.id));
      }
    }
    const rest: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(filter)) if (!/^=owner(Type|Id)$/i.test(k)) rest[k] = v;
    const out = runList(source, { filter: rest, order: param(params, 'order'), start: param(params, 'start') }, ROW_RESOLVER, { strict: true, allowLogic: false, tz: p.timeZone });
    const res: MethodResult = { result: { productRows: out.rows.map(rowItem) }, total: out.total, rows: out.rows.length };
    if (out.next !== undefined) res.next = out.next;
    return res;
  }),
];
