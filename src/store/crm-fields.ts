/**
 * The CRM mirror's field tables: ONE table per synced entity, ONE row per field. A row says
 * everything about the field once: its key in the app's row objects (camelCase, the object key
 * below), its store column and SQL type, the REST field(s) it is read from and how the REST value
 * is read (str/int/yn… of src/bitrix/rest-values.ts), plus the default a NOT NULL column gets.
 *
 * Derived from these tables (nothing else names a synced field):
 *  - src/sync/map.ts       the REST `select` lists (restSelect) and the mappers REST row → store
 *                          input (readRest; the deal mapper adds the derived fields);
 *  - ./crm.ts              the input and row types (InputOf / RowOf), the upsert column specs
 *                          (upsertCols) and the SELECT lists of the reads (selectList);
 *  - test/integration/store-crm-fields.test.ts  the declared columns, types and keys = the
 *                          migrated tables (information_schema), so the two cannot drift.
 * The schema itself is the migrations' (./migrations, history): a new synced field is a new
 * migration plus one row here.
 *
 * Why in src/store: the store derives its SQL from the tables and may not import src/sync
 * (data flows portal → b24 → sync → store); src/sync imports them from here.
 *
 * A field without REST names is not read from the portal: computed by the mapper (a deal's
 * opportunityBase, lossReason; a product row's sectionId), by SQL (sections.depth), or app-side
 * (raw). A REST-only row (deals' CONTACT_IDS) is selected and read but has no column of its own.
 */
import { channelValues, int, numOrNull, str, ufOf, yn } from '../bitrix/rest-values.js';
import { dateOnly, json, ts, type Col, type Timestamp } from './bulk.js';

type Row = Record<string, unknown>;
type N<T> = T | null | undefined;

/** PostgreSQL type of a column as an upsert sends it (the array parameter's element type). */
export type SqlType = 'bigint' | 'integer' | 'text' | 'numeric' | 'boolean' | 'timestamptz' | 'date' | 'jsonb';

/** One field: `In` is what the app hands the store, `Out` what the store's reads give back. */
export interface Field<In, Out> {
  /** Store column; null for a REST-only field (read by the mapper into another table). */
  readonly column: string | null;
  readonly sql: SqlType;
  /** REST names, in the order tried (`row.id ?? row.ID`); [] = not read from REST. */
  readonly rest: readonly string[];
  /** REST row → input value; null = not read from REST. */
  readonly read: ((row: Row) => N<In>) | null;
  /** Input value → upsert parameter (NOT NULL defaults, timestamp / date / JSON formatting). */
  param(v: N<In>): unknown;
  /** Required in the input rows (the key columns). */
  readonly required: boolean;
  /** Written by the upserts (false: filled by SQL, e.g. sections.depth). */
  readonly upsert: boolean;
  /** Read back by the SELECT lists (false: raw). */
  readonly selected: boolean;
  /** Type only (never set): the input type and what the reads return. */
  readonly types?: { readonly in: In; readonly out: Out };
}

type AnyField = Field<unknown, unknown>;
export type Fields = Record<string, AnyField>;

export interface CrmTable<F extends Fields = Fields> {
  /** Store table. */
  readonly table: string;
  /** Primary-key columns after portal_id (the upserts' ON CONFLICT target). */
  readonly key: readonly string[];
  /** Rows carry sync_run_id (the full-sync sweep deletes rows a run did not see). */
  readonly runTagged: boolean;
  readonly fields: F;
}

// ---- builders ------------------------------------------------------------------------

type Rest = string | readonly string[];
interface Options<In> {
  param?: (v: N<In>) => unknown;
  upsert?: boolean;
  selected?: boolean;
}

/** The value of the first REST name that is not null / undefined (`row.a ?? row.b`). */
function restValue(row: Row, names: readonly string[]): unknown {
  let v: unknown;
  for (const n of names) v = v ?? row[n];
  return v;
}

function field<In, Out>(column: string | null, sql: SqlType, rest: Rest | undefined, conv: ((v: unknown) => N<In>) | null, o: Options<In> = {}): Field<In, Out> {
  const names = rest === undefined ? [] : typeof rest === 'string' ? [rest] : [...rest];
  return {
    column,
    sql,
    rest: names,
    read: conv && names.length ? (row) => conv(restValue(row, names)) : null,
    param: o.param ?? ((v) => v),
    required: false,
    upsert: o.upsert ?? true,
    selected: o.selected ?? true,
  };
}

const required = <In, Out>(f: Field<In, Out>): Field<In, Out> & { readonly required: true } => ({ ...f, required: true });

const id = (rest?: Rest, sql: 'bigint' | 'integer' = 'bigint') => required(field<number, number>('id', sql, rest, Number));
const text = (column: string, rest?: Rest) => field<string, string | null>(column, 'text', rest, str);
const bigint = (column: string, rest?: Rest) => field<number, number | null>(column, 'bigint', rest, int);
const integer = (column: string, rest?: Rest) => field<number, number | null>(column, 'integer', rest, int);
const numeric = (column: string, rest?: Rest) => field<number, number | null>(column, 'numeric', rest, numOrNull);
/** boolean NOT NULL DEFAULT false: a missing value is stored as false. */
const flag = (column: string, rest?: Rest) => field<boolean, boolean>(column, 'boolean', rest, yn, { param: (v) => v ?? false });
const timestamp = (column: string, rest: Rest) => field<Timestamp, Date | null>(column, 'timestamptz', rest, str, { param: ts });
/** date: a datetime from REST is stored as its 'YYYY-MM-DD' part. */
const date = (column: string, rest: Rest) => field<Timestamp, string | null>(column, 'date', rest, str, { param: dateOnly });
/** uf jsonb NOT NULL: the row's UF_* values as sent (UF_* in the select). */
const userFields = (): Field<Record<string, unknown>, Record<string, unknown>> => ({
  ...field<Record<string, unknown>, Record<string, unknown>>('uf', 'jsonb', 'UF_*', null, { param: (v) => json(v ?? {}) }),
  read: ufOf,
});
/**
 * std jsonb NOT NULL: the row's other standard fields (select '*'): every scalar value under a
 * REST name the table has no field for (ID, UF_* and multi-fields left out), empty ones ('' and
 * null) left out. What the filters on "any standard field" read (src/segments/customer.ts); not
 * read back by the store's SELECT lists.
 */
const standardFields = (table: string): Field<Record<string, unknown>, never> & { readonly selected: false } => ({
  ...field<Record<string, unknown>, never>('std', 'jsonb', '*', null, { param: (v) => json(v ?? {}), selected: false }),
  selected: false,
  read: (row) => {
    const known = OWN_REST.get(table) ?? new Set<string>();
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(row)) {
      if (known.has(k) || k.startsWith('UF_') || !/^[A-Z][A-Z0-9_]*$/.test(k)) continue;
      if (v === null || v === undefined || v === '' || typeof v === 'object') continue;
      out[k] = v;
    }
    return out;
  },
});
/** jsonb NOT NULL: a multi-field's normalised values (channelValues), e.g. ["a@b.example"]; [] when none. */
const channels = (column: string, rest: 'EMAIL' | 'PHONE') =>
  field<string[], string[]>(column, 'jsonb', rest, (v) => channelValues(v, rest), { param: (v) => json(v ?? []) });
/** REST names a table has fields for (filled below the tables): what standardFields leaves out. */
const OWN_REST = new Map<string, ReadonlySet<string>>();
/** raw jsonb: the REST row as received, if the caller keeps it (the sync does not); not read back. */
const raw = () => field<unknown, never>('raw', 'jsonb', undefined, null, { param: json, selected: false }) as Field<unknown, never> & { readonly selected: false };

export type StageSemantic = 'P' | 'S' | 'F';

/** A deal's STAGE_SEMANTIC_ID: S / F as sent, anything else non-empty is in progress (P). */
function dealSemantic(v: unknown): StageSemantic | null {
  return v === 'S' || v === 'F' || v === 'P' ? v : v === null || v === undefined || v === '' ? null : 'P';
}

/** Deal contact IDs (CONTACT_IDS / contactIds): one or many, positive numbers only. */
function contactIds(v: unknown): number[] {
  return (Array.isArray(v) ? v : v === null || v === undefined || v === '' ? [] : [v]).map(Number).filter((n) => Number.isFinite(n) && n > 0);
}

const table = <F extends Fields>(name: string, key: readonly string[], runTagged: boolean, fields: F): CrmTable<F> => ({ table: name, key, runTagged, fields });

// ---- the tables ----------------------------------------------------------------------
// key:            column             REST (legacy names; crm.item rows arrive mapped to them)

/** crm.contact.list */
export const CONTACTS = table('contacts', ['id'], true, {
  id:           id('ID'),
  name:         text('name',           'NAME'),
  secondName:   text('second_name',    'SECOND_NAME'),
  lastName:     text('last_name',      'LAST_NAME'),
  typeId:       text('type_id',        'TYPE_ID'),
  sourceId:     text('source_id',      'SOURCE_ID'),
  assignedById: bigint('assigned_by_id', 'ASSIGNED_BY_ID'),
  companyId:    bigint('company_id',   'COMPANY_ID'),
  city:         text('city',           'ADDRESS_CITY'),
  hasPhone:     flag('has_phone',      'HAS_PHONE'),
  hasEmail:     flag('has_email',      'HAS_EMAIL'),
  /** the e-mails and phones, normalised (duplicate check, src/store/data-quality.ts) */
  emails:       channels('emails',     'EMAIL'),
  phones:       channels('phones',     'PHONE'),
  dateCreate:   timestamp('date_create', 'DATE_CREATE'),
  dateModify:   timestamp('date_modify', 'DATE_MODIFY'),
  /** date of birth (the age filter) */
  birthdate:    date('birthdate',      'BIRTHDATE'),
  /** job title */
  post:         text('post',           'POST'),
  /** the other standard fields (standardFields) */
  std:          standardFields('contacts'),
  /** UF_CRM_SEG_* values currently in the CRM (what write-back last wrote, or edits). */
  uf:           userFields(),
  raw:          raw(),
});

/** crm.company.list */
export const COMPANIES = table('companies', ['id'], true, {
  id:           id('ID'),
  title:        text('title',          'TITLE'),
  companyType:  text('company_type',   'COMPANY_TYPE'),
  industry:     text('industry',       'INDUSTRY'),
  revenue:      numeric('revenue',     'REVENUE'),
  /** company size: a CRM status id of the EMPLOYEES list (e.g. EMPLOYEES_2) */
  employees:    text('employees',      'EMPLOYEES'),
  currencyId:   text('currency_id',    'CURRENCY_ID'),
  sourceId:     text('source_id',      'SOURCE_ID'),
  assignedById: bigint('assigned_by_id', 'ASSIGNED_BY_ID'),
  city:         text('city',           'ADDRESS_CITY'),
  hasPhone:     flag('has_phone',      'HAS_PHONE'),
  hasEmail:     flag('has_email',      'HAS_EMAIL'),
  emails:       channels('emails',     'EMAIL'),
  phones:       channels('phones',     'PHONE'),
  dateCreate:   timestamp('date_create', 'DATE_CREATE'),
  dateModify:   timestamp('date_modify', 'DATE_MODIFY'),
  /** the other standard fields (standardFields; migration 020) */
  std:          standardFields('companies'),
  uf:           userFields(),
  raw:          raw(),
});

/** crm.item.list entityTypeId 2 (rows mapped to the legacy names by src/b24/fields.ts) */
export const DEALS = table('deals', ['id'], true, {
  id:              id('ID'),
  title:           text('title',        'TITLE'),
  typeId:          text('type_id',      'TYPE_ID'),
  /** integer NOT NULL DEFAULT 0: the general funnel */
  categoryId:      field<number, number>('category_id', 'integer', 'CATEGORY_ID', (v) => int(v) ?? 0, { param: (v) => v ?? 0 }),
  stageId:         text('stage_id',     'STAGE_ID'),
  stageSemantic:   field<StageSemantic, StageSemantic | null>('stage_semantic', 'text', 'STAGE_SEMANTIC_ID', dealSemantic),
  currencyId:      text('currency_id',  'CURRENCY_ID'),
  opportunity:     numeric('opportunity', 'OPPORTUNITY'),
  /** opportunity converted to the portal's base currency (src/sync/map.ts). */
  opportunityBase: numeric('opportunity_base'),
  closeDate:       date('close_date',   'CLOSEDATE'),
  beginDate:       date('begin_date',   'BEGINDATE'),
  dateCreate:      timestamp('date_create', 'DATE_CREATE'),
  dateModify:      timestamp('date_modify', 'DATE_MODIFY'),
  assignedById:    bigint('assigned_by_id', 'ASSIGNED_BY_ID'),
  companyId:       bigint('company_id', 'COMPANY_ID'),
  sourceId:        text('source_id',    'SOURCE_ID'),
  /**
   * Not filled any more (kept for stored rows): the reason of a lost deal is resolved when scoring,
   * from the deal's stage or user field as settings.refusal says (src/pipeline/refusal.ts).
   */
  lossReason:      text('loss_reason'),
  /** The deal↔contact links: deal_contacts rows (src/sync/map.ts), not a deals column. */
  contactIds:      field<number[], never>(null, 'bigint', 'CONTACT_IDS', contactIds, { upsert: false, selected: false }) as Field<number[], never> & { readonly column: null },
  uf:              userFields(),
  raw:             raw(),
});

/** Derived from deals' CONTACT_IDS (or crm.deal.contact.items.get); no REST fields of its own. */
export const DEAL_CONTACTS = table('deal_contacts', ['deal_id', 'contact_id'], false, {
  dealId:    required(bigint('deal_id')),
  contactId: required(bigint('contact_id')),
  sort:      field<number, number>('sort', 'integer', undefined, null, { param: (v) => v ?? 0 }),
  isPrimary: flag('is_primary'),
});

/** crm.item.productrow.list (camelCase) or crm.deal.productrows.get (legacy names) */
export const PRODUCT_ROWS = table('product_rows', ['id'], true, {
  id:          id(['id', 'ID']),
  dealId:      required(field<number, number>('deal_id', 'bigint', ['ownerId', 'OWNER_ID'], Number)),
  productId:   bigint('product_id',    ['productId', 'PRODUCT_ID']),
  productName: text('product_name',    ['productName', 'PRODUCT_NAME']),
  price:       numeric('price',        ['price', 'PRICE']),
  quantity:    numeric('quantity',     ['quantity', 'QUANTITY']),
  discountSum: numeric('discount_sum', ['discountSum', 'DISCOUNT_SUM']),
  taxRate:     numeric('tax_rate',     ['taxRate', 'TAX_RATE']),
  measureName: text('measure_name',    ['measureName', 'MEASURE_NAME']),
  sort:        integer('sort',         ['sort', 'SORT']),
  /** The product's section at sync time (src/sync/map.ts, resolveProductRowSections). */
  sectionId:   bigint('section_id'),
});

/** crm.product.list */
export const PRODUCTS = table('products', ['id'], true, {
  id:         id('ID'),
  name:       text('name',        'NAME'),
  sectionId:  bigint('section_id', 'SECTION_ID'),
  catalogId:  bigint('catalog_id', 'CATALOG_ID'),
  price:      numeric('price',    'PRICE'),
  currencyId: text('currency_id', 'CURRENCY_ID'),
  /** null when the portal did not send ACTIVE */
  active:     field<boolean, boolean | null>('active', 'boolean', 'ACTIVE', (v) => (v === undefined || v === null ? null : yn(v))),
  /**
   * The catalog's purchase price and its currency (migration 010; the effectiveness margin). Not in
   * crm.product.list: the catalog API (catalog.product.list purchasingPrice / purchasingCurrency,
   * `catalog` scope) has them; src/sync/purchase-prices.ts stores them. Not written by the product
   * upserts, so a sync of crm.product.list never clears them; null until the catalog gives one.
   */
  purchasingPrice:    field<never, number | null>('purchasing_price', 'numeric', undefined, null, { upsert: false }) as Field<never, number | null> & { readonly upsert: false },
  purchasingCurrency: field<never, string | null>('purchasing_currency', 'text', undefined, null, { upsert: false }) as Field<never, string | null> & { readonly upsert: false },
  raw:        raw(),
});

/** crm.productsection.list */
export const SECTIONS = table('sections', ['id'], true, {
  id:        id('ID'),
  parentId:  bigint('parent_id',  'SECTION_ID'),
  catalogId: bigint('catalog_id', 'CATALOG_ID'),
  name:      text('name',         'NAME'),
  /** 0 for a root section; filled by recomputeSectionDepths (./crm.ts) */
  depth:     field<never, number | null>('depth', 'integer', undefined, null, { upsert: false }) as Field<never, number | null> & { readonly upsert: false },
});

/** crm.status.list, ENTITY_ID DEAL_STAGE* */
export const STAGES = table('stages', ['entity_id', 'status_id'], false, {
  entityId:   required(field<string, string>('entity_id', 'text', 'ENTITY_ID', String)),
  statusId:   required(field<string, string>('status_id', 'text', 'STATUS_ID', String)),
  name:       text('name',         'NAME'),
  /** S / F as sent, anything else (null from Bitrix: in progress) is stored as 'P'. */
  semantics:  field<StageSemantic, StageSemantic>('semantics', 'text', 'SEMANTICS', (s) => (s === 'S' || s === 'F' ? s : 'P'), { param: (v) => v ?? 'P' }),
  categoryId: integer('category_id', 'CATEGORY_ID'),
  sort:       integer('sort',      'SORT'),
  color:      text('color',        'COLOR'),
});

/** crm.category.list entityTypeId 2 (camelCase) */
export const FUNNELS = table('funnels', ['id'], false, {
  id:        id('id', 'integer'),
  name:      text('name',       'name'),
  sort:      integer('sort',    'sort'),
  isDefault: flag('is_default', 'isDefault'),
});

/** crm.currency.list (AMOUNT / AMOUNT_CNT: the rate relative to the base currency) */
export const CURRENCIES = table('currencies', ['code'], false, {
  code:      required(field<string, string>('code', 'text', 'CURRENCY', String)),
  amount:    required(field<number, number>('amount', 'numeric', 'AMOUNT', Number)),
  /** integer NOT NULL DEFAULT 1 */
  amountCnt: field<number, number>('amount_cnt', 'integer', 'AMOUNT_CNT', (v) => int(v) ?? 1, { param: (v) => v ?? 1 }),
  base:      flag('base',       'BASE'),
  sort:      integer('sort',    'SORT'),
});

for (const t of [CONTACTS, COMPANIES]) OWN_REST.set(t.table, new Set(Object.values(t.fields).flatMap((f) => f.rest)));

/** A lead's STATUS_SEMANTIC_ID: S (converted) / F (junk) as sent, anything else non-empty is in progress. */
const leadSemantic = dealSemantic;

/** A link of a lead: crm.lead.list answers "0" when there is none (crm-lead-list.md): stored as null. */
const link = (column: string, rest: Rest) => field<number, number | null>(column, 'bigint', rest, (v) => {
  const n = int(v);
  return n !== null && n !== undefined && n > 0 ? n : null;
});

/** crm.lead.list (legacy names; migration 009) */
export const LEADS = table('leads', ['id'], true, {
  id:             id('ID'),
  title:          text('title',          'TITLE'),
  statusId:       text('status_id',      'STATUS_ID'),
  statusSemantic: field<StageSemantic, StageSemantic | null>('status_semantic', 'text', 'STATUS_SEMANTIC_ID', leadSemantic),
  sourceId:       text('source_id',      'SOURCE_ID'),
  contactId:      link('contact_id',     'CONTACT_ID'),
  companyId:      link('company_id',     'COMPANY_ID'),
  assignedById:   bigint('assigned_by_id', 'ASSIGNED_BY_ID'),
  opportunity:    numeric('opportunity', 'OPPORTUNITY'),
  currencyId:     text('currency_id',    'CURRENCY_ID'),
  dateCreate:     timestamp('date_create', 'DATE_CREATE'),
  dateModify:     timestamp('date_modify', 'DATE_MODIFY'),
  dateClosed:     timestamp('date_closed', 'DATE_CLOSED'),
});

/** An enumeration item of a deal user field, as crm.deal.fields lists it ({ID, VALUE}). */
export interface FieldItem { id: string; value: string }

function fieldItems(v: unknown): FieldItem[] {
  if (!Array.isArray(v)) return [];
  return v
    .map((i) => (i && typeof i === 'object' ? (i as Row) : {}))
    .filter((i) => i.ID !== undefined && i.ID !== null)
    .map((i) => ({ id: String(i.ID), value: String(i.VALUE ?? '') }));
}

/**
 * crm.deal.fields, the user fields only (migration 009), one row per field. The mapper
 * (src/sync/map.ts mapDealFields) turns the answer's {NAME: description} into rows with these
 * REST names.
 */
export const DEAL_FIELDS = table('deal_fields', ['field_name'], false, {
  fieldName:  required(field<string, string>('field_name', 'text', 'FIELD_NAME', String)),
  userTypeId: text('user_type_id', 'USER_TYPE_ID'),
  multiple:   flag('multiple',     'MULTIPLE'),
  label:      text('label',        'LABEL'),
  items:      field<FieldItem[], FieldItem[]>('items', 'jsonb', 'ITEMS', fieldItems, { param: (v) => json(v ?? []) }),
});

/** Every table above (the schema drift test walks them). */
export const CRM_TABLES: readonly CrmTable[] = [CONTACTS, COMPANIES, DEALS, DEAL_CONTACTS, PRODUCT_ROWS, PRODUCTS, SECTIONS, STAGES, FUNNELS, CURRENCIES, LEADS, DEAL_FIELDS];

// ---- derived types -------------------------------------------------------------------

type InOf<F> = F extends { types?: { in: infer I } } ? I : never;
type OutOf<F> = F extends { types?: { out: infer O } } ? O : never;
type Flat<T> = { [K in keyof T]: T[K] } & {};
type Stored<F extends Fields> = { [K in keyof F as F[K] extends { column: null } | { upsert: false } ? never : K]: F[K] };

/** The input row an upsert takes: key fields required, the rest optional (null / undefined = empty). */
export type InputOf<T extends CrmTable> = Flat<
  { [K in keyof Stored<T['fields']> as Stored<T['fields']>[K] extends { required: true } ? K : never]: InOf<Stored<T['fields']>[K]> } & {
    [K in keyof Stored<T['fields']> as Stored<T['fields']>[K] extends { required: true } ? never : K]?: N<InOf<Stored<T['fields']>[K]>>;
  }
>;

/** The row a SELECT of every selected field returns (selectList). */
export type RowOf<T extends CrmTable> = Flat<{
  [K in keyof T['fields'] as T['fields'][K] extends { column: null } | { selected: false } ? never : K]: OutOf<T['fields'][K]>;
}>;

// ---- derived lists -------------------------------------------------------------------

const entries = (t: CrmTable): Array<[string, AnyField]> => Object.entries(t.fields);

/** The REST `select` list (legacy names): every REST name of the table's fields, in table order. */
export function restSelect(t: CrmTable): string[] {
  return [...new Set(entries(t).flatMap(([, f]) => f.rest))];
}

/** REST row → the store input of the table (fields without REST names are left out). */
export function readRest<T extends CrmTable>(t: T, row: Row): InputOf<T> {
  const out: Row = {};
  for (const [k, f] of entries(t)) if (f.read && f.column !== null) out[k] = f.read(row);
  return out as InputOf<T>;
}

/** The upsert column specs (src/store/bulk.ts) of the table. */
export function upsertCols<T extends CrmTable>(t: T): Col<InputOf<T>>[] {
  return entries(t)
    .filter(([, f]) => f.column !== null && f.upsert)
    .map(([k, f]) => ({ name: f.column!, type: f.sql, get: (r: InputOf<T>) => f.param((r as Row)[k] as never) }));
}

/**
 * SELECT list of the table's selected fields, aliased to their keys: `second_name AS "secondName"`.
 * `alias` prefixes the columns (`d.id`); `only` picks and orders the fields.
 */
export function selectList<T extends CrmTable>(t: T, o: { alias?: string; only?: ReadonlyArray<keyof T['fields'] & string> } = {}): string {
  const all = new Map(entries(t));
  const keys = o.only ?? entries(t).filter(([, f]) => f.selected && f.column !== null).map(([k]) => k);
  return keys
    .map((k) => {
      const col = all.get(k)!.column!;
      return `${o.alias ? `${o.alias}.` : ''}${col}${col === k ? '' : ` AS "${k}"`}`;
    })
    .join(', ');
}
