/**
 * The CRM mirror: bulk upserts, deletes by id, and the reads scoring needs.
 * Every function takes the portal id; every statement filters on it.
 * Input rows are camelCase; timestamps accept Date, ISO string or epoch ms.
 */
import type { Db } from './db.js';
import { bulkUpsert, dateOnly, json, ts, type Col, type Timestamp } from './bulk.js';

type N<T> = T | null | undefined;

// ---- input row types -----------------------------------------------------------------

export interface ContactInput {
  id: number;
  name?: N<string>;
  secondName?: N<string>;
  lastName?: N<string>;
  typeId?: N<string>;
  sourceId?: N<string>;
  assignedById?: N<number>;
  companyId?: N<number>;
  city?: N<string>;
  hasPhone?: N<boolean>;
  hasEmail?: N<boolean>;
  dateCreate?: N<Timestamp>;
  dateModify?: N<Timestamp>;
  /** UF_CRM_SEG_* values currently in the CRM (what write-back last wrote, or edits). */
  uf?: N<Record<string, unknown>>;
  raw?: unknown;
}

export interface CompanyInput {
  id: number;
  title?: N<string>;
  companyType?: N<string>;
  industry?: N<string>;
  revenue?: N<number>;
  currencyId?: N<string>;
  sourceId?: N<string>;
  assignedById?: N<number>;
  city?: N<string>;
  hasPhone?: N<boolean>;
  hasEmail?: N<boolean>;
  dateCreate?: N<Timestamp>;
  dateModify?: N<Timestamp>;
  uf?: N<Record<string, unknown>>;
  raw?: unknown;
}

export type StageSemantic = 'P' | 'S' | 'F';

export interface DealInput {
  id: number;
  title?: N<string>;
  typeId?: N<string>;
  categoryId?: N<number>;
  stageId?: N<string>;
  stageSemantic?: N<StageSemantic>;
  currencyId?: N<string>;
  opportunity?: N<number>;
  /** opportunity converted to the portal's base currency. */
  opportunityBase?: N<number>;
  closeDate?: N<Timestamp>;
  beginDate?: N<Timestamp>;
  dateCreate?: N<Timestamp>;
  dateModify?: N<Timestamp>;
  assignedById?: N<number>;
  companyId?: N<number>;
  sourceId?: N<string>;
  lossReason?: N<string>;
  uf?: N<Record<string, unknown>>;
  raw?: unknown;
}

export interface DealContactInput {
  dealId: number;
  contactId: number;
  sort?: N<number>;
  isPrimary?: N<boolean>;
}

export interface ProductRowInput {
  id: number;
  dealId: number;
  productId?: N<number>;
  productName?: N<string>;
  price?: N<number>;
  quantity?: N<number>;
  discountSum?: N<number>;
  taxRate?: N<number>;
  measureName?: N<string>;
  sort?: N<number>;
  sectionId?: N<number>;
}

export interface ProductInput {
  id: number;
  name?: N<string>;
  sectionId?: N<number>;
  catalogId?: N<number>;
  price?: N<number>;
  currencyId?: N<string>;
  active?: N<boolean>;
  raw?: unknown;
}

export interface SectionInput {
  id: number;
  parentId?: N<number>;
  catalogId?: N<number>;
  name?: N<string>;
}

export interface StageInput {
  entityId: string;
  statusId: string;
  name?: N<string>;
  /** null/undefined from Bitrix (in progress) is stored as 'P'. */
  semantics?: N<StageSemantic>;
  categoryId?: N<number>;
  sort?: N<number>;
  color?: N<string>;
}

export interface FunnelInput {
  id: number;
  name?: N<string>;
  sort?: N<number>;
  isDefault?: N<boolean>;
}

export interface CurrencyInput {
  code: string;
  amount: number;
  amountCnt?: N<number>;
  base?: N<boolean>;
  sort?: N<number>;
}

export interface UpsertOptions {
  /** Tags rows with the sync run that saw them (for deleteNotSeenInRun after a full sync). */
  syncRunId?: number | null;
}

// ---- column maps ---------------------------------------------------------------------

const contactCols: Col<ContactInput>[] = [
  { name: 'id', type: 'bigint', get: (r) => r.id },
  { name: 'name', type: 'text', get: (r) => r.name },
  { name: 'second_name', type: 'text', get: (r) => r.secondName },
  { name: 'last_name', type: 'text', get: (r) => r.lastName },
  { name: 'type_id', type: 'text', get: (r) => r.typeId },
  { name: 'source_id', type: 'text', get: (r) => r.sourceId },
  { name: 'assigned_by_id', type: 'bigint', get: (r) => r.assignedById },
  { name: 'company_id', type: 'bigint', get: (r) => r.companyId },
  { name: 'city', type: 'text', get: (r) => r.city },
  { name: 'has_phone', type: 'boolean', get: (r) => r.hasPhone ?? false },
  { name: 'has_email', type: 'boolean', get: (r) => r.hasEmail ?? false },
  { name: 'date_create', type: 'timestamptz', get: (r) => ts(r.dateCreate) },
  { name: 'date_modify', type: 'timestamptz', get: (r) => ts(r.dateModify) },
  { name: 'uf', type: 'jsonb', get: (r) => json(r.uf ?? {}) },
  { name: 'raw', type: 'jsonb', get: (r) => json(r.raw) },
];

const companyCols: Col<CompanyInput>[] = [
  { name: 'id', type: 'bigint', get: (r) => r.id },
  { name: 'title', type: 'text', get: (r) => r.title },
  { name: 'company_type', type: 'text', get: (r) => r.companyType },
  { name: 'industry', type: 'text', get: (r) => r.industry },
  { name: 'revenue', type: 'numeric', get: (r) => r.revenue },
  { name: 'currency_id', type: 'text', get: (r) => r.currencyId },
  { name: 'source_id', type: 'text', get: (r) => r.sourceId },
  { name: 'assigned_by_id', type: 'bigint', get: (r) => r.assignedById },
  { name: 'city', type: 'text', get: (r) => r.city },
  { name: 'has_phone', type: 'boolean', get: (r) => r.hasPhone ?? false },
  { name: 'has_email', type: 'boolean', get: (r) => r.hasEmail ?? false },
  { name: 'date_create', type: 'timestamptz', get: (r) => ts(r.dateCreate) },
  { name: 'date_modify', type: 'timestamptz', get: (r) => ts(r.dateModify) },
  { name: 'uf', type: 'jsonb', get: (r) => json(r.uf ?? {}) },
  { name: 'raw', type: 'jsonb', get: (r) => json(r.raw) },
];

const dealCols: Col<DealInput>[] = [
  { name: 'id', type: 'bigint', get: (r) => r.id },
  { name: 'title', type: 'text', get: (r) => r.title },
  { name: 'type_id', type: 'text', get: (r) => r.typeId },
  { name: 'category_id', type: 'integer', get: (r) => r.categoryId ?? 0 },
  { name: 'stage_id', type: 'text', get: (r) => r.stageId },
  { name: 'stage_semantic', type: 'text', get: (r) => r.stageSemantic },
  { name: 'currency_id', type: 'text', get: (r) => r.currencyId },
  { name: 'opportunity', type: 'numeric', get: (r) => r.opportunity },
  { name: 'opportunity_base', type: 'numeric', get: (r) => r.opportunityBase },
  { name: 'close_date', type: 'date', get: (r) => dateOnly(r.closeDate) },
  { name: 'begin_date', type: 'date', get: (r) => dateOnly(r.beginDate) },
  { name: 'date_create', type: 'timestamptz', get: (r) => ts(r.dateCreate) },
  { name: 'date_modify', type: 'timestamptz', get: (r) => ts(r.dateModify) },
  { name: 'assigned_by_id', type: 'bigint', get: (r) => r.assignedById },
  { name: 'company_id', type: 'bigint', get: (r) => r.companyId },
  { name: 'source_id', type: 'text', get: (r) => r.sourceId },
  { name: 'loss_reason', type: 'text', get: (r) => r.lossReason },
  { name: 'uf', type: 'jsonb', get: (r) => json(r.uf ?? {}) },
  { name: 'raw', type: 'jsonb', get: (r) => json(r.raw) },
];

const dealContactCols: Col<DealContactInput>[] = [
  { name: 'deal_id', type: 'bigint', get: (r) => r.dealId },
  { name: 'contact_id', type: 'bigint', get: (r) => r.contactId },
  { name: 'sort', type: 'integer', get: (r) => r.sort ?? 0 },
  { name: 'is_primary', type: 'boolean', get: (r) => r.isPrimary ?? false },
];

const productRowCols: Col<ProductRowInput>[] = [
  { name: 'id', type: 'bigint', get: (r) => r.id },
  { name: 'deal_id', type: 'bigint', get: (r) => r.dealId },
  { name: 'product_id', type: 'bigint', get: (r) => r.productId },
  { name: 'product_name', type: 'text', get: (r) => r.productName },
  { name: 'price', type: 'numeric', get: (r) => r.price },
  { name: 'quantity', type: 'numeric', get: (r) => r.quantity },
  { name: 'discount_sum', type: 'numeric', get: (r) => r.discountSum },
  { name: 'tax_rate', type: 'numeric', get: (r) => r.taxRate },
  { name: 'measure_name', type: 'text', get: (r) => r.measureName },
  { name: 'sort', type: 'integer', get: (r) => r.sort },
  { name: 'section_id', type: 'bigint', get: (r) => r.sectionId },
];

const productCols: Col<ProductInput>[] = [
  { name: 'id', type: 'bigint', get: (r) => r.id },
  { name: 'name', type: 'text', get: (r) => r.name },
  { name: 'section_id', type: 'bigint', get: (r) => r.sectionId },
  { name: 'catalog_id', type: 'bigint', get: (r) => r.catalogId },
  { name: 'price', type: 'numeric', get: (r) => r.price },
  { name: 'currency_id', type: 'text', get: (r) => r.currencyId },
  { name: 'active', type: 'boolean', get: (r) => r.active },
  { name: 'raw', type: 'jsonb', get: (r) => json(r.raw) },
];

const sectionCols: Col<SectionInput>[] = [
  { name: 'id', type: 'bigint', get: (r) => r.id },
  { name: 'parent_id', type: 'bigint', get: (r) => r.parentId },
  { name: 'catalog_id', type: 'bigint', get: (r) => r.catalogId },
  { name: 'name', type: 'text', get: (r) => r.name },
];

const stageCols: Col<StageInput>[] = [
  { name: 'entity_id', type: 'text', get: (r) => r.entityId },
  { name: 'status_id', type: 'text', get: (r) => r.statusId },
  { name: 'name', type: 'text', get: (r) => r.name },
  { name: 'semantics', type: 'text', get: (r) => r.semantics ?? 'P' },
  { name: 'category_id', type: 'integer', get: (r) => r.categoryId },
  { name: 'sort', type: 'integer', get: (r) => r.sort },
  { name: 'color', type: 'text', get: (r) => r.color },
];

const funnelCols: Col<FunnelInput>[] = [
  { name: 'id', type: 'integer', get: (r) => r.id },
  { name: 'name', type: 'text', get: (r) => r.name },
  { name: 'sort', type: 'integer', get: (r) => r.sort },
  { name: 'is_default', type: 'boolean', get: (r) => r.isDefault ?? false },
];

const currencyCols: Col<CurrencyInput>[] = [
  { name: 'code', type: 'text', get: (r) => r.code },
  { name: 'amount', type: 'numeric', get: (r) => r.amount },
  { name: 'amount_cnt', type: 'integer', get: (r) => r.amountCnt ?? 1 },
  { name: 'base', type: 'boolean', get: (r) => r.base ?? false },
  { name: 'sort', type: 'integer', get: (r) => r.sort },
];

const byId = (r: { id: number }) => r.id;

// ---- upserts -------------------------------------------------------------------------

export const upsertContacts = (db: Db, portalId: number, rows: readonly ContactInput[], o: UpsertOptions = {}) =>
  bulkUpsert(db, 'contacts', portalId, rows, contactCols, ['id'], byId, o.syncRunId);

export const upsertCompanies = (db: Db, portalId: number, rows: readonly CompanyInput[], o: UpsertOptions = {}) =>
  bulkUpsert(db, 'companies', portalId, rows, companyCols, ['id'], byId, o.syncRunId);

export const upsertDeals = (db: Db, portalId: number, rows: readonly DealInput[], o: UpsertOptions = {}) =>
  bulkUpsert(db, 'deals', portalId, rows, dealCols, ['id'], byId, o.syncRunId);

export const upsertProductRows = (db: Db, portalId: number, rows: readonly ProductRowInput[], o: UpsertOptions = {}) =>
  bulkUpsert(db, 'product_rows', portalId, rows, productRowCols, ['id'], byId, o.syncRunId);

export const upsertProducts = (db: Db, portalId: number, rows: readonly ProductInput[], o: UpsertOptions = {}) =>
  bulkUpsert(db, 'products', portalId, rows, productCols, ['id'], byId, o.syncRunId);

export const upsertSections = (db: Db, portalId: number, rows: readonly SectionInput[], o: UpsertOptions = {}) =>
  bulkUpsert(db, 'sections', portalId, rows, sectionCols, ['id'], byId, o.syncRunId);

export const upsertStages = (db: Db, portalId: number, rows: readonly StageInput[]) =>
  bulkUpsert(db, 'stages', portalId, rows, stageCols, ['entity_id', 'status_id'], (r) => `${r.entityId}\u0000${r.statusId}`);

export const upsertFunnels = (db: Db, portalId: number, rows: readonly FunnelInput[]) =>
  bulkUpsert(db, 'funnels', portalId, rows, funnelCols, ['id'], byId);

export const upsertCurrencies = (db: Db, portalId: number, rows: readonly CurrencyInput[]) =>
  bulkUpsert(db, 'currencies', portalId, rows, currencyCols, ['code'], (r) => r.code);

export const upsertDealContacts = (db: Db, portalId: number, rows: readonly DealContactInput[]) =>
  bulkUpsert(db, 'deal_contacts', portalId, rows, dealContactCols, ['deal_id', 'contact_id'], (r) => `${r.dealId}:${r.contactId}`);

/**
 * Makes `rows` the complete contact list of each deal in `dealIds` (crm.deal.contact.items.get
 * returns the whole list): removes links not in `rows`, upserts the rest. One transaction.
 */
export async function replaceDealContacts(
  db: Db,
  portalId: number,
  dealIds: readonly number[],
  rows: readonly DealContactInput[],
): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query(`DELETE FROM deal_contacts WHERE portal_id = $1 AND deal_id = ANY($2::bigint[])`, [portalId, [...dealIds]]);
    await upsertDealContacts(tx, portalId, rows);
  });
}

/** Makes `rows` the complete product-row list of each deal in `dealIds`. One transaction. */
export async function replaceProductRows(
  db: Db,
  portalId: number,
  dealIds: readonly number[],
  rows: readonly ProductRowInput[],
  o: UpsertOptions = {},
): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query(`DELETE FROM product_rows WHERE portal_id = $1 AND deal_id = ANY($2::bigint[])`, [portalId, [...dealIds]]);
    await upsertProductRows(tx, portalId, rows, o);
  });
}

/** Fills product_rows.section_id from products.section_id where the row has a product. */
export async function resolveProductRowSections(db: Db, portalId: number): Promise<number> {
  const r = await db.query(
    `UPDATE product_rows pr SET section_id = p.section_id
       FROM products p
      WHERE pr.portal_id = $1 AND p.portal_id = $1 AND p.id = pr.product_id
        AND pr.section_id IS DISTINCT FROM p.section_id`,
    [portalId],
  );
  return r.rowCount;
}

/** sections.depth: 0 for roots, parent depth + 1 below (cycles/orphans get null). */
export async function recomputeSectionDepths(db: Db, portalId: number): Promise<void> {
  await db.query(
    `WITH RECURSIVE tree AS (
       SELECT id, 0 AS depth FROM sections
        WHERE portal_id = $1 AND (parent_id IS NULL OR parent_id = 0)
       UNION ALL
       SELECT s.id, t.depth + 1 FROM sections s JOIN tree t ON s.parent_id = t.id
        WHERE s.portal_id = $1 AND t.depth < 100
     )
     UPDATE sections s SET depth = tree.depth FROM tree
      WHERE s.portal_id = $1 AND s.id = tree.id`,
    [portalId],
  );
}

// ---- deletes -------------------------------------------------------------------------

const ids = (v: readonly number[]) => [...v];

/** Deletes contacts and their deal links. Returns contacts deleted. */
export async function deleteContacts(db: Db, portalId: number, contactIds: readonly number[]): Promise<number> {
  if (contactIds.length === 0) return 0;
  return db.transaction(async (tx) => {
    await tx.query(`DELETE FROM deal_contacts WHERE portal_id = $1 AND contact_id = ANY($2::bigint[])`, [portalId, ids(contactIds)]);
    const r = await tx.query(`DELETE FROM contacts WHERE portal_id = $1 AND id = ANY($2::bigint[])`, [portalId, ids(contactIds)]);
    return r.rowCount;
  });
}

export async function deleteCompanies(db: Db, portalId: number, companyIds: readonly number[]): Promise<number> {
  if (companyIds.length === 0) return 0;
  const r = await db.query(`DELETE FROM companies WHERE portal_id = $1 AND id = ANY($2::bigint[])`, [portalId, ids(companyIds)]);
  return r.rowCount;
}

/** Deletes deals with their contact links and product rows. Returns deals deleted. */
export async function deleteDeals(db: Db, portalId: number, dealIds: readonly number[]): Promise<number> {
  if (dealIds.length === 0) return 0;
  return db.transaction(async (tx) => {
    await tx.query(`DELETE FROM deal_contacts WHERE portal_id = $1 AND deal_id = ANY($2::bigint[])`, [portalId, ids(dealIds)]);
    await tx.query(`DELETE FROM product_rows WHERE portal_id = $1 AND deal_id = ANY($2::bigint[])`, [portalId, ids(dealIds)]);
    const r = await tx.query(`DELETE FROM deals WHERE portal_id = $1 AND id = ANY($2::bigint[])`, [portalId, ids(dealIds)]);
    return r.rowCount;
  });
}

export async function deleteProducts(db: Db, portalId: number, productIds: readonly number[]): Promise<number> {
  if (productIds.length === 0) return 0;
  const r = await db.query(`DELETE FROM products WHERE portal_id = $1 AND id = ANY($2::bigint[])`, [portalId, ids(productIds)]);
  return r.rowCount;
}

export type SweepTable = 'contacts' | 'companies' | 'deals' | 'product_rows' | 'products' | 'sections';
const SWEEP_TABLES: ReadonlySet<string> = new Set<SweepTable>(['contacts', 'companies', 'deals', 'product_rows', 'products', 'sections']);

/**
 * After a complete full sync that passed { syncRunId } to every upsert: deletes rows of
 * `table` that run did not see (deleted in the CRM). Deals/contacts also drop their links.
 */
export async function deleteNotSeenInRun(db: Db, portalId: number, table: SweepTable, syncRunId: number): Promise<number> {
  if (!SWEEP_TABLES.has(table)) throw new Error(`deleteNotSeenInRun: bad table ${table}`);
  return db.transaction(async (tx) => {
    const notSeen = `SELECT id FROM ${table} WHERE portal_id = $1 AND sync_run_id IS DISTINCT FROM $2`;
    if (table === 'deals') {
      await tx.query(`DELETE FROM deal_contacts WHERE portal_id = $1 AND deal_id IN (${notSeen})`, [portalId, syncRunId]);
      await tx.query(`DELETE FROM product_rows WHERE portal_id = $1 AND deal_id IN (${notSeen})`, [portalId, syncRunId]);
    } else if (table === 'contacts') {
      await tx.query(`DELETE FROM deal_contacts WHERE portal_id = $1 AND contact_id IN (${notSeen})`, [portalId, syncRunId]);
    }
    const r = await tx.query(`DELETE FROM ${table} WHERE portal_id = $1 AND sync_run_id IS DISTINCT FROM $2`, [portalId, syncRunId]);
    return r.rowCount;
  });
}

// ---- reads ---------------------------------------------------------------------------

export interface CrmCounts {
  contacts: number;
  companies: number;
  deals: number;
  dealContacts: number;
  productRows: number;
  products: number;
  sections: number;
  stages: number;
  funnels: number;
  currencies: number;
}

export async function countCrmRows(db: Db, portalId: number): Promise<CrmCounts> {
  const { rows } = await db.query<CrmCounts>(
    `SELECT
       (SELECT count(*) FROM contacts WHERE portal_id = $1)::int AS "contacts",
       (SELECT count(*) FROM companies WHERE portal_id = $1)::int AS "companies",
       (SELECT count(*) FROM deals WHERE portal_id = $1)::int AS "deals",
       (SELECT count(*) FROM deal_contacts WHERE portal_id = $1)::int AS "dealContacts",
       (SELECT count(*) FROM product_rows WHERE portal_id = $1)::int AS "productRows",
       (SELECT count(*) FROM products WHERE portal_id = $1)::int AS "products",
       (SELECT count(*) FROM sections WHERE portal_id = $1)::int AS "sections",
       (SELECT count(*) FROM stages WHERE portal_id = $1)::int AS "stages",
       (SELECT count(*) FROM funnels WHERE portal_id = $1)::int AS "funnels",
       (SELECT count(*) FROM currencies WHERE portal_id = $1)::int AS "currencies"`,
    [portalId],
  );
  return rows[0]!;
}

/** Max date_modify stored for a table (the incremental-sync watermark candidate). */
export async function maxDateModify(db: Db, portalId: number, table: 'contacts' | 'companies' | 'deals'): Promise<Date | null> {
  if (!['contacts', 'companies', 'deals'].includes(table)) throw new Error(`maxDateModify: bad table ${table}`);
  const { rows } = await db.query<{ m: Date | null }>(`SELECT max(date_modify) AS m FROM ${table} WHERE portal_id = $1`, [portalId]);
  return rows[0]?.m ?? null;
}

export interface Contact {
  id: number;
  name: string | null;
  secondName: string | null;
  lastName: string | null;
  typeId: string | null;
  sourceId: string | null;
  assignedById: number | null;
  companyId: number | null;
  city: string | null;
  hasPhone: boolean;
  hasEmail: boolean;
  dateCreate: Date | null;
  dateModify: Date | null;
  uf: Record<string, unknown>;
}

const CONTACT_SELECT = `id, name, second_name AS "secondName", last_name AS "lastName", type_id AS "typeId",
  source_id AS "sourceId", assigned_by_id AS "assignedById", company_id AS "companyId", city,
  has_phone AS "hasPhone", has_email AS "hasEmail", date_create AS "dateCreate", date_modify AS "dateModify", uf`;

export async function getContacts(db: Db, portalId: number, contactIds: readonly number[]): Promise<Contact[]> {
  const { rows } = await db.query<Contact>(
    `SELECT ${CONTACT_SELECT} FROM contacts WHERE portal_id = $1 AND id = ANY($2::bigint[]) ORDER BY id`,
    [portalId, ids(contactIds)],
  );
  return rows;
}

export interface Deal {
  id: number;
  title: string | null;
  typeId: string | null;
  categoryId: number;
  stageId: string | null;
  stageSemantic: StageSemantic | null;
  currencyId: string | null;
  opportunity: number | null;
  opportunityBase: number | null;
  closeDate: string | null;
  beginDate: string | null;
  dateCreate: Date | null;
  dateModify: Date | null;
  assignedById: number | null;
  companyId: number | null;
  sourceId: string | null;
  lossReason: string | null;
  uf: Record<string, unknown>;
}

const DEAL_SELECT = `d.id, d.title, d.type_id AS "typeId", d.category_id AS "categoryId", d.stage_id AS "stageId",
  d.stage_semantic AS "stageSemantic", d.currency_id AS "currencyId", d.opportunity,
  d.opportunity_base AS "opportunityBase", d.close_date AS "closeDate", d.begin_date AS "beginDate",
  d.date_create AS "dateCreate", d.date_modify AS "dateModify", d.assigned_by_id AS "assignedById",
  d.company_id AS "companyId", d.source_id AS "sourceId", d.loss_reason AS "lossReason", d.uf`;

export async function getDeals(db: Db, portalId: number, dealIds: readonly number[]): Promise<Deal[]> {
  const { rows } = await db.query<Deal>(
    `SELECT ${DEAL_SELECT} FROM deals d WHERE d.portal_id = $1 AND d.id = ANY($2::bigint[]) ORDER BY d.id`,
    [portalId, ids(dealIds)],
  );
  return rows;
}

export interface ProductRowLite {
  id: number;
  productId: number | null;
  productName: string | null;
  price: number | null;
  quantity: number | null;
  /** product_rows.section_id, else the product's current section. */
  sectionId: number | null;
}

export interface WonDeal {
  id: number;
  closeDate: string | null;
  dateCreate: Date | null;
  currencyId: string | null;
  opportunity: number | null;
  opportunityBase: number | null;
  categoryId: number;
  companyId: number | null;
  isPrimary: boolean;
  productRows: ProductRowLite[];
}

export interface ContactWithWonDeals {
  contact: Contact;
  /** Won deals (stage_semantic 'S') linked to the contact, by close_date then id. */
  wonDeals: WonDeal[];
}

export interface IterateOptions {
  /** Contacts per round trip. Default 2000. */
  batchSize?: number;
  /** Load product rows of the won deals (interests). Default true. */
  includeProductRows?: boolean;
  /** Skip contacts without a won deal. Default false. */
  onlyWithWonDeals?: boolean;
}

/**
 * Batches of contacts (by id, keyset pagination) with their won deals. No server-side
 * cursor is held between batches, so it is safe on PGlite's single connection and other
 * work can run between batches. Not a snapshot: rows changed mid-iteration may show either way.
 */
export async function* iterateContactBatches(
  db: Db,
  portalId: number,
  opts: IterateOptions = {},
): AsyncGenerator<ContactWithWonDeals[]> {
  const batchSize = opts.batchSize ?? 2000;
  const withRows = opts.includeProductRows ?? true;
  let after = -1;
  for (;;) {
    const { rows: contacts } = await db.query<Contact>(
      opts.onlyWithWonDeals
        ? `SELECT ${CONTACT_SELECT} FROM contacts c WHERE c.portal_id = $1 AND c.id > $2
             AND EXISTS (SELECT 1 FROM deal_contacts dc JOIN deals d ON d.portal_id = dc.portal_id AND d.id = dc.deal_id
                          WHERE dc.portal_id = $1 AND dc.contact_id = c.id AND d.stage_semantic = 'S')
           ORDER BY c.id LIMIT $3`
        : `SELECT ${CONTACT_SELECT} FROM contacts WHERE portal_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
      [portalId, after, batchSize],
    );
    if (contacts.length === 0) return;
    after = contacts[contacts.length - 1]!.id;
    const contactIds = contacts.map((c) => c.id);
    const { rows: deals } = await db.query<Omit<WonDeal, 'productRows'> & { contactId: number }>(
      `SELECT dc.contact_id AS "contactId", d.id, d.close_date AS "closeDate", d.date_create AS "dateCreate",
              d.currency_id AS "currencyId", d.opportunity, d.opportunity_base AS "opportunityBase",
              d.category_id AS "categoryId", d.company_id AS "companyId", dc.is_primary AS "isPrimary"
         FROM deal_contacts dc
         JOIN deals d ON d.portal_id = dc.portal_id AND d.id = dc.deal_id
        WHERE dc.portal_id = $1 AND dc.contact_id = ANY($2::bigint[]) AND d.stage_semantic = 'S'
        ORDER BY dc.contact_id, d.close_date NULLS LAST, d.id`,
      [portalId, contactIds],
    );
    const rowsByDeal = new Map<number, ProductRowLite[]>();
    if (withRows && deals.length > 0) {
      const dealIds = [...new Set(deals.map((d) => d.id))];
      const { rows: prs } = await db.query<ProductRowLite & { dealId: number }>(
        `SELECT pr.deal_id AS "dealId", pr.id, pr.product_id AS "productId", pr.product_name AS "productName",
                pr.price, pr.quantity, COALESCE(pr.section_id, p.section_id) AS "sectionId"
           FROM product_rows pr
           LEFT JOIN products p ON p.portal_id = pr.portal_id AND p.id = pr.product_id
          WHERE pr.portal_id = $1 AND pr.deal_id = ANY($2::bigint[])
          ORDER BY pr.deal_id, pr.sort NULLS LAST, pr.id`,
        [portalId, dealIds],
      );
      for (const { dealId, ...pr } of prs) {
        let list = rowsByDeal.get(dealId);
        if (!list) rowsByDeal.set(dealId, (list = []));
        list.push(pr);
      }
    }
    const byContact = new Map<number, WonDeal[]>();
    for (const { contactId, ...d } of deals) {
      let list = byContact.get(contactId);
      if (!list) byContact.set(contactId, (list = []));
      list.push({ ...d, productRows: rowsByDeal.get(d.id) ?? [] });
    }
    yield contacts.map((contact) => ({ contact, wonDeals: byContact.get(contact.id) ?? [] }));
    if (contacts.length < batchSize) return;
  }
}

/** One contact at a time; see iterateContactBatches. */
export async function* iterateContactsWithWonDeals(
  db: Db,
  portalId: number,
  opts: IterateOptions = {},
): AsyncGenerator<ContactWithWonDeals> {
  for await (const batch of iterateContactBatches(db, portalId, opts)) yield* batch;
}

// ---- reference data ------------------------------------------------------------------

export interface Currency {
  code: string;
  amount: number;
  amountCnt: number;
  base: boolean;
  sort: number | null;
}

export async function getCurrencies(db: Db, portalId: number): Promise<Currency[]> {
  const { rows } = await db.query<Currency>(
    `SELECT code, amount, amount_cnt AS "amountCnt", base, sort FROM currencies WHERE portal_id = $1 ORDER BY sort NULLS LAST, code`,
    [portalId],
  );
  return rows;
}

export interface Stage {
  entityId: string;
  statusId: string;
  name: string | null;
  semantics: StageSemantic;
  categoryId: number | null;
  sort: number | null;
  color: string | null;
}

export async function getStages(db: Db, portalId: number): Promise<Stage[]> {
  const { rows } = await db.query<Stage>(
    `SELECT entity_id AS "entityId", status_id AS "statusId", name, semantics, category_id AS "categoryId", sort, color
       FROM stages WHERE portal_id = $1 ORDER BY entity_id, sort NULLS LAST, status_id`,
    [portalId],
  );
  return rows;
}

export interface Funnel {
  id: number;
  name: string | null;
  sort: number | null;
  isDefault: boolean;
}

export async function getFunnels(db: Db, portalId: number): Promise<Funnel[]> {
  const { rows } = await db.query<Funnel>(
    `SELECT id, name, sort, is_default AS "isDefault" FROM funnels WHERE portal_id = $1 ORDER BY sort NULLS LAST, id`,
    [portalId],
  );
  return rows;
}

export interface Section {
  id: number;
  parentId: number | null;
  catalogId: number | null;
  name: string | null;
  depth: number | null;
}

export async function getSections(db: Db, portalId: number): Promise<Section[]> {
  const { rows } = await db.query<Section>(
    `SELECT id, parent_id AS "parentId", catalog_id AS "catalogId", name, depth FROM sections WHERE portal_id = $1 ORDER BY id`,
    [portalId],
  );
  return rows;
}

export interface Product {
  id: number;
  name: string | null;
  sectionId: number | null;
  catalogId: number | null;
  price: number | null;
  currencyId: string | null;
  active: boolean | null;
}

export async function getProducts(db: Db, portalId: number): Promise<Product[]> {
  const { rows } = await db.query<Product>(
    `SELECT id, name, section_id AS "sectionId", catalog_id AS "catalogId", price, currency_id AS "currencyId", active
       FROM products WHERE portal_id = $1 ORDER BY id`,
    [portalId],
  );
  return rows;
}
