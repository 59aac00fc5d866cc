/**
 * The one walk over a filter's expansion (saved references inlined, exclusions included), within
 * the limits (limits.ts): the bounds check every compile entry point and the UI API run first,
 * and the questions the compiler asks of a filter (does it need the contacts join? can label_cube
 * answer it?). All follow the filter exactly as deep as the compiler does.
 */
import type { Condition, SegmentFilter } from '../settings/segment-filter.js';
import { CUSTOMER_FIELDS, isCompanyCondition } from './customer.js';
import { FilterCycleError, FilterError, FilterTooLargeError } from './errors.js';
import { MAX_FILTER_CONDITIONS, MAX_FILTER_DEPTH, MAX_FILTER_VALUES } from './limits.js';

export interface BoundsOptions {
  /** how the filter is named in messages (default "filter") */
  what?: string;
  /** the filter is the saved segment with this id: a reference back to it is a cycle */
  selfId?: string;
}

/** What a condition weighs against MAX_FILTER_VALUES: its list's length (values, contact ids), else 1. */
export function conditionValues(c: Condition): number {
  if ('values' in c && Array.isArray(c.values)) return c.values.length;
  return 'ids' in c && Array.isArray(c.ids) ? c.ids.length : 1;
}

/**
 * Visits the filter's conditions as the compiler expands them (saved references inlined,
 * exclusions included) until `visit` returns true, within the bounds: throws FilterTooLargeError
 * at the first condition past MAX_FILTER_CONDITIONS or MAX_FILTER_VALUES or level past MAX_FILTER_DEPTH,
 * FilterCycleError when a saved segment reaches itself, FilterError for an unknown saved
 * segment. So any walk costs at most MAX_FILTER_CONDITIONS steps, whatever the saved segments hold.
 */
function walkBounded(
  f: SegmentFilter,
  saved: ReadonlyMap<string, SegmentFilter> | undefined,
  visit: (c: Condition) => boolean,
  o: BoundsOptions = {},
): boolean {
  const what = o.what ?? 'filter';
  let n = 0;
  let values = 0;
  const path: string[] = o.selfId ? [o.selfId] : [];
  const go = (g: SegmentFilter, depth: number): boolean => {
    if (depth > MAX_FILTER_DEPTH) {
      throw new FilterTooLargeError('depth', MAX_FILTER_DEPTH,
        `${what} too large: nested more than ${MAX_FILTER_DEPTH} levels deep, counting exclusions and saved segments inlined (limit ${MAX_FILTER_DEPTH} levels)`);
    }
    for (const c of g.any ? [...g.all, ...g.any] : g.all) {
      if (++n > MAX_FILTER_CONDITIONS) {
        throw new FilterTooLargeError('conditions', MAX_FILTER_CONDITIONS,
          `${what} too large: more than ${MAX_FILTER_CONDITIONS} conditions once saved segments are inlined (limit ${MAX_FILTER_CONDITIONS} conditions)`);
      }
      if ((values += conditionValues(c)) > MAX_FILTER_VALUES) {
        throw new FilterTooLargeError('values', MAX_FILTER_VALUES,
          `${what} too large: more than ${MAX_FILTER_VALUES} values in its conditions once saved segments are inlined (limit ${MAX_FILTER_VALUES} values)`);
      }
      if (c.field === 'saved') {
        if (path.includes(c.id)) throw new FilterCycleError(`saved segment cycle: ${[...path.slice(path.indexOf(c.id)), c.id].join(' → ')}`);
        const s = saved?.get(c.id);
        if (!s) throw new FilterError(`saved segment ${c.id} not found`);
        path.push(c.id);
        const hit = go(s, depth + 1);
        path.pop();
        if (hit) return true;
      } else if (visit(c)) return true;
    }
    return g.exclude ? go(g.exclude, depth + 1) : false;
  };
  return go(f, 0);
}

/**
 * Checks that the filter, with its saved references inlined, is within MAX_FILTER_CONDITIONS,
 * MAX_FILTER_VALUES and MAX_FILTER_DEPTH, has no cycle and refers only to known saved segments (throws otherwise).
 * Every compile entry point calls it; the UI API calls it first to answer before any other work.
 */
export function checkFilterBounds(f: SegmentFilter, saved?: ReadonlyMap<string, SegmentFilter>, o: BoundsOptions = {}): void {
  walkBounded(f, saved, () => false, o);
}

/**
 * Does any condition (saved references followed, exclusions included) satisfy pred? Walks the
 * same expansion, to the same depth, as compilePredicate (walkBounded: never a silent cut-off,
 * which once let the join decision miss a contact field the compiler did emit).
 */
function someCondition(f: SegmentFilter, saved: ReadonlyMap<string, SegmentFilter> | undefined, pred: (c: Condition) => boolean): boolean {
  return walkBounded(f, saved, pred);
}

/** Does the filter (saved references followed, exclusions included) use a condition of this field? */
export function filterUses(f: SegmentFilter, saved: ReadonlyMap<string, SegmentFilter> | undefined, field: Condition['field']): boolean {
  return someCondition(f, saved, (c) => c.field === field);
}

/** Conditions on the contact's own columns (contacts c; label_facts keeps copies). */
export const CONTACT_FIELDS: ReadonlySet<string> = new Set([
  'source', 'responsible', 'city', 'uf', 'has_email', 'has_phone', 'reachable', 'search', ...CUSTOMER_FIELDS,
]);

/** Does the compiled predicate need the contacts join? Follows the filter exactly as deep as the compiler. */
export function needsContacts(f: SegmentFilter, saved?: ReadonlyMap<string, SegmentFilter>): boolean {
  return someCondition(f, saved, (c) => CONTACT_FIELDS.has(c.field));
}

/** Columns of label_cube a condition may use: then the count is a sum over the cube's cells. */
const CUBE_RANGE_KEYS: ReadonlySet<string> = new Set(['r', 'f', 'm']);
const onCube = (c: Condition) =>
  c.field === 'segment' || c.field === 'lifecycle' || c.field === 'rfm' || c.field === 'sleeping' || (c.field === 'range' && CUBE_RANGE_KEYS.has(c.key));

/** Can label_cube answer the filter (every condition, saved ones and exclusions included, on cube columns)? */
export function cubeAnswers(f: SegmentFilter, saved?: ReadonlyMap<string, SegmentFilter>): boolean {
  return !someCondition(f, saved, (c) => !onCube(c));
}

/**
 * Can label_company_cube answer the filter (migration 030: every condition, saved ones and
 * exclusions included, on the contact's company, and at least one)? Then the count sums a row per
 * company instead of scanning a row per contact.
 */
export function companyCubeAnswers(f: SegmentFilter, saved?: ReadonlyMap<string, SegmentFilter>): boolean {
  return someCondition(f, saved, isCompanyCondition) && !someCondition(f, saved, (c) => !isCompanyCondition(c));
}

/** A negated condition: none of the values, contains none of the parts. */
const isNegated = (c: Condition) => 'op' in c && (c.op === 'not_in' || c.op === 'not_contains');

/**
 * Is the filter likely to match most of the run's contacts? Its top level only: "everyone but"
 * (no condition besides an exclusion), or only negated conditions (responsible none of, job title
 * contains none of…), with no `any` group. A guess for the live count (compile.ts compileCount:
 * it then counts the rows that do not match); exact either way.
 */
export function mostlyMatches(f: SegmentFilter): boolean {
  if (f.any?.length) return false;
  return f.all.length ? f.all.every(isNegated) : f.exclude !== undefined;
}
