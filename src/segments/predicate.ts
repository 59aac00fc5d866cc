/**
 * A validated filter → the WHERE predicate over contact_labels (alias l) joined to contacts
 * (alias c), or over label_facts (alias l) alone (target 'facts', facts.ts). Saved references are
 * inlined; the bounds are checked first (bounds.ts).
 */
import { MAX_FILTER_DEPTH, type Condition, type SegmentFilter } from '../settings/segment-filter.js';
import { checkFilterBounds } from './bounds.js';
import { ConditionNotForCompaniesError, FilterError, FilterTooLargeError } from './errors.js';
import { companyCols, CONTACT_ONLY_FIELDS, contactCols, crmFieldCondition, customerCondition, isCompanyCondition } from './customer.js';
import { companyCondition, CompanySets } from './company-sets.js';
import type { DictSearches } from './dict-search.js';
import { compileFactsCondition, factsCompile, type FactsDicts, type RestTests } from './facts.js';
import { interestsEver, nameSearch, prevSegment, refusalReason, relativeDays, searchKey } from './label-extras.js';
import { escapeLike, Params, rangeSql, reachPredicate, ufPredicate } from './sql.js';

export interface CompileOptions {
  /** saved segments by id, for `saved` references (their filters are inlined) */
  saved?: ReadonlyMap<string, SegmentFilter>;
  /**
   * 'labels' (default): contact_labels l joined to contacts c. 'facts': label_facts l alone
   * (contact fields read from l's copies, coded with `dicts`; see compileCount). 'company_cube':
   * label_company_cube l (migration 030), for filters of company conditions only (bounds.ts
   * companyCubeAnswers; any other condition throws).
   */
  target?: 'labels' | 'facts' | 'company_cube';
  /** the portal's count-table dictionaries, for target 'facts' */
  dicts?: FactsDicts;
  /** target 'facts': how the tests of the *_rest columns are written, and which were (facts.ts RestTests) */
  rest?: RestTests;
  /** target 'facts': the dictionary searches, resolved to constants or not (dict-search.ts) */
  searches?: DictSearches;
  /** target 'facts' and 'company_cube': the company conditions' sets, resolved to bitmaps or not (company-sets.ts) */
  companies?: CompanySets;
  /**
   * contacts found by phone or e-mail per search text (label-extras.ts searchKey), looked up by the
   * caller with the user's token; without an entry a search matches names and IDs only
   */
  searchIds?: ReadonlyMap<string, readonly number[]>;
  /**
   * Whose labels (default 'contact'): 'company' compiles the same predicates over company_labels,
   * exposed as l with the company id as l.contact_id, and the companies shaped like contacts
   * (migration 008's company_customers view: name = TITLE) as c. Counts then never use the
   * contact-only count tables of migration 005. Created, industry, size and revenue then read the
   * company itself (customer.ts companyCols), any field (`crm`) the company's own fields
   * (migration 020); CONTACT_ONLY_FIELDS (age, job title, `contact`: a list of contacts) throw
   * ConditionNotForCompaniesError (400 CONDITION_NOT_FOR_COMPANIES).
   */
  entity?: 'contact' | 'company';
}

const RANGE_SQL: Partial<Record<Extract<Condition, { field: 'range' }>['key'], string>> = {
  r: 'l.r', f: 'l.f', m: 'l.m', monetary: 'l.monetary', clv: 'l.clv', p_alive: 'l.p_alive',
  recency_days: 'l.recency_days', frequency: 'l.frequency',
};

function compileCondition(c: Condition, ps: Params, opts: CompileOptions, depth: number): string {
  // (a saved reference is inlined below, its conditions compiled here one by one)
  if (opts.target === 'company_cube' && c.field !== 'saved') {
    if (!isCompanyCondition(c)) throw new Error(`compile for label_company_cube: ${c.field} is not a company condition`);
    return companyCondition(c, ps, opts.companies ?? new CompanySets());
  }
  if (opts.target === 'facts') {
    if (!opts.dicts) throw new Error('compile for label_facts without its dictionaries');
    const sql = compileFactsCondition(c, ps, factsCompile(opts.dicts, opts));
    if (sql !== null) return sql;
  }
  if (opts.entity === 'company' && CONTACT_ONLY_FIELDS.has(c.field)) throw new ConditionNotForCompaniesError(c.field);
  switch (c.field) {
    case 'segment':
      return `l.segment = ANY(${ps.p(c.values)}::text[])`;
    case 'lifecycle':
      return `l.lifecycle = ANY(${ps.p(c.values)}::text[])`;
    case 'rfm':
      return `l.rfm = ANY(${ps.p(c.values)}::text[])`;
    case 'range':
      return rangeSql(relativeDays(c.key, 'l') ?? RANGE_SQL[c.key]!, c.min, c.max, ps, 'float8');
    case 'sleeping':
      return c.value ? 'l.sleeping' : 'NOT l.sleeping';
    case 'interests':
      if (c.when === 'ever') return interestsEver(c, ps, 'l');
      return c.mode === 'all' ? `l.interests @> ${ps.p(c.values)}::text[]` : `l.interests && ${ps.p(c.values)}::text[]`;
    case 'last_purchase':
      return rangeSql('l.last_purchase', c.from, c.to, ps, 'date');
    case 'source':
      return `c.source_id = ANY(${ps.p(c.values)}::text[])`;
    case 'responsible': {
      const has = `c.assigned_by_id = ANY(${ps.p(c.values)}::bigint[])`;
      return c.op === 'not_in' ? `NOT COALESCE(${has}, false)` : has;
    }
    case 'city':
      if (c.op === 'in') return `lower(c.city) = ANY(${ps.p(c.values.map((v) => v.toLowerCase()))}::text[])`;
      return `(${c.values.map((v) => `c.city ILIKE ${ps.p(`%${escapeLike(v)}%`)}`).join(' OR ')})`;
    case 'uf':
      return ufPredicate(c, ps, 'c.uf');
    case 'has_email':
    case 'has_phone':
    case 'reachable':
      return reachPredicate(c.field, c.value, 'c');
    case 'search':
      return nameSearch(c.text, ps, 'c', 'l.contact_id', opts.searchIds?.get(searchKey(c.text)));
    case 'prev_segment':
      return prevSegment(c, ps, 'l');
    case 'contact':
      return `l.contact_id = ANY(${ps.p(c.ids)}::bigint[])`;
    case 'age':
    case 'post':
    case 'created':
    case 'company_industry':
    case 'company_size':
    case 'company_revenue':
      return customerCondition(c, ps, opts.entity === 'company' ? companyCols('c') : contactCols('c'))!;
    case 'crm':
      return crmFieldCondition(c, ps, 'c', opts.entity ?? 'contact');
    case 'refusal_reason':
      return refusalReason(c, ps, 'l');
    case 'saved': {
      const s = opts.saved?.get(c.id);
      if (!s) throw new FilterError(`saved segment ${c.id} not found`);
      // checkFilterBounds (compilePredicate) has walked this expansion already: never reached
      if (depth >= MAX_FILTER_DEPTH) throw new FilterTooLargeError('depth', MAX_FILTER_DEPTH, `filter too large (limit ${MAX_FILTER_DEPTH} levels)`);
      return `(${predicate(s, ps, opts, depth + 1)})`;
    }
  }
}

/**
 * The WHERE predicate (without portal/run conditions) for a validated filter. Checks the bounds
 * first (checkFilterBounds): a filter over them throws before anything is compiled.
 */
export function compilePredicate(f: SegmentFilter, ps: Params, opts: CompileOptions = {}): string {
  checkFilterBounds(f, opts.saved);
  return predicate(f, ps, opts, 0);
}

function predicate(f: SegmentFilter, ps: Params, opts: CompileOptions, depth: number): string {
  if (depth > MAX_FILTER_DEPTH) throw new FilterTooLargeError('depth', MAX_FILTER_DEPTH, `filter too large (limit ${MAX_FILTER_DEPTH} levels)`);
  const parts = f.all.map((c) => `(${compileCondition(c, ps, opts, depth)})`);
  if (f.any && f.any.length) parts.push(`(${f.any.map((c) => `(${compileCondition(c, ps, opts, depth)})`).join(' OR ')})`);
  if (f.exclude) parts.push(`NOT COALESCE((${predicate(f.exclude, ps, opts, depth + 1)}), FALSE)`);
  return parts.length ? parts.join(' AND ') : 'TRUE';
}
