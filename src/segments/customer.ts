/**
 * Conditions on what a customer is rather than what they bought (issue 14 item 7): age from the
 * date of birth, job title, created on, the contact's company (industry, size, revenue) and any
 * standard or custom field (`crm`: a contact's, or over companies the company's own: migration
 * 020), as SQL over a contacts row (columns of migration 012) or a company_customers row, or, for
 * the live count, over label_facts' copies of the birth date, created day and company (migrations
 * 012, 027; label_facts codes the job title, and a `crm` condition there reads the label's contact:
 * facts.ts). A contact's std / uf fields are read from contact_field_values (migration 021: one
 * indexed row per value). User input only as bind parameters; field names as parameters, or from
 * the fixed map below.
 */
import type { Condition } from '../settings/segment-filter.js';
import { FilterError } from './errors.js';
import { fromAsOfDay } from './label-extras.js';
import { escapeLike, type Params, rangeSql } from './sql.js';

type Of<F extends Condition['field']> = Extract<Condition, { field: F }>;

/**
 * Where the named conditions read the customer: the contacts row (alias c) or label_facts' copies
 * (migrations 012, 027: birthdate, created as the UTC day, company_id).
 */
export interface CustomerCols {
  birthdate: string;
  /** the job title; label_facts codes it instead (migration 028: facts.ts) */
  post?: string;
  /** the created day (date) */
  created: string;
  companyId: string;
  /**
   * The columns as stored, NOT NULL with a value for none (label_facts, migration 027): 'infinity'
   * for no birth date or created day, 0 for no company. Tests read these as they are (`< 'infinity'`
   * for "has one"; company-sets.ts's bit test) instead of the NULLIF above per use.
   */
  stored?: { birthdate: string; created: string; companyId: string };
}
export const contactCols = (c: string): CustomerCols => ({
  birthdate: `${c}.birthdate`, post: `${c}.post`, created: `(${c}.date_create AT TIME ZONE 'UTC')::date`, companyId: `${c}.company_id`,
});
/**
 * A company's row (company_customers as c, compile.ts): created is the company's own DATE_CREATE,
 * and industry, size and revenue are the company's own (its id). Birth date and job title do not
 * exist for companies: CONTACT_ONLY_FIELDS are refused before these columns are read.
 */
export const companyCols = (c: string): CustomerCols => ({
  birthdate: 'NULL::date', post: 'NULL::text', created: `(${c}.date_create AT TIME ZONE 'UTC')::date`, companyId: `${c}.id`,
});
/**
 * Conditions about a person and a fixed list of contacts (`contact`: its ids are contact ids, never
 * company ids): 400 CONDITION_NOT_FOR_COMPANIES over companies. Any field (`crm`) is the company's
 * own field there (COMPANY_COLUMN_TEXT).
 */
export const CONTACT_ONLY_FIELDS: ReadonlySet<string> = new Set(['age', 'post', 'contact']);
/**
 * label_facts' copies (migrations 012, 027): a missing birth date or created day is kept as
 * 'infinity', no company as 0 (fixed-width NOT NULL columns), read back as NULL here.
 */
export const FACTS_COLS: CustomerCols = {
  birthdate: "NULLIF(l.birthdate, 'infinity'::date)", created: "NULLIF(l.created, 'infinity'::date)", companyId: 'NULLIF(l.company_id, 0)',
  stored: { birthdate: 'l.birthdate', created: 'l.created', companyId: 'l.company_id' },
};

/** The fields these conditions are on (all read the contact; needsContacts, bounds.ts). */
export const CUSTOMER_FIELDS: ReadonlySet<string> = new Set(['age', 'post', 'created', 'company_industry', 'company_size', 'company_revenue', 'crm']);

/**
 * Standard fields the contacts table keeps in columns of its own (src/store/crm-fields.ts
 * CONTACTS), as text the way the REST API sends them; every other standard field is in c.std
 * and every custom one in c.uf, under its REST name.
 */
const COLUMN_TEXT: Readonly<Record<string, (c: string) => string>> = {
  NAME: (c) => `${c}.name`, SECOND_NAME: (c) => `${c}.second_name`, LAST_NAME: (c) => `${c}.last_name`,
  TYPE_ID: (c) => `${c}.type_id`, SOURCE_ID: (c) => `${c}.source_id`, POST: (c) => `${c}.post`, ADDRESS_CITY: (c) => `${c}.city`,
  ASSIGNED_BY_ID: (c) => `${c}.assigned_by_id::text`, COMPANY_ID: (c) => `${c}.company_id::text`,
  HAS_PHONE: (c) => `CASE WHEN ${c}.has_phone THEN 'Y' ELSE 'N' END`, HAS_EMAIL: (c) => `CASE WHEN ${c}.has_email THEN 'Y' ELSE 'N' END`,
  BIRTHDATE: (c) => `to_char(${c}.birthdate, 'YYYY-MM-DD')`,
  DATE_CREATE: (c) => `to_char(${c}.date_create AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')`,
  DATE_MODIFY: (c) => `to_char(${c}.date_modify AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')`,
};

/**
 * The same for a company (company_customers, migration 008 and 020; src/store/crm-fields.ts
 * COMPANIES): TITLE is the view's name; every other standard field is in c.std, custom ones in c.uf.
 */
const COMPANY_COLUMN_TEXT: Readonly<Record<string, (c: string) => string>> = {
  TITLE: (c) => `${c}.name`, COMPANY_TYPE: (c) => `${c}.company_type`, INDUSTRY: (c) => `${c}.industry`, EMPLOYEES: (c) => `${c}.employees`,
  REVENUE: (c) => `${c}.revenue::text`, CURRENCY_ID: (c) => `${c}.currency_id`, SOURCE_ID: (c) => `${c}.source_id`,
  ASSIGNED_BY_ID: (c) => `${c}.assigned_by_id::text`, ADDRESS_CITY: (c) => `${c}.city`,
  HAS_PHONE: COLUMN_TEXT.HAS_PHONE!, HAS_EMAIL: COLUMN_TEXT.HAS_EMAIL!, DATE_CREATE: COLUMN_TEXT.DATE_CREATE!, DATE_MODIFY: COLUMN_TEXT.DATE_MODIFY!,
};

/** Whose fields a `crm` condition reads: the columns each kind keeps a standard field in. */
export type FieldOwner = 'contact' | 'company';
const COLUMNS_OF: Readonly<Record<FieldOwner, Readonly<Record<string, (c: string) => string>>>> = { contact: COLUMN_TEXT, company: COMPANY_COLUMN_TEXT };

/** REST names of the standard fields with a column of their own (no key in std), per kind. */
export const COLUMN_FIELD_KEYS: Readonly<Record<FieldOwner, ReadonlySet<string>>> = {
  contact: new Set(Object.keys(COLUMN_TEXT)), company: new Set(Object.keys(COMPANY_COLUMN_TEXT)),
};

/** The field's value as jsonb (a scalar, an array for a multiple field, or NULL). */
function fieldJson(key: string, ps: Params, c: string, owner: FieldOwner): string {
  const col = COLUMNS_OF[owner][key];
  if (col) return `to_jsonb(${col(c)})`;
  return `${c}.${key.startsWith('UF_') ? 'uf' : 'std'}->${ps.p(key)}::text`;
}

/**
 * Does any non-empty value of the field (each element of a multiple one) satisfy cond(v)? v is
 * text. A single value is tested as it is (no set-returning function per row); an array's elements
 * one by one.
 */
function anyValue(j: string, cond: (v: string) => string): string {
  const one = `(${j} #>> '{}')`;
  return `(CASE WHEN jsonb_typeof(${j}) = 'array'
    THEN EXISTS (SELECT 1 FROM jsonb_array_elements_text(${j}) e(v) WHERE e.v <> '' AND ${cond('e.v')})
    ELSE COALESCE(${one} <> '' AND ${cond(one)}, false) END)`;
}

/** A value as a number ('1500', '1500.5', money '1500|EUR'), else NULL. */
const asNumber = (v: string) => `(CASE WHEN split_part(${v}, '|', 1) ~ '^\\s*-?[0-9]+(\\.[0-9]+)?\\s*$' THEN split_part(${v}, '|', 1)::numeric END)`;
/** A value as a day ('2024-05-01', '2024-05-01T10:00:00+03:00': the day as the portal wrote it), else NULL. */
const asDay = (v: string) => `(CASE WHEN ${v} ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}' THEN to_date(left(${v}, 10), 'YYYY-MM-DD') END)`;
const not = (pred: string) => `NOT COALESCE(${pred}, false)`;

export function need<T>(v: T | undefined | null, what: string): T {
  if (v === undefined || v === null || (Array.isArray(v) && v.length === 0)) throw new FilterError(`${what} required`);
  return v;
}

/** from ≤ day ≤ to, and day ≥ as-of − days (each part when given). */
function daySql(day: string, from: unknown, to: unknown, days: number | null | undefined, ps: Params): string {
  const parts = [rangeSql(day, from, to, ps, 'date')];
  if (days !== undefined && days !== null) parts.push(`${day} >= ${fromAsOfDay((d) => `${d} - ${ps.p(days)}::int`)}`);
  return parts.join(' AND ');
}

/** A number as PostgreSQL's numeric prints it (no exponent, no '+'): the only numbers `#>> '{}'` gives. */
const PRINTED_NUMBER = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/;
/** jsonb refuses these in a string (the driver would send U+FFFD for them in a text parameter). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * The jsonb objects one of which c.std / c.uf contains (`@>`) whenever the field has one of the
 * values as it is (a single value) or among its elements (a multiple one): per value the string
 * and, when the value is how PostgreSQL prints a number or a boolean, that number or boolean, each
 * alone and in an array. Null when a value cannot be put so (a NUL or a lone surrogate, or JSON
 * that is an object or array): then no index test, only the exact one.
 */
function containmentCandidates(key: string, values: readonly string[]): string[] | null {
  const out: string[] = [];
  const k = JSON.stringify(key);
  for (const v of values) {
    if (v.includes('\u0000') || LONE_SURROGATE.test(v)) return null;
    const forms = [JSON.stringify(v)];
    if (PRINTED_NUMBER.test(v) || v === 'true' || v === 'false') forms.push(v);
    else if (/^\s*[[{]/.test(v)) return null;
    for (const f of forms) out.push(`{${k}:${f}}`, `{${k}:[${f}]}`);
  }
  return out;
}

/** Every text whose upper case is 'Y', '1' or 'TRUE' (what `is` 'Y' accepts): y, 1 and each spelling of true. */
export const YES_SPELLINGS = ['Y', 'y', '1', ...Array.from({ length: 16 }, (_, m) => [...'true'].map((ch, i) => (m & (1 << i) ? ch.toUpperCase() : ch)).join(''))];

/**
 * `in` (or `is` 'Y': one of YES_SPELLINGS) on a field kept in c.std / c.uf of a row read here (a
 * company; a contact's fields are read from contact_field_values): a containment test first (a
 * GIN index, as contacts had in migration 013, could answer it), then the exact test. The containment test is true whenever the exact one is (a
 * number or an object contains more), so the results are the exact test's.
 */
function withValuesOf(key: string, values: readonly string[], ps: Params, c: string, exact: string, owner: FieldOwner): string {
  const cands = COLUMNS_OF[owner][key] ? null : containmentCandidates(key, values);
  if (!cands) return exact;
  return `(${c}.${key.startsWith('UF_') ? 'uf' : 'std'} @> ANY(${ps.p(cands)}::jsonb[]) AND ${exact})`;
}

/**
 * A condition that can only hold on a row that has the field, on a standard field kept in c.std
 * (which leaves empty values out, migrations 012 and 020): `std ? key` first, a cheap test before
 * the exact one. Custom fields are in every row's uf (empty or not): no such test there.
 */
function withKeyOf(key: string, ps: Params, c: string, exact: string, owner: FieldOwner): string {
  if (COLUMNS_OF[owner][key] || key.startsWith('UF_')) return exact;
  return `(${c}.std ? ${ps.p(key)}::text AND ${exact})`;
}

/**
 * Does the field of a `crm` condition on a contact live in contact_field_values (migration 021)?
 * Every standard field kept in c.std and every custom one in c.uf does; the standard fields with a
 * column of their own (COLUMN_TEXT) are read from that column.
 */
export const readsFieldValues = (key: string, owner: FieldOwner = 'contact'): boolean => owner === 'contact' && !COLUMN_TEXT[key];

/** The operator whose negation an operator is (`is` 'N' is the negation of `is` 'Y'). */
const NEGATED: Partial<Record<Of<'crm'>['op'], Of<'crm'>['op']>> = { empty: 'not_empty', neq: 'eq', not_contains: 'contains', not_in: 'in' };

/** A `crm` condition as a positive one and whether the condition is its negation. */
export function positiveOf(x: Of<'crm'>): { pos: Of<'crm'>; negated: boolean } {
  if (x.op === 'is') return { pos: { ...x, value: 'Y' }, negated: x.value === 'N' };
  const op = NEGATED[x.op];
  return op ? { pos: { ...x, op }, negated: true } : { pos: x, negated: false };
}

/**
 * The test of one contact_field_values row v (migration 021: one row per non-empty value, each
 * element of a multiple field, with its text, number and day as jsonFieldCondition reads them) for
 * a positive operator (positiveOf). A value longer than an index entry is kept as overlapping parts
 * (chunk): `contains` reads them, the equality operators skip them (no value a filter takes is that
 * long).
 */
export function fieldValueTest(x: Of<'crm'>, ps: Params, what = `${x.key} ${x.op}`): string {
  switch (x.op) {
    case 'not_empty':
      return 'true';
    case 'eq':
      return `NOT v.chunk AND lower(v.value_text) = ${ps.p(need(x.value, `${what}: a value`).toLowerCase())}::text`;
    case 'contains':
      // a long value's parts overlap by the longest value a filter takes: one holds the text if the value does
      return `v.value_text ILIKE ${ps.p(`%${escapeLike(need(x.value, `${what}: a value`))}%`)}::text`;
    case 'in':
      return `v.value_text = ANY(${ps.p(need(x.values, `${what}: values`))}::text[]) AND NOT v.chunk`;
    case 'range':
      if ((x.min ?? null) === null && (x.max ?? null) === null) throw new FilterError(`${what}: min or max required`);
      return rangeSql('v.value_num', x.min, x.max, ps, 'numeric');
    case 'dates':
      if (!x.from && !x.to && (x.days ?? null) === null) throw new FilterError(`${what}: from, to or days required`);
      return `v.value_day IS NOT NULL AND ${daySql('v.value_day', x.from, x.to, x.days, ps)}`;
    case 'is':
      if (x.value !== 'Y') throw new FilterError(`${what}: value 'Y' or 'N' required`);
      return `v.value_text = ANY(${ps.p(YES_SPELLINGS)}::text[]) AND NOT v.chunk AND upper(v.value_text) IN ('Y', '1', 'TRUE')`;
    default:
      throw new FilterError(`${what}: not a positive operator`);
  }
}

/**
 * A `crm` condition over contact_field_values: "some value of the contact `id` satisfies it", a
 * semi-join over the field's index entries (index-only), or its negation (an anti-join).
 */
function fieldValuesCondition(x: Of<'crm'>, ps: Params, id: string): string {
  if (x.op === 'is' && x.value !== 'Y' && x.value !== 'N') throw new FilterError(`${x.key} is: value 'Y' or 'N' required`);
  const { pos, negated } = positiveOf(x);
  const has = `EXISTS (SELECT 1 FROM contact_field_values v WHERE v.portal_id = $1 AND v.field = ${ps.p(x.key)}::text AND v.contact_id = ${id} AND ${fieldValueTest(pos, ps, `${x.key} ${x.op}`)})`;
  return negated ? `NOT ${has}` : has;
}

/**
 * A `crm` condition: any standard or custom field of the `owner` (a contacts row, or a
 * company_customers row) with the operators of its type. On a contact, a field kept in std or uf
 * is read from contact_field_values (migration 021; `id` is the contact's id, default c.id); a
 * standard field with a column of its own from that column. Over companies (few) the same tests
 * read every company of the portal, a condition only a filled field meets first asking the jsonb
 * (withKey, withValues).
 */
export function crmFieldCondition(x: Of<'crm'>, ps: Params, c: string, owner: FieldOwner = 'contact', id = `${c}.id`): string {
  if (readsFieldValues(x.key, owner)) return fieldValuesCondition(x, ps, id);
  return jsonFieldCondition(x, ps, c, owner);
}

/** A `crm` condition over the row c's columns and jsonb (std, uf). */
function jsonFieldCondition(x: Of<'crm'>, ps: Params, c: string, owner: FieldOwner): string {
  const j = fieldJson(x.key, ps, c, owner);
  const withKey = (exact: string) => withKeyOf(x.key, ps, c, exact, owner);
  const withValues = (values: readonly string[], exact: string) => withValuesOf(x.key, values, ps, c, exact, owner);
  const what = `${x.key} ${x.op}`;
  switch (x.op) {
    case 'not_empty':
    case 'empty': {
      const has = anyValue(j, () => 'true');
      return x.op === 'empty' ? `NOT ${has}` : withKey(has);
    }
    case 'eq':
    case 'neq': {
      const p = ps.p(need(x.value, `${what}: a value`).toLowerCase());
      const eq = anyValue(j, (v) => `lower(${v}) = ${p}::text`);
      return x.op === 'eq' ? withKey(eq) : not(eq);
    }
    case 'contains':
    case 'not_contains': {
      const p = ps.p(`%${escapeLike(need(x.value, `${what}: a value`))}%`);
      const has = anyValue(j, (v) => `${v} ILIKE ${p}::text`);
      return x.op === 'contains' ? withKey(has) : not(has);
    }
    case 'in':
    case 'not_in': {
      const p = ps.p(need(x.values, `${what}: values`));
      const has = anyValue(j, (v) => `${v} = ANY(${p}::text[])`);
      return x.op === 'in' ? withValues(x.values ?? [], has) : not(has);
    }
    case 'range':
      if ((x.min ?? null) === null && (x.max ?? null) === null) throw new FilterError(`${what}: min or max required`);
      return withKey(anyValue(j, (v) => rangeSql(asNumber(v), x.min, x.max, ps, 'numeric')));
    case 'dates':
      if (!x.from && !x.to && (x.days ?? null) === null) throw new FilterError(`${what}: from, to or days required`);
      return withKey(anyValue(j, (v) => daySql(asDay(v), x.from, x.to, x.days, ps)));
    case 'is': {
      const yes = anyValue(j, (v) => `upper(${v}) IN ('Y', '1', 'TRUE')`);
      if (x.value === 'Y') return withValues(YES_SPELLINGS, yes);
      if (x.value === 'N') return not(yes);
      throw new FilterError(`${what}: value 'Y' or 'N' required`);
    }
  }
}

/** Job title: whole titles (no case), a part, or empty / filled. */
function postCondition(x: Of<'post'>, ps: Params, k: CustomerCols): string {
  if (!k.post) throw new Error('postCondition: these columns have no job title (label_facts codes it: facts.ts)');
  const filled = `(${k.post} IS NOT NULL AND ${k.post} <> '')`;
  const lowered = `lower(${k.post})`;
  switch (x.op) {
    case 'empty':
      return `NOT ${filled}`;
    case 'not_empty':
      return filled;
    case 'in':
    case 'not_in': {
      const has = `${lowered} = ANY(${ps.p(need(x.values, `post ${x.op}: values`).map((v) => v.toLowerCase()))}::text[])`;
      return x.op === 'in' ? has : not(has);
    }
    case 'contains':
    case 'not_contains': {
      const like = (v: string) => `${k.post} ILIKE ${ps.p(`%${escapeLike(v)}%`)}`;
      const has = `(${need(x.values, `post ${x.op}: values`).map(like).join(' OR ')})`;
      return x.op === 'contains' ? has : not(has);
    }
  }
}

/**
 * A company condition as data: the customer's company (COMPANY_ID) is (or, `negated`, is not) one
 * of the portal's companies co that satisfy `pred` (values bound through the Params given; a
 * contact without a company has none). `id` names the set (field, operator, values).
 */
export interface CompanyTest {
  id: string;
  pred: (ps: Params) => string;
  negated: boolean;
}

/** The company test of a company condition (industry, size: listed, not listed, empty, filled; revenue: a range). */
/** A condition on the contact's company: industry, size, revenue. */
export type CompanyCondition = Of<'company_industry' | 'company_size' | 'company_revenue'>;
export const isCompanyCondition = (c: Condition): c is CompanyCondition =>
  c.field === 'company_industry' || c.field === 'company_size' || c.field === 'company_revenue';

export function companyTest(x: CompanyCondition): CompanyTest {
  if (x.field === 'company_revenue') {
    if ((x.min ?? null) === null && (x.max ?? null) === null) throw new FilterError('company_revenue: min or max required');
    return { id: JSON.stringify([x.field, x.min ?? null, x.max ?? null]), pred: (ps) => rangeSql('co.revenue', x.min, x.max, ps, 'numeric'), negated: false };
  }
  const col = x.field === 'company_industry' ? 'co.industry' : 'co.employees';
  if (x.op === 'empty' || x.op === 'not_empty') {
    return { id: JSON.stringify([x.field, 'filled']), pred: () => `${col} IS NOT NULL AND ${col} <> ''`, negated: x.op === 'empty' };
  }
  const values = need(x.values, `${x.field} ${x.op}: values`);
  return { id: JSON.stringify([x.field, 'in', values]), pred: (ps) => `${col} = ANY(${ps.p(values)}::text[])`, negated: x.op === 'not_in' };
}

/**
 * The customer's company satisfies t.pred (false without a company), as a subquery: the portal's
 * companies are few next to its contacts, so it is hashed once per query ($1 is every compiled
 * query's portal id). The live count resolves it to a bitmap first (company-sets.ts).
 */
export const ofCompany = (companyId: string, t: CompanyTest, ps: Params) =>
  `COALESCE(${companyId} IN (SELECT co.id FROM companies co WHERE co.portal_id = $1 AND ${t.pred(ps)}), false)`;

/**
 * Age in whole years on the run's as-of day between min and max, as birth-date bounds (the as-of
 * day is found once per query, no age() per row): age ≥ min ⟺ born on or before as-of − min years;
 * age ≤ max ⟺ born after as-of − (max + 1) years (PostgreSQL's date arithmetic: 29 February minus
 * a year is 28 February, as age() counts it).
 */
function ageSql(x: Of<'age'>, ps: Params, k: CustomerCols): string {
  const [born, has] = dated(k, 'birthdate');
  const parts = [has];
  const yearsBack = (n: number) => fromAsOfDay((d) => `(${d} - make_interval(years => ${ps.p(n)}::int))::date`);
  if (x.min !== undefined && x.min !== null) parts.push(`${born} <= ${yearsBack(x.min)}`);
  if (x.max !== undefined && x.max !== null) parts.push(`${born} > ${yearsBack(x.max + 1)}`);
  return `(${parts.join(' AND ')})`;
}

/** A date column of k and its "has one" test: the stored column when k has one ('infinity' for none). */
function dated(k: CustomerCols, col: 'birthdate' | 'created'): [string, string] {
  const raw = k.stored?.[col];
  return raw ? [raw, `${raw} < 'infinity'::date`] : [k[col], `${k[col]} IS NOT NULL`];
}

/**
 * The SQL of a named customer condition (age, job title, created, company) over the columns `k`
 * (contactCols('c') or FACTS_COLS), or null when x is not one (`crm` is crmFieldCondition's).
 */
export function customerCondition(x: Condition, ps: Params, k: CustomerCols): string | null {
  switch (x.field) {
    case 'age':
      if ((x.min ?? null) === null && (x.max ?? null) === null) throw new FilterError('age: min or max required');
      return ageSql(x, ps, k);
    case 'post':
      return postCondition(x, ps, k);
    case 'created': {
      if (!x.from && !x.to && (x.days ?? null) === null) throw new FilterError('created: from, to or days required');
      const [day, has] = dated(k, 'created');
      return `(${has} AND ${daySql(day, x.from, x.to, x.days, ps)})`;
    }
    case 'company_industry':
    case 'company_size':
    case 'company_revenue': {
      const t = companyTest(x);
      const has = ofCompany(k.companyId, t, ps);
      return t.negated ? `NOT ${has}` : has;
    }
    default:
      return null;
  }
}
