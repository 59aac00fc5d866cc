/**
 * The filter conditions over label_facts (migration 005: the run's label columns plus the
 * contact's own filter columns, coded with the portal's dictionaries), where they differ from
 * the same conditions over contact_labels / contacts (predicate.ts).
 */
import type { Condition } from '../settings/segment-filter.js';
import { companyCondition, CompanySets } from './company-sets.js';
import { crmFieldCondition, customerCondition, FACTS_COLS, need, readsFieldValues } from './customer.js';
import { FilterError } from './errors.js';
import { DictSearches, uvalsContaining } from './dict-search.js';
import { bitsOf, codedFieldCondition, MAX_PROBES } from './field-bits.js';
import { interestsEver, LABEL_ONLY_RANGES, nameSearch, prevSegment, refusalReason, relativeDays, searchKey } from './label-extras.js';
import { escapeLike, Params, rangeSql, reachPredicate, ufPredicate } from './sql.js';

/**
 * A portal's count-table dictionaries (label_facts_run, migration 005; read by src/store/scores.ts
 * readFactsDicts): the run label_facts holds, its partition, and the values behind its codes (segs,
 * lcs, srcs, cities, posts: code = position) and bits (itags, ukeys, uvals: bit = position - 1). Fixed
 * until the next rebuild, which renames the partition: a query compiled with them checks `tbl` in
 * the same statement.
 */
export interface FactsDicts {
  runId: number;
  tbl: string;
  itags: string[];
  ukeys: string[];
  uvals: string[];
  /** per key bit, the contacts whose value of the key had no value bit at the rebuild (migration 023); absent: unknown */
  urestN?: number[];
  segs: string[];
  lcs: string[];
  srcs: string[];
  cities: string[];
  /** the job titles, lower-cased (migration 028: label_facts.pst = position) */
  posts: string[];
  /**
   * per *_rest column, the share of the partition's rows that have it set, from the partition's
   * statistics (pg_stats, kept by the rebuild's ANALYZE and autovacuum); absent: unknown (see
   * splitsRest)
   */
  restShare?: Partial<Record<RestCol, number>>;
}

/**
 * The columns that hold a value without a code or bit (values met after the rebuild, rarer tags,
 * UF values): NULL on most rows. Migration 026 gives each a partial index over its non-NULL rows.
 */
export const REST_COLS = ['seg_rest', 'lc_rest', 'src_rest', 'city_rest', 'post_rest', 'interests_rest', 'uf_rest'] as const;
export type RestCol = (typeof REST_COLS)[number];

/**
 * How one compile treats the tests of *_rest columns: it reads them and notes which (the default),
 * or with `drop` it writes FALSE instead. Every such test is written to be FALSE (never NULL) on a
 * row whose column is NULL, so on the rows where all *_rest columns are NULL both compiles agree.
 *
 * Why: PostgreSQL reads a row's columns up to the last one an expression names, for every row,
 * before it evaluates any part of it. The *_rest columns sit near the end of the row, after the
 * nullable and text columns, so naming one costs every row of the scan (at 1M contacts, 104 ms
 * against 67 for the same UF test without its rest branch; measured 2026-12-03). compileCount
 * counts with the dropped compile over all rows and corrects the count over the few rows that
 * have a *_rest value (their partial indexes): the difference of the two compiles there.
 */
export class RestTests {
  readonly used = new Set<RestCol>();
  constructor(readonly drop = false) {}
  /** `sql()`, a test on `col` that is FALSE where `col` is NULL; FALSE when dropping (sql is not called: it binds no value) */
  on(col: RestCol, sql: () => string): string {
    this.used.add(col);
    return this.drop ? 'FALSE' : sql();
  }
}

/**
 * The share of a partition's rows with one of `cols` set above which the correction (an index scan
 * over those rows) costs more than it saves: then the count reads the *_rest columns in its one scan.
 */
export const SPLIT_MAX_SHARE = 0.1;

/** Does a count that reads `used` *_rest columns split (see RestTests)? Not when their share is unknown or large. */
export function splitsRest(d: FactsDicts, used: ReadonlySet<RestCol>): boolean {
  if (!used.size || !d.restShare) return false;
  let share = 0;
  for (const col of used) share += d.restShare[col] ?? 1;
  return share <= SPLIT_MAX_SHARE;
}

/**
 * label_facts keeps a contact's UF_CRM_* values without null, "" and [] (migration 005), as bits
 * (ukeys, uvals) and uf_rest. The filters answer the same on those as on contacts.uf, except where
 * an empty value could match: eq "" or "[]", and contains a part of "[]" (the text of an empty
 * array). Those read contacts.uf.
 */
const ufNeedsContacts = (c: Extract<Condition, { field: 'uf' }>) =>
  (c.op === 'eq' && (c.value === '' || c.value === '[]')) || (c.op === 'contains' && c.value !== undefined && '[]'.includes(c.value));


/**
 * A coded column: label_facts.<col> holds the value's position in the dictionary (at most 63), or
 * 0 and the value in <col>_rest when it had none (met after the rebuild). Values in the dictionary
 * are matched on the code (constants: the planner sees them; seg has an index), the others on
 * <col>_rest.
 */
function codedIn(ps: Params, col: 'seg' | 'lc' | 'src' | 'city', dict: readonly string[], values: readonly string[], rt: RestTests): string {
  const codes = [...new Set(values.map((v) => dict.indexOf(v) + 1).filter((n) => n > 0))];
  const rest = values.filter((v) => !dict.includes(v));
  const arms: string[] = [];
  if (codes.length) arms.push(`l.${col} = ANY(${ps.p(codes)}::smallint[])`);
  if (rest.length) arms.push(rt.on(`${col}_rest`, () => `(l.${col} = 0 AND COALESCE(l.${col}_rest = ANY(${ps.p(rest)}::text[]), false))`));
  return arms.length ? `(${arms.join(' OR ')})` : 'FALSE';
}

function cityCondition(c: Extract<Condition, { field: 'city' }>, ps: Params, cx: FactsCompile): string {
  // the dictionary holds lower(city); 'in' values are lower-cased here, as over contacts
  if (c.op === 'in') return codedIn(ps, 'city', cx.dicts.cities, c.values.map((v) => v.toLowerCase()), cx.rest);
  // city ILIKE p is lower(city) LIKE lower(p) (PostgreSQL's own definition)
  const patterns = c.values.map((v) => `%${escapeLike(v)}%`);
  const like = (v: string, p: Params) => `(${patterns.map((x) => `${v} LIKE lower(${p.p(x)}::text)`).join(' OR ')})`;
  const bits = cx.searches.bits({ dict: 'cities', id: JSON.stringify(['city contains', patterns]), cond: like }, ps);
  return `(((1::bigint << l.city) & ${bits}) <> 0 OR ${cx.rest.on('city_rest', () => `(l.city = 0 AND COALESCE(${like('l.city_rest', ps)}, false))`)})`;
}

/** label_facts.pst for no job title and for a title kept in post_rest (as migration 028 writes them) */
const NO_POST = 0;
const POST_IN_REST = -1;

/**
 * Job title (migration 028): label_facts.pst is the lower-cased title's code in dicts.posts, 0 for
 * no title (NULL or ''), −1 for a title without a code, kept in post_rest. Whole titles and parts
 * match without case, as over contacts (customer.ts); filter values are never empty (the schema
 * trims them and needs one character), so a '' title matches no `in` or `contains` there either.
 */
function postCondition(c: Extract<Condition, { field: 'post' }>, ps: Params, cx: FactsCompile): string {
  const rt = cx.rest;
  const inRest = (test: () => string) => rt.on('post_rest', () => `(l.pst = ${POST_IN_REST} AND COALESCE(${test()}, false))`);
  let has: string;
  switch (c.op) {
    case 'empty':
      return `l.pst = ${NO_POST}`;
    case 'not_empty':
      return `l.pst <> ${NO_POST}`;
    case 'in':
    case 'not_in': {
      const values = need(c.values, `post ${c.op}: values`).map((v) => v.toLowerCase());
      const codes = [...new Set(values.map((v) => cx.dicts.posts.indexOf(v) + 1).filter((n) => n > 0))];
      const rest = values.filter((v) => !cx.dicts.posts.includes(v));
      const arms = [...(codes.length ? [`l.pst = ANY(${ps.p(codes)}::smallint[])`] : []), ...(rest.length ? [inRest(() => `l.post_rest = ANY(${ps.p(rest)}::text[])`)] : [])];
      has = arms.length ? `(${arms.join(' OR ')})` : 'FALSE';
      break;
    }
    case 'contains':
    case 'not_contains': {
      // ILIKE is lower(a) LIKE lower(b) (PostgreSQL's own definition): over lower-cased titles, LIKE lower(pattern)
      const patterns = need(c.values, `post ${c.op}: values`).map((v) => `%${escapeLike(v)}%`);
      const like = (v: string, p: Params) => `(${patterns.map((x) => `${v} LIKE lower(${p.p(x)}::text)`).join(' OR ')})`;
      const bits = cx.searches.bits({ dict: 'posts', id: JSON.stringify(['post contains', patterns]), cond: like }, ps);
      has = `((l.pst > 0 AND ((1::bigint << l.pst) & ${bits}) <> 0) OR ${inRest(() => like('l.post_rest', ps))})`;
      break;
    }
  }
  return c.op.startsWith('not_') ? `NOT ${has}` : has;
}

function interestsCondition(c: Extract<Condition, { field: 'interests' }>, ps: Params, d: FactsDicts, rt: RestTests): string {
  // tags with a bit in the portal's dictionary are tested on imask, the others on interests_rest
  const bits = [...new Set(c.values.map((v) => d.itags.indexOf(v)).filter((n) => n >= 0))];
  const rest = [...new Set(c.values.filter((v) => !d.itags.includes(v)))];
  const mask = bits.length ? ps.p(bitsOf(bits)) : null;
  const r = () => ps.p(rest);
  if (c.mode === 'all') {
    const parts = [mask ? `(l.imask & ${mask}::bigint) = ${mask}::bigint` : null, rest.length ? rt.on('interests_rest', () => `COALESCE(l.interests_rest @> ${r()}::text[], false)`) : null];
    return `(${parts.filter(Boolean).join(' AND ')})`;
  }
  const parts = [mask ? `(l.imask & ${mask}::bigint) <> 0` : null, rest.length ? rt.on('interests_rest', () => `COALESCE(l.interests_rest && ${r()}::text[], false)`) : null];
  return `(${parts.filter(Boolean).join(' OR ')})`;
}

function ufCondition(c: Extract<Condition, { field: 'uf' }>, ps: Params, cx: FactsCompile): string {
  const { dicts: d, rest: rt } = cx;
  if (ufNeedsContacts(c)) {
    return `EXISTS (SELECT 1 FROM contacts c WHERE c.portal_id = l.portal_id AND c.id = l.contact_id AND ${ufPredicate(c, ps, 'c.uf')})`;
  }
  // label_facts keeps non-empty values only: having the key is not_empty. A key with a bit is
  // tested on ukeys; the values of a key without one are all in uf_rest.
  if (c.op === 'not_empty' || c.op === 'empty') {
    const kbit = d.ukeys.indexOf(c.key);
    const has = kbit >= 0 ? `((l.ukeys & ${ps.p(bitsOf([kbit]))}::bigint) <> 0)` : rt.on('uf_rest', () => `COALESCE(l.uf_rest ? ${ps.p(c.key)}::text, false)`);
    return c.op === 'not_empty' ? has : `NOT ${has}`;
  }
  if (c.value === undefined) throw new FilterError(`uf ${c.key}: value required for ${c.op}`);
  // the dictionary's values that match (eq: looked up here; contains: searched in SQL once), or a value kept in uf_rest
  let vbits: string;
  if (c.op === 'eq') {
    const vbit = d.uvals.indexOf(`${c.key}\u001f${c.value}`);
    vbits = `${ps.p(vbit >= 0 ? bitsOf([vbit]) : '0')}::bigint`;
  } else {
    vbits = cx.searches.bits(uvalsContaining(c.key, c.value), ps);
  }
  return `((l.uvals & ${vbits}) <> 0 OR ${ufRestTest(c, ps, cx, d.ukeys.indexOf(c.key))})`;
}

/**
 * The part of a `uf` test on the values without a bit (uf_rest). For a key with a bit (kbit ≥ 0)
 * only the rows whose urest has it hold such a value: while they are few (urestN at the rebuild,
 * at most MAX_PROBES), each of them is read again by its primary key, so the scan itself never
 * names uf_rest (RestTests: naming it costs every row of the scan). Else, and for a key without a
 * bit, a *_rest test.
 */
function ufRestTest(c: Extract<Condition, { field: 'uf' }>, ps: Params, cx: FactsCompile, kbit: number): string {
  const test = (uf: string) => `COALESCE(${ufPredicate(c, ps, uf)}, false)`;
  if (kbit < 0) return cx.rest.on('uf_rest', () => `(l.uf_rest IS NOT NULL AND ${test('l.uf_rest')})`);
  const inRest = () => `(l.urest & ${ps.p(bitsOf([kbit]))}::bigint) <> 0`;
  if ((cx.dicts.urestN?.[kbit] ?? Infinity) <= MAX_PROBES) {
    // OFFSET 0: a probe per such row (the planner would otherwise consider hashing the whole partition's matches)
    return `(${inRest()} AND EXISTS (SELECT 1 FROM label_facts x WHERE x.portal_id = $1 AND x.contact_id = l.contact_id AND ${test('x.uf_rest')} OFFSET 0))`;
  }
  return cx.rest.on('uf_rest', () => `(${inRest()} AND ${test('l.uf_rest')})`);
}

/** A predicate over the same run's contact_labels row x of a label_facts row l. */
const onLabels = (pred: string) =>
  `EXISTS (SELECT 1 FROM contact_labels x WHERE x.portal_id = l.portal_id AND x.run_id = $2 AND x.contact_id = l.contact_id AND ${pred})`;

/** What a compile over label_facts works with besides the condition. */
export interface FactsCompile {
  dicts: FactsDicts;
  /** contacts found by phone or e-mail per search text (predicate.ts CompileOptions) */
  searchIds?: ReadonlyMap<string, readonly number[]>;
  rest: RestTests;
  searches: DictSearches;
  companies: CompanySets;
}

/** A compile over label_facts with the dictionaries d: the *_rest tests read, the searches and company sets as subqueries. */
export const factsCompile = (d: FactsDicts, o: Partial<Omit<FactsCompile, 'dicts'>> = {}): FactsCompile => ({
  dicts: d, searchIds: o.searchIds, rest: o.rest ?? new RestTests(), searches: o.searches ?? new DictSearches(), companies: o.companies ?? new CompanySets(),
});

/** Conditions over label_facts l that differ from contact_labels / contacts (null: same SQL). */
export function compileFactsCondition(c: Condition, ps: Params, cx: FactsCompile): string | null {
  const { dicts: d, searchIds, rest: rt } = cx;
  switch (c.field) {
    case 'range':
      return LABEL_ONLY_RANGES.has(c.key) ? onLabels(rangeSql(relativeDays(c.key, 'x')!, c.min, c.max, ps, 'float8')) : null;
    case 'prev_segment':
      return onLabels(prevSegment(c, ps, 'x'));
    case 'refusal_reason':
      return onLabels(refusalReason(c, ps, 'x'));
    case 'search':
      return `EXISTS (SELECT 1 FROM contacts c WHERE c.portal_id = l.portal_id AND c.id = l.contact_id AND ${nameSearch(c.text, ps, 'c', 'c.id', searchIds?.get(searchKey(c.text)))})`;
    case 'segment':
      return codedIn(ps, 'seg', d.segs, c.values, rt);
    case 'lifecycle':
      return codedIn(ps, 'lc', d.lcs, c.values, rt);
    case 'source':
      return codedIn(ps, 'src', d.srcs, c.values, rt);
    case 'responsible': {
      const has = `l.assigned_by_id = ANY(${ps.p(c.values)}::bigint[])`;
      return c.op === 'not_in' ? `NOT COALESCE(${has}, false)` : has;
    }
    case 'city':
      return cityCondition(c, ps, cx);
    case 'post':
      return postCondition(c, ps, cx);
    case 'interests':
      return c.when === 'ever' ? onLabels(interestsEver(c, ps, 'x')) : interestsCondition(c, ps, d, rt);
    case 'uf':
      return ufCondition(c, ps, cx);
    case 'has_email':
    case 'has_phone':
    case 'reachable':
      return reachPredicate(c.field, c.value, 'l');
    case 'crm':
      // any field: the label's contact's values (contact_field_values, migration 021), or the
      // label's contact row for a standard field with a column of its own (label_facts copies neither)
      // (l.contact_id + 0: the semi-join hashes the field's contact ids and reads label_facts in one
      // scan; the planner cannot estimate how many a `contains` finds, and at 1M contacts it chose
      // 111k primary-key lookups (1.8 s) over the scan for too low a guess)
      // a field label_facts codes (migration 023) is a bit test first (field-bits.ts)
      if (readsFieldValues(c.key)) return codedFieldCondition(c, ps, d, cx.searches) ?? crmFieldCondition(c, ps, 'c', 'contact', '(l.contact_id + 0)');
      return `EXISTS (SELECT 1 FROM contacts c WHERE c.portal_id = l.portal_id AND c.id = l.contact_id AND ${crmFieldCondition(c, ps, 'c')})`;
    case 'company_industry':
    case 'company_size':
    case 'company_revenue': {
      // the company (label_facts' copy of its id, migration 012) in the set's bitmap or subquery (company-sets.ts)
      return companyCondition(c, ps, cx.companies);
    }
    default:
      // age, created: label_facts' copies (migrations 012, 027)
      return customerCondition(c, ps, FACTS_COLS);
  }
}
