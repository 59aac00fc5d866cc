/**
 * A filter compiled into whole query parts over one score run of one portal:
 *  - compileFilter: FROM ... WHERE over contact_labels l (joined to contacts c when needed), or
 *    over company_labels and the companies for `entity` 'company' (B2B);
 *  - compileCount: the live count (count + revenue) over the count tables of migration 005:
 *    label_cube when the filter uses only cube dimensions (segment, lifecycle, RFM cell, R/F/M,
 *    sleeping), label_company_cube when it uses only the contact's company (industry, size,
 *    revenue), else label_facts (the run's label columns plus the contact's own filter columns,
 *    no join).
 * User input only ever travels as bind parameters (sql.ts).
 */
import type { SegmentFilter } from '../settings/segment-filter.js';
import { companyCubeAnswers, cubeAnswers, mostlyMatches, needsContacts } from './bounds.js';
import { CompanySets } from './company-sets.js';
import type { CompanyTest } from './customer.js';
import { DictSearches, type DictSearch } from './dict-search.js';
import { RestTests, splitsRest, type FactsDicts } from './facts.js';
import { compilePredicate, type CompileOptions } from './predicate.js';
import { Params } from './sql.js';

export const SORT_COLUMNS = {
  id: 'l.contact_id',
  name: "lower(coalesce(c.last_name, '') || ' ' || coalesce(c.name, ''))",
  segment: 'l.segment',
  rfm: 'l.rfm',
  monetary: 'l.monetary',
  clv: 'l.clv',
  p_alive: 'l.p_alive',
  last_purchase: 'l.last_purchase',
  recency_days: 'l.recency_days',
  frequency: 'l.frequency',
  city: "lower(coalesce(c.city, ''))",
  next_purchase: 'l.next_purchase',
} as const;
export type SortColumn = keyof typeof SORT_COLUMNS;

export interface CompiledQuery {
  /** FROM ... WHERE ... (no SELECT), params $1 = portal id, $2 = run id */
  fromWhere: string;
  params: unknown[];
  joinsContacts: boolean;
}

export interface CompiledCount {
  /** one statement: tracked (label_facts_run holds the run), count, revenue */
  sql: string;
  params: unknown[];
  source: 'cube' | 'company_cube' | 'facts';
  /** facts: the count corrects a scan without the *_rest tests over the rows that have one (facts.ts RestTests) */
  split?: boolean;
  /** facts: the count is the run's totals minus the rows that do not match (see compileCount) */
  complement?: boolean;
  /**
   * facts: the dictionary searches compiled as subqueries, not as the constants of
   * opts.searches (dict-search.ts): resolve them (runDictSearches) and compile again
   */
  unresolved?: ReadonlyMap<string, DictSearch>;
  /** facts and company_cube: the company conditions compiled as subqueries, not as the bitmaps of opts.companies (company-sets.ts) */
  unresolvedCompanies?: ReadonlyMap<string, CompanyTest>;
}

/**
 * Revenue of a label row (also label_facts), summed for counts: M, the total purchase value in
 * base currency with the default `rfm.monetary: 'total'` (label_cube sums it per cell).
 */
export const REVENUE_SQL = `COALESCE(l.monetary, 0)`;

/** A kind's labels as l (a company's id as l.contact_id) and its rows shaped like contacts as c. */
const LABELS_OF = {
  contact: { l: 'contact_labels', c: 'contacts' },
  company: { l: '(SELECT *, company_id AS contact_id FROM company_labels)', c: 'company_customers' },
} as const;

/** The labels table of a kind as a FROM item (companies: their id as contact_id). */
export const labelsTable = (entity: 'contact' | 'company' = 'contact'): string => LABELS_OF[entity].l;

/** FROM contact_labels l (company labels for `entity` 'company'), joined to contacts c (companies) when `joins`. */
export function labelsFrom(joins: boolean, entity: 'contact' | 'company' = 'contact'): string {
  const t = LABELS_OF[entity];
  return joins ? `FROM ${t.l} l JOIN ${t.c} c ON c.portal_id = l.portal_id AND c.id = l.contact_id` : `FROM ${t.l} l`;
}

/** The cubes' `tracked` column: label_facts_run holds the run (label_cube and label_company_cube follow it). */
const CUBE_TRACKED = 'EXISTS (SELECT 1 FROM label_facts_run t WHERE t.portal_id = $1 AND t.run_id = $2) AS tracked';

/**
 * The live count (count + revenue) over the tables of migration 005: label_cube when it can answer
 * (no dictionaries needed), else label_facts coded with the portal's dictionaries `dicts`. Only
 * valid when `tracked` comes back true (label_facts_run still holds the run, and for label_facts
 * the same partition the dictionaries belong to); else count over compileFilter (contact_labels
 * joined to contacts).
 */
export function compileCount(portalId: number, runId: number, f: SegmentFilter, opts: CompileOptions = {}, dicts?: FactsDicts): CompiledCount {
  if (opts.entity === 'company') throw new Error('compileCount: the count tables hold contacts only; count companies over compileFilter');
  const ps = new Params([portalId, runId]);
  if (cubeAnswers(f, opts.saved)) {
    const pred = compilePredicate(f, ps, { ...opts, target: 'labels' });
    return {
      sql: `SELECT ${CUBE_TRACKED},
                   COALESCE(sum(l.n), 0)::int AS count, COALESCE(sum(l.revenue), 0)::float8 AS revenue
              FROM label_cube l WHERE l.portal_id = $1 AND l.run_id = $2 AND ${pred}`,
      params: ps.values,
      source: 'cube',
    };
  }
  if (companyCubeAnswers(f, opts.saved)) {
    // company conditions only: a row per company of the tracked run's contacts (migration 030; its
    // rows are label_facts' rows with a contact, which the guard of such a filter keeps)
    const companies = opts.companies ?? new CompanySets();
    const pred = compilePredicate(f, ps, { ...opts, target: 'company_cube', companies });
    return {
      sql: `SELECT ${CUBE_TRACKED},
                   COALESCE(sum(l.n), 0)::int AS count, COALESCE(sum(l.revenue), 0)::float8 AS revenue
              FROM label_company_cube l WHERE l.portal_id = $1 AND ${pred}`,
      params: ps.values,
      source: 'company_cube',
      unresolvedCompanies: companies.unresolved(),
    };
  }
  if (!dicts) throw new Error('compileCount: this filter needs label_facts and its dictionaries (readFactsDicts)');
  const tbl = ps.p(dicts.tbl);
  const full = new RestTests();
  const searches = opts.searches ?? new DictSearches();
  const companies = opts.companies ?? new CompanySets();
  const pred = compilePredicate(f, ps, { ...opts, target: 'facts', dicts, rest: full, searches, companies });
  const more = { unresolved: searches.unresolved(), unresolvedCompanies: companies.unresolved() };
  // as the inner join with contacts did: a label whose contact is gone never matches a filter on contact fields
  const guard = needsContacts(f, opts.saved) ? 'l.has_contact AND ' : '';
  // label_facts holds the tracked run only (one partition per portal)
  const tracked = `EXISTS (SELECT 1 FROM label_facts_run t WHERE t.portal_id = $1 AND t.run_id = $2 AND t.tbl = ${tbl}) AS tracked`;
  if (!splitsRest(dicts, full.used)) {
    if (mostlyMatches(f)) {
      // most rows match: the run's totals (label_cube: its cells sum to label_facts, the same
      // triggers keep both) minus the rows that do not. A row the scan keeps costs the count
      // more than one it drops (at 1M contacts, responsible none of 2 managers took 102–106 ms
      // in psql, its complement 85–91; measured 2026-12-03); exact either way
      return {
        sql: `SELECT ${tracked}, (t.n - x.n)::int AS count, (t.s - x.s)::float8 AS revenue
                FROM (SELECT COALESCE(sum(c.n), 0) AS n, COALESCE(sum(c.revenue), 0) AS s FROM label_cube c WHERE c.portal_id = $1 AND c.run_id = $2) t,
                     (SELECT count(*) AS n, COALESCE(sum(l.monetary), 0) AS s FROM label_facts l WHERE l.portal_id = $1 AND (${guard}${pred}) IS NOT TRUE) x`,
        params: ps.values,
        source: 'facts',
        complement: true,
        ...more,
      };
    }
    return {
      sql: `SELECT ${tracked}, count(*)::int AS count, COALESCE(sum(l.monetary), 0)::float8 AS revenue
            FROM label_facts l WHERE l.portal_id = $1 AND ${guard}${pred}`,
      params: ps.values,
      source: 'facts',
      ...more,
    };
  }
  // the scan of every row without the *_rest tests, plus over the rows with one of the columns
  // set (partial indexes, migration 026) the difference of the two predicates: exact, since they
  // agree wherever those columns are NULL (RestTests). OFFSET 0 keeps the difference one expression
  // (the statement's JIT compiles every expression it holds: each copy costs milliseconds)
  const bits = compilePredicate(f, ps, { ...opts, target: 'facts', dicts, rest: new RestTests(true), searches, companies });
  const d = `((CASE WHEN ${pred} THEN 1 ELSE 0 END) - (CASE WHEN ${bits} THEN 1 ELSE 0 END))`;
  const withRest = [...full.used].map((c) => `l.${c} IS NOT NULL`).join(' OR ');
  return {
    sql: `SELECT ${tracked}, (b.n + x.n)::int AS count, (b.s + x.s)::float8 AS revenue
            FROM (SELECT count(*) AS n, COALESCE(sum(l.monetary), 0) AS s FROM label_facts l WHERE l.portal_id = $1 AND ${guard}${bits}) b,
                 (SELECT COALESCE(sum(z.d), 0) AS n, COALESCE(sum(z.d * z.m), 0) AS s
                    FROM (SELECT ${d} AS d, l.monetary AS m FROM label_facts l WHERE l.portal_id = $1 AND ${guard}(${withRest}) OFFSET 0) z) x`,
    params: ps.values,
    source: 'facts',
    split: true,
    ...more,
  };
}

/** FROM/WHERE over one score run of one portal. `forceContacts` adds the join even when unneeded. */
export function compileFilter(portalId: number, runId: number, f: SegmentFilter, opts: CompileOptions = {}, forceContacts = false): CompiledQuery {
  const ps = new Params([portalId, runId]);
  const pred = compilePredicate(f, ps, opts);
  const joinsContacts = forceContacts || needsContacts(f, opts.saved);
  return { fromWhere: `${labelsFrom(joinsContacts, opts.entity)} WHERE l.portal_id = $1 AND l.run_id = $2 AND ${pred}`, params: ps.values, joinsContacts };
}
