/**
 * The CRM mirror: bulk upserts, deletes by id, and the reads scoring needs.
 * Every function takes the portal id; every statement filters on it.
 * Input rows are camelCase; timestamps accept Date, ISO string or epoch ms.
 * The row types, upsert columns and SELECT lists come from the field tables (./crm-fields.ts).
 */
import type { Db } from './db.js';
import { bulkUpsert } from './bulk.js';
import {
  COMPANIES, CONTACTS, CURRENCIES, DEAL_CONTACTS, DEAL_FIELDS, DEALS, FUNNELS, LEADS, PRODUCT_ROWS, PRODUCTS, SECTIONS, STAGES,
  selectList, upsertCols, type CrmTable, type InputOf, type RowOf, type StageSemantic,
} from './crm-fields.js';

export type { StageSemantic };

// ---- input row types (the field tables of ./crm-fields.ts) ---------------------------

export type ContactInput = InputOf<typeof CONTACTS>;
export type CompanyInput = InputOf<typeof COMPANIES>;
export type DealInput = InputOf<typeof DEALS>;
export type DealContactInput = InputOf<typeof DEAL_CONTACTS>;
export type ProductRowInput = InputOf<typeof PRODUCT_ROWS>;
export type ProductInput = InputOf<typeof PRODUCTS>;
export type SectionInput = InputOf<typeof SECTIONS>;
export type StageInput = InputOf<typeof STAGES>;
export type FunnelInput = InputOf<typeof FUNNELS>;
export type CurrencyInput = InputOf<typeof CURRENCIES>;
export type LeadInput = InputOf<typeof LEADS>;
export type DealFieldInput = InputOf<typeof DEAL_FIELDS>;

export interface UpsertOptions {
  /** Tags rows with the sync run that saw them (for deleteNotSeenInRun after a full sync). */
  syncRunId?: number | null;
}

// ---- upserts -------------------------------------------------------------------------

/** bulkUpsert (./bulk.ts) into a field table: its columns, ON CONFLICT on its key. */
function upserter<T extends CrmTable>(t: T, key: (r: InputOf<T>) => string | number) {
  const cols = upsertCols(t);
  return (db: Db, portalId: number, rows: readonly InputOf<T>[], syncRunId?: number | null) =>
    bulkUpsert(db, t.table, portalId, rows, cols, t.key, key, syncRunId);
}

const byId = (r: { id: number }) => r.id;
const intoContacts = upserter(CONTACTS, byId);
const intoCompanies = upserter(COMPANIES, byId);
const intoDeals = upserter(DEALS, byId);
const intoProductRows = upserter(PRODUCT_ROWS, byId);
const intoProducts = upserter(PRODUCTS, byId);
const intoSections = upserter(SECTIONS, byId);
const intoStages = upserter(STAGES, (r) => `${r.entityId}\u0000${r.statusId}`);
const intoFunnels = upserter(FUNNELS, byId);
const intoCurrencies = upserter(CURRENCIES, (r) => r.code);
const intoDealContacts = upserter(DEAL_CONTACTS, (r) => `${r.dealId}:${r.contactId}`);
const intoLeads = upserter(LEADS, byId);
const intoDealFields = upserter(DEAL_FIELDS, (r) => r.fieldName);

export const upsertLeads = (db: Db, portalId: number, rows: readonly LeadInput[], o: UpsertOptions = {}) =>
  intoLeads(db, portalId, rows, o.syncRunId);

/** Makes `rows` the portal's complete list of deal user fields (crm.deal.fields is read whole every sync). */
export async function replaceDealFields(db: Db, portalId: number, rows: readonly DealFieldInput[]): Promise<void> {
  await db.query('DELETE FROM deal_fields WHERE portal_id = $1', [portalId]);
  await intoDealFields(db, portalId, rows);
}

export const upsertContacts = (db: Db, portalId: number, rows: readonly ContactInput[], o: UpsertOptions = {}) =>
  intoContacts(db, portalId, rows, o.syncRunId);

export const upsertCompanies = (db: Db, portalId: number, rows: readonly CompanyInput[], o: UpsertOptions = {}) =>
  intoCompanies(db, portalId, rows, o.syncRunId);

export const upsertDeals = (db: Db, portalId: number, rows: readonly DealInput[], o: UpsertOptions = {}) =>
  intoDeals(db, portalId, rows, o.syncRunId);

export const upsertProductRows = (db: Db, portalId: number, rows: readonly ProductRowInput[], o: UpsertOptions = {}) =>
  intoProductRows(db, portalId, rows, o.syncRunId);

export const upsertProducts = (db: Db, portalId: number, rows: readonly ProductInput[], o: UpsertOptions = {}) =>
  intoProducts(db, portalId, rows, o.syncRunId);

export const upsertSections = (db: Db, portalId: number, rows: readonly SectionInput[], o: UpsertOptions = {}) =>
  intoSections(db, portalId, rows, o.syncRunId);

export const upsertStages = (db: Db, portalId: number, rows: readonly StageInput[]) => intoStages(db, portalId, rows);

export const upsertFunnels = (db: Db, portalId: number, rows: readonly FunnelInput[]) => intoFunnels(db, portalId, rows);

export const upsertCurrencies = (db: Db, portalId: number, rows: readonly CurrencyInput[]) => intoCurrencies(db, portalId, rows);

export const upsertDealContacts = (db: Db, portalId: number, rows: readonly DealContactInput[]) => intoDealContacts(db, portalId, rows);

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

export async function deleteLeads(db: Db, portalId: number, leadIds: readonly number[]): Promise<number> {
  if (!leadIds.length) return 0;
  const r = await db.query(`DELETE FROM leads WHERE portal_id = $1 AND id = ANY($2::bigint[])`, [portalId, [...leadIds]]);
  return r.rowCount;
}

export async function deleteProducts(db: Db, portalId: number, productIds: readonly number[]): Promise<number> {
  if (productIds.length === 0) return 0;
  const r = await db.query(`DELETE FROM products WHERE portal_id = $1 AND id = ANY($2::bigint[])`, [portalId, ids(productIds)]);
  return r.rowCount;
}

export type SweepTable = 'contacts' | 'companies' | 'deals' | 'product_rows' | 'products' | 'sections' | 'leads';
const SWEEP_TABLES: ReadonlySet<string> = new Set<SweepTable>(['contacts', 'companies', 'deals', 'product_rows', 'products', 'sections', 'leads']);

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
  leads: number;
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
       (SELECT count(*) FROM currencies WHERE portal_id = $1)::int AS "currencies",
       (SELECT count(*) FROM leads WHERE portal_id = $1)::int AS "leads"`,
    [portalId],
  );
  return rows[0]!;
}

/** Max date_modify stored for a table (the incremental-sync watermark candidate). */
export async function maxDateModify(db: Db, portalId: number, table: 'contacts' | 'companies' | 'deals' | 'leads'): Promise<Date | null> {
  if (!['contacts', 'companies', 'deals', 'leads'].includes(table)) throw new Error(`maxDateModify: bad table ${table}`);
  const { rows } = await db.query<{ m: Date | null }>(`SELECT max(date_modify) AS m FROM ${table} WHERE portal_id = $1`, [portalId]);
  return rows[0]?.m ?? null;
}

export type Contact = RowOf<typeof CONTACTS>;

const CONTACT_SELECT = selectList(CONTACTS);

export async function getContacts(db: Db, portalId: number, contactIds: readonly number[]): Promise<Contact[]> {
  const { rows } = await db.query<Contact>(
    `SELECT ${CONTACT_SELECT} FROM contacts WHERE portal_id = $1 AND id = ANY($2::bigint[]) ORDER BY id`,
    [portalId, ids(contactIds)],
  );
  return rows;
}

export type Deal = RowOf<typeof DEALS>;

const DEAL_SELECT = selectList(DEALS, { alias: 'd' });

export async function getDeals(db: Db, portalId: number, dealIds: readonly number[]): Promise<Deal[]> {
  const { rows } = await db.query<Deal>(
    `SELECT ${DEAL_SELECT} FROM deals d WHERE d.portal_id = $1 AND d.id = ANY($2::bigint[]) ORDER BY d.id`,
    [portalId, ids(dealIds)],
  );
  return rows;
}

type ProductRow = RowOf<typeof PRODUCT_ROWS>;

export interface ProductRowLite extends Pick<ProductRow, 'id' | 'productId' | 'productName' | 'price' | 'quantity'> {
  /** product_rows.section_id, else the product's current section. */
  sectionId: number | null;
}

const WON_DEAL_FIELDS = ['id', 'closeDate', 'dateCreate', 'currencyId', 'opportunity', 'opportunityBase', 'categoryId', 'companyId'] as const;

export interface WonDeal extends Pick<Deal, (typeof WON_DEAL_FIELDS)[number]> {
  /** deal_contacts.is_primary of the contact's link */
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

const WON_DEAL_SELECT = selectList(DEALS, { alias: 'd', only: WON_DEAL_FIELDS });
const PRODUCT_ROW_LITE_SELECT = selectList(PRODUCT_ROWS, { alias: 'pr', only: ['dealId', 'id', 'productId', 'productName', 'price', 'quantity'] });

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
      `SELECT dc.contact_id AS "contactId", ${WON_DEAL_SELECT}, dc.is_primary AS "isPrimary"
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
        `SELECT ${PRODUCT_ROW_LITE_SELECT}, COALESCE(pr.section_id, p.section_id) AS "sectionId"
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

export type Currency = RowOf<typeof CURRENCIES>;

const CURRENCY_SELECT = selectList(CURRENCIES);

export async function getCurrencies(db: Db, portalId: number): Promise<Currency[]> {
  const { rows } = await db.query<Currency>(
    `SELECT ${CURRENCY_SELECT} FROM currencies WHERE portal_id = $1 ORDER BY sort NULLS LAST, code`,
    [portalId],
  );
  return rows;
}

export type Stage = RowOf<typeof STAGES>;

const STAGE_SELECT = selectList(STAGES);

export async function getStages(db: Db, portalId: number): Promise<Stage[]> {
  const { rows } = await db.query<Stage>(
    `SELECT ${STAGE_SELECT}
       FROM stages WHERE portal_id = $1 ORDER BY entity_id, sort NULLS LAST, status_id`,
    [portalId],
  );
  return rows;
}

export type Funnel = RowOf<typeof FUNNELS>;

const FUNNEL_SELECT = selectList(FUNNELS);

export async function getFunnels(db: Db, portalId: number): Promise<Funnel[]> {
  const { rows } = await db.query<Funnel>(
    `SELECT ${FUNNEL_SELECT} FROM funnels WHERE portal_id = $1 ORDER BY sort NULLS LAST, id`,
    [portalId],
  );
  return rows;
}

export type Section = RowOf<typeof SECTIONS>;

const SECTION_SELECT = selectList(SECTIONS);

export async function getSections(db: Db, portalId: number): Promise<Section[]> {
  const { rows } = await db.query<Section>(
    `SELECT ${SECTION_SELECT} FROM sections WHERE portal_id = $1 ORDER BY id`,
    [portalId],
  );
  return rows;
}

export type Product = RowOf<typeof PRODUCTS>;

const PRODUCT_SELECT = selectList(PRODUCTS);

export async function getProducts(db: Db, portalId: number): Promise<Product[]> {
  const { rows } = await db.query<Product>(
    `SELECT ${PRODUCT_SELECT}
       FROM products WHERE portal_id = $1 ORDER BY id`,
    [portalId],
  );
  return rows;
}
