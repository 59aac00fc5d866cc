/**
 * Segments: a filter (its AST is src/settings/segment-filter.ts, the shape it is sent and stored
 * in) → parameterised SQL, within bounds; saved segments as filters; the assignment of saved
 * segments to contacts. Pure SQL text and a `query` seam (sql.ts SqlQuery): no store, no HTTP.
 *
 *   limits.ts     bounds on a filter's expansion and on saved segments
 *   errors.ts     why a filter cannot be compiled (answered as 400 by the UI API)
 *   bounds.ts     the one walk over a filter's expansion: bounds check, join / cube questions
 *   sql.ts        bind parameters and predicates shared by both compile targets
 *   predicate.ts  filter → WHERE predicate (contact_labels + contacts, or label_facts)
 *   facts.ts      conditions over label_facts (count-table dictionaries, *_rest tests)
 *   dict-search.ts searches of those dictionaries, as subqueries or resolved to constants
 *   company-sets.ts company conditions of the count, as subqueries or resolved to bitmaps
 *                 (over label_facts, or label_company_cube when they are the whole filter)
 *   prefetch.ts   what a count compile looks up before it runs (base of the two above)
 *   customer.ts   conditions on what a customer is: age, job title, created, company, any field
 *   compile.ts    FROM/WHERE over a run; the live count over label_cube / label_company_cube / label_facts
 *   saved.ts      saved segments: priority order, reference map, change checks, usable ones
 *   assign.ts     each contact's highest-priority saved segment in a run
 */
export {
  conditionSchema, segmentFilterSchema, rawExcludeDepth, FILTER_TOO_LARGE, RANGE_FIELDS, CRM_OPS, type Condition, type CrmOp, type SegmentFilter,
} from '../settings/segment-filter.js';
export * from './limits.js';
export * from './errors.js';
export { checkFilterBounds, conditionValues, companyCubeAnswers, cubeAnswers, filterUses, needsContacts, type BoundsOptions } from './bounds.js';
export { Params, type SqlQuery } from './sql.js';
export { compilePredicate, type CompileOptions } from './predicate.js';
export { searchKey } from './label-extras.js';
export { COLUMN_FIELD_KEYS, CUSTOMER_FIELDS, type CompanyTest, type FieldOwner } from './customer.js';
export { REST_COLS, RestTests, splitsRest, SPLIT_MAX_SHARE, type FactsDicts, type RestCol } from './facts.js';
export { DictSearches, runDictSearches, type DictSearch } from './dict-search.js';
export { COMPANIES_FP, CompanySets, MAX_BITS, readCompanySets, runCompanySets, type CompanySet, type ReadCompanySet } from './company-sets.js';
export * from './compile.js';
export * from './saved.js';
export { savedSegmentAssignments } from './assign.js';
