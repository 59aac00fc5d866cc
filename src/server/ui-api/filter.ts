/**
 * Segment filter AST (zod-validated) and its compiler to parameterised SQL over
 * contact_labels (alias l) joined to contacts (alias c). User input only ever travels as
 * bind parameters; identifiers come from fixed whitelists (UF keys are validated and passed
 * as a parameter to the jsonb operator, never spliced).
 *
 * A filter: { all: [conditions...] (AND), any?: [conditions...] (OR group), exclude?: filter }.
 * `exclude` gives "A minus B": rows matching A and not B.
 *
 * Two more targets serve counts (compileCount; tables of migration 005): label_cube when the
 * filter uses only cube dimensions (segment, lifecycle, RFM cell, R/F/M, sleeping), else
 * label_facts (the run's label columns plus the contact's own filter columns, no join).
 */
import { z } from 'zod';
import { LIFECYCLE_CODES, SEGMENT_CODES } from '../../scoring/index.js';
import type { FactsDicts } from '../../store/scores.js';
import { MAX_FILTER_CONDITIONS, MAX_FILTER_DEPTH, MAX_FILTER_VALUES } from './limits.js';

const num = z.number().finite();
const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD');
const shortText = z.string().trim().min(1).max(200);
const ufKey = z.string().regex(/^UF_CRM_[A-Z0-9_]{1,60}$/, 'must be a UF_CRM_* field name');

export const RANGE_FIELDS = ['r', 'f', 'm', 'monetary', 'clv', 'p_alive', 'recency_days', 'frequency'] as const;

export const conditionSchema = z.discriminatedUnion('field', [
  z.object({ field: z.literal('segment'), values: z.array(z.enum(SEGMENT_CODES)).min(1).max(20) }),
  z.object({ field: z.literal('lifecycle'), values: z.array(z.enum(LIFECYCLE_CODES)).min(1).max(10) }),
  z.object({ field: z.literal('rfm'), values: z.array(z.string().regex(/^[1-5A-E]{3}$/)).min(1).max(125) }),
  z.object({ field: z.literal('range'), key: z.enum(RANGE_FIELDS), min: num.nullable().optional(), max: num.nullable().optional() }),
  z.object({ field: z.literal('sleeping'), value: z.boolean() }),
  z.object({ field: z.literal('interests'), mode: z.enum(['all', 'any']).default('any'), values: z.array(shortText).min(1).max(50) }),
  z.object({ field: z.literal('last_purchase'), from: isoDate.nullable().optional(), to: isoDate.nullable().optional() }),
  z.object({ field: z.literal('source'), values: z.array(z.string().max(100)).min(1).max(100) }),
  z.object({ field: z.literal('responsible'), values: z.array(z.number().int().positive()).min(1).max(200) }),
  z.object({ field: z.literal('city'), op: z.enum(['in', 'contains']).default('in'), values: z.array(shortText).min(1).max(100) }),
  z.object({
    field: z.literal('uf'),
    key: ufKey,
    op: z.enum(['eq', 'contains', 'empty', 'not_empty']),
    value: z.string().max(200).optional(),
  }),
  z.object({ field: z.literal('has_email'), value: z.boolean() }),
  z.object({ field: z.literal('has_phone'), value: z.boolean() }),
  z.object({ field: z.literal('reachable'), value: z.boolean() }),
  z.object({ field: z.literal('saved'), id: z.string().regex(/^[a-z0-9-]{1,40}$/) }),
]);
export type Condition = z.infer<typeof conditionSchema>;

export interface SegmentFilter {
  all: Condition[];
  any?: Condition[];
  exclude?: SegmentFilter;
}

/**
 * How deep `exclude` nests in a raw (not yet validated) value, counted iteratively, so a body
 * nested thousands of levels deep is measured without recursion.
 */
export function rawExcludeDepth(v: unknown): number {
  let depth = 0;
  let cur = v;
  for (;;) {
    if (!cur || typeof cur !== 'object' || Array.isArray(cur)) return depth;
    const next = (cur as { exclude?: unknown }).exclude;
    if (next === undefined || next === null) return depth;
    depth++;
    cur = next;
  }
}

/** zod issue params that make the router answer 400 FILTER_TOO_LARGE instead of BAD_REQUEST. */
export const FILTER_TOO_LARGE = 'FILTER_TOO_LARGE';

const filterObjectSchema: z.ZodType<SegmentFilter> = z.lazy(() =>
  z.object({
    all: z.array(conditionSchema).max(40).default([]),
    any: z.array(conditionSchema).max(40).optional(),
    exclude: filterObjectSchema.optional(),
  }),
) as unknown as z.ZodType<SegmentFilter>;

/**
 * A filter. The `exclude` nesting is measured (iteratively) before the recursive schema runs, so
 * a deeply nested body is refused with a message naming the limit instead of exhausting the stack.
 */
export const segmentFilterSchema: z.ZodType<SegmentFilter> = z.preprocess((v, ctx) => {
  const depth = rawExcludeDepth(v);
  if (depth > MAX_FILTER_DEPTH) {
    ctx.addIssue({
      code: 'custom',
      message: `filter too large: exclude is nested ${depth} levels deep (limit ${MAX_FILTER_DEPTH} levels)`,
      params: { error: FILTER_TOO_LARGE },
    });
  }
  return v;
}, filterObjectSchema) as unknown as z.ZodType<SegmentFilter>;

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
} as const;
export type SortColumn = keyof typeof SORT_COLUMNS;

const RANGE_SQL: Record<(typeof RANGE_FIELDS)[number], string> = {
  r: 'l.r', f: 'l.f', m: 'l.m', monetary: 'l.monetary', clv: 'l.clv', p_alive: 'l.p_alive',
  recency_days: 'l.recency_days', frequency: 'l.frequency',
};

/** Collects bind parameters; `p(v)` returns the placeholder. */
export class Params {
  readonly values: unknown[] = [];
  constructor(initial: unknown[] = []) {
    this.values.push(...initial);
  }
  p(v: unknown): string {
    this.values.push(v);
    return `$${this.values.length}`;
  }
}

export interface CompileOptions {
  /** saved segments by id, for `saved` references (their filters are inlined) */
  saved?: ReadonlyMap<string, SegmentFilter>;
  /**
   * 'labels' (default): contact_labels l joined to contacts c. 'facts': label_facts l alone
   * (contact fields read from l's copies, coded with `dicts`; see compileCount).
   */
  target?: 'labels' | 'facts';
  /** the portal's count-table dictionaries, for target 'facts' */
  dicts?: FactsDicts;
}

export class FilterError extends Error {
  override name = 'FilterError';
}

/** The filter's expansion is over MAX_FILTER_CONDITIONS, MAX_FILTER_VALUES or MAX_FILTER_DEPTH (400 FILTER_TOO_LARGE). */
export class FilterTooLargeError extends FilterError {
  override name = 'FilterTooLargeError';
  constructor(readonly limit: 'conditions' | 'values' | 'depth', readonly max: number, message: string) {
    super(message);
  }
}

/** A saved segment reaches itself through its references (400 FILTER_CYCLE). */
export class FilterCycleError extends FilterError {
  override name = 'FilterCycleError';
}

export interface BoundsOptions {
  /** how the filter is named in messages (default "filter") */
  what?: string;
  /** the filter is the saved segment with this id: a reference back to it is a cycle */
  selfId?: string;
}

/** What a condition weighs against MAX_FILTER_VALUES: its list's length, else 1. */
export function conditionValues(c: Condition): number {
  return 'values' in c && Array.isArray(c.values) ? c.values.length : 1;
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
 * Every compile entry point calls it; the router calls it first to answer before any other work.
 */
export function checkFilterBounds(f: SegmentFilter, saved?: ReadonlyMap<string, SegmentFilter>, o: BoundsOptions = {}): void {
  walkBounded(f, saved, () => false, o);
}

/** Does the compiled predicate need the contacts join? Follows the filter exactly as deep as the compiler. */
export function needsContacts(f: SegmentFilter, saved?: ReadonlyMap<string, SegmentFilter>): boolean {
  return someCondition(f, saved, (c) => CONTACT_FIELDS.has(c.field));
}

const CONTACT_FIELDS: ReadonlySet<string> = new Set(['source', 'responsible', 'city', 'uf', 'has_email', 'has_phone', 'reachable']);
/** Columns of label_cube a condition may use: then the count is a sum over the cube's cells. */
const CUBE_RANGE_KEYS: ReadonlySet<string> = new Set(['r', 'f', 'm']);
const onCube = (c: Condition) =>
  c.field === 'segment' || c.field === 'lifecycle' || c.field === 'rfm' || c.field === 'sleeping' || (c.field === 'range' && CUBE_RANGE_KEYS.has(c.key));

/** Can label_cube answer the filter (every condition, saved ones and exclusions included, on cube columns)? */
export function cubeAnswers(f: SegmentFilter, saved?: ReadonlyMap<string, SegmentFilter>): boolean {
  return !someCondition(f, saved, (c) => !onCube(c));
}

/**
 * Does any condition (saved references followed, exclusions included) satisfy pred? Walks the
 * same expansion, to the same depth, as compilePredicate (walkBounded: never a silent cut-off,
 * which once let the join decision miss a contact field the compiler did emit).
 */
function someCondition(f: SegmentFilter, saved: ReadonlyMap<string, SegmentFilter> | undefined, pred: (c: Condition) => boolean): boolean {
  return walkBounded(f, saved, pred);
}

/**
 * label_facts keeps a contact's UF_CRM_* values without null, "" and [] (migration 005), as bits
 * (ukeys, uvals) and uf_rest. The filters answer the same on those as on contacts.uf, except where
 * an empty value could match: eq "" or "[]", and contains a part of "[]" (the text of an empty
 * array). Those read contacts.uf.
 */
const ufNeedsContacts = (c: Extract<Condition, { field: 'uf' }>) =>
  (c.op === 'eq' && (c.value === '' || c.value === '[]')) || (c.op === 'contains' && c.value !== undefined && '[]'.includes(c.value));

function compileCondition(c: Condition, ps: Params, opts: CompileOptions, depth: number): string {
  if (opts.target === 'facts') {
    if (!opts.dicts) throw new Error('compile for label_facts without its dictionaries');
    const sql = compileFactsCondition(c, ps, opts.dicts);
    if (sql !== null) return sql;
  }
  switch (c.field) {
    case 'segment':
      return `l.segment = ANY(${ps.p(c.values)}::text[])`;
    case 'lifecycle':
      return `l.lifecycle = ANY(${ps.p(c.values)}::text[])`;
    case 'rfm':
      return `l.rfm = ANY(${ps.p(c.values)}::text[])`;
    case 'range': {
      const col = RANGE_SQL[c.key];
      const parts: string[] = [];
      if (c.min !== undefined && c.min !== null) parts.push(`${col} >= ${ps.p(c.min)}::float8`);
      if (c.max !== undefined && c.max !== null) parts.push(`${col} <= ${ps.p(c.max)}::float8`);
      return parts.length ? parts.join(' AND ') : 'TRUE';
    }
    case 'sleeping':
      return c.value ? 'l.sleeping' : 'NOT l.sleeping';
    case 'interests':
      return c.mode === 'all' ? `l.interests @> ${ps.p(c.values)}::text[]` : `l.interests && ${ps.p(c.values)}::text[]`;
    case 'last_purchase': {
      const parts: string[] = [];
      if (c.from) parts.push(`l.last_purchase >= ${ps.p(c.from)}::date`);
      if (c.to) parts.push(`l.last_purchase <= ${ps.p(c.to)}::date`);
      return parts.length ? parts.join(' AND ') : 'TRUE';
    }
    case 'source':
      return `c.source_id = ANY(${ps.p(c.values)}::text[])`;
    case 'responsible':
      return `c.assigned_by_id = ANY(${ps.p(c.values)}::bigint[])`;
    case 'city':
      if (c.op === 'in') return `lower(c.city) = ANY(${ps.p(c.values.map((v) => v.toLowerCase()))}::text[])`;
      return `(${c.values.map((v) => `c.city ILIKE ${ps.p(`%${escapeLike(v)}%`)}`).join(' OR ')})`;
    case 'uf':
      return ufPredicate(c, ps, 'c.uf');
    case 'has_email':
    case 'has_phone':
    case 'reachable':
      return reachPredicate(c.field, c.value, 'c');
    case 'saved': {
      const s = opts.saved?.get(c.id);
      if (!s) throw new FilterError(`saved segment ${c.id} not found`);
      // checkFilterBounds (compilePredicate) has walked this expansion already: never reached
      if (depth >= MAX_FILTER_DEPTH) throw new FilterTooLargeError('depth', MAX_FILTER_DEPTH, `filter too large (limit ${MAX_FILTER_DEPTH} levels)`);
      return `(${predicate(s, ps, opts, depth + 1)})`;
    }
  }
}

/** int8 (as text, for a bind parameter) with the given bits set; bit 63 is the sign bit. */
const bitsOf = (bits: number[]) => BigInt.asIntN(64, bits.reduce((m, b) => m | (1n << BigInt(b)), 0n)).toString();

/**
 * A coded column: label_facts.<col> holds the value's position in the dictionary (at most 63), or
 * 0 and the value in <col>_rest when it had none (met after the rebuild). Values in the dictionary
 * are matched on the code (constants: the planner sees them; seg has an index), the others on
 * <col>_rest.
 */
function codedIn(ps: Params, col: string, dict: readonly string[], values: readonly string[]): string {
  const codes = [...new Set(values.map((v) => dict.indexOf(v) + 1).filter((n) => n > 0))];
  const rest = values.filter((v) => !dict.includes(v));
  const arms: string[] = [];
  if (codes.length) arms.push(`l.${col} = ANY(${ps.p(codes)}::smallint[])`);
  if (rest.length) arms.push(`(l.${col} = 0 AND COALESCE(l.${col}_rest = ANY(${ps.p(rest)}::text[]), false))`);
  return arms.length ? `(${arms.join(' OR ')})` : 'FALSE';
}

/** The bits (bit = code) of the dictionary entries that satisfy cond, found in SQL once per query. */
const codeBitsWhere = (dict: string, cond: (v: string) => string) =>
  `(SELECT COALESCE(bit_or(1::bigint << d.o::int), 0) FROM label_facts_run t, unnest(t.${dict}) WITH ORDINALITY d(v, o) WHERE t.portal_id = $1 AND ${cond('d.v')})`;

/** Conditions over label_facts l that differ from contact_labels / contacts (null: same SQL). */
function compileFactsCondition(c: Condition, ps: Params, d: FactsDicts): string | null {
  switch (c.field) {
    case 'segment':
      return codedIn(ps, 'seg', d.segs, c.values);
    case 'lifecycle':
      return codedIn(ps, 'lc', d.lcs, c.values);
    case 'source':
      return codedIn(ps, 'src', d.srcs, c.values);
    case 'responsible':
      return `l.assigned_by_id = ANY(${ps.p(c.values)}::bigint[])`;
    case 'city': {
      // the dictionary holds lower(city); 'in' values are lower-cased here, as over contacts
      if (c.op === 'in') return codedIn(ps, 'city', d.cities, c.values.map((v) => v.toLowerCase()));
      // city ILIKE p is lower(city) LIKE lower(p) (PostgreSQL's own definition)
      const patterns = c.values.map((v) => ps.p(`%${escapeLike(v)}%`));
      const like = (v: string) => `(${patterns.map((p) => `${v} LIKE lower(${p}::text)`).join(' OR ')})`;
      return `(((1::bigint << l.city) & ${codeBitsWhere('cities', like)}) <> 0 OR (l.city = 0 AND COALESCE(${like('l.city_rest')}, false)))`;
    }
    case 'interests': {
      // tags with a bit in the portal's dictionary are tested on imask, the others on interests_rest
      const bits = [...new Set(c.values.map((v) => d.itags.indexOf(v)).filter((n) => n >= 0))];
      const rest = [...new Set(c.values.filter((v) => !d.itags.includes(v)))];
      const mask = bits.length ? ps.p(bitsOf(bits)) : null;
      const r = rest.length ? ps.p(rest) : null;
      if (c.mode === 'all') {
        const parts = [mask ? `(l.imask & ${mask}::bigint) = ${mask}::bigint` : null, r ? `COALESCE(l.interests_rest @> ${r}::text[], false)` : null];
        return `(${parts.filter(Boolean).join(' AND ')})`;
      }
      const parts = [mask ? `(l.imask & ${mask}::bigint) <> 0` : null, r ? `COALESCE(l.interests_rest && ${r}::text[], false)` : null];
      return `(${parts.filter(Boolean).join(' OR ')})`;
    }
    case 'uf': {
      if (ufNeedsContacts(c)) {
        return `EXISTS (SELECT 1 FROM contacts c WHERE c.portal_id = l.portal_id AND c.id = l.contact_id AND ${ufPredicate(c, ps, 'c.uf')})`;
      }
      // label_facts keeps non-empty values only: having the key is not_empty. A key with a bit is
      // tested on ukeys; the values of a key without one are all in uf_rest.
      if (c.op === 'not_empty' || c.op === 'empty') {
        const kbit = d.ukeys.indexOf(c.key);
        const has = kbit >= 0 ? `((l.ukeys & ${ps.p(bitsOf([kbit]))}::bigint) <> 0)` : `COALESCE(l.uf_rest ? ${ps.p(c.key)}::text, false)`;
        return c.op === 'not_empty' ? has : `NOT ${has}`;
      }
      if (c.value === undefined) throw new FilterError(`uf ${c.key}: value required for ${c.op}`);
      // the dictionary's values that match (eq: looked up here; contains: searched in SQL once), or a value kept in uf_rest
      let vbits: string;
      if (c.op === 'eq') {
        const vbit = d.uvals.indexOf(`${c.key}\u001f${c.value}`);
        vbits = `${ps.p(vbit >= 0 ? bitsOf([vbit]) : '0')}::bigint`;
      } else {
        const key = ps.p(c.key);
        vbits = `(SELECT COALESCE(bit_or(1::bigint << (d.o - 1)::int), 0) FROM label_facts_run t, unnest(t.uvals) WITH ORDINALITY d(p, o)
             WHERE t.portal_id = $1 AND left(d.p, length(${key}::text) + 1) = ${key}::text || chr(31)
               AND substr(d.p, length(${key}::text) + 2) ILIKE ${ps.p(`%${escapeLike(c.value)}%`)}::text)`;
      }
      // uf_rest is read only where it holds this key's value (urest), or for a key without a bit
      const kbit = d.ukeys.indexOf(c.key);
      const inRest = kbit >= 0 ? `(l.urest & ${ps.p(bitsOf([kbit]))}::bigint) <> 0` : 'l.uf_rest IS NOT NULL';
      return `((l.uvals & ${vbits}) <> 0 OR (${inRest} AND COALESCE(${ufPredicate(c, ps, 'l.uf_rest')}, false)))`;
    }
    case 'has_email':
    case 'has_phone':
    case 'reachable':
      return reachPredicate(c.field, c.value, 'l');
    default:
      return null;
  }
}

/** has email / has phone / reachable (either) on a row that carries the contact's has_email and has_phone (alias c or l). */
function reachPredicate(field: 'has_email' | 'has_phone' | 'reachable', value: boolean, alias: 'c' | 'l'): string {
  const p = field === 'reachable' ? `(${alias}.has_email OR ${alias}.has_phone)` : `${alias}.${field}`;
  return value ? p : `NOT ${p}`;
}

function ufPredicate(c: Extract<Condition, { field: 'uf' }>, ps: Params, uf: string): string {
  const key = ps.p(c.key);
  if (c.op === 'empty') return `(${uf}->>${key} IS NULL OR ${uf}->>${key} = '' OR ${uf}->${key} = '[]'::jsonb)`;
  if (c.op === 'not_empty') return `(${uf}->>${key} IS NOT NULL AND ${uf}->>${key} <> '' AND ${uf}->${key} <> '[]'::jsonb)`;
  if (c.value === undefined) throw new FilterError(`uf ${c.key}: value required for ${c.op}`);
  if (c.op === 'eq') return `(${uf}->>${key} = ${ps.p(c.value)} OR ${uf}->${key} @> ${ps.p(JSON.stringify([c.value]))}::jsonb)`;
  return `${uf}->>${key} ILIKE ${ps.p(`%${escapeLike(c.value)}%`)}`;
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (ch) => `\\${ch}`);
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
  source: 'cube' | 'facts';
}

/** Revenue of a label row (also label_facts), summed for counts: M, the total purchase value. */
export const REVENUE_SQL = `COALESCE(l.monetary, 0)`;

/**
 * The live count (count + revenue) over the tables of migration 005: label_cube when it can answer
 * (no dictionaries needed), else label_facts coded with the portal's dictionaries `dicts`. Only
 * valid when `tracked` comes back true (label_facts_run still holds the run, and for label_facts
 * the same partition the dictionaries belong to); else count over compileFilter (contact_labels
 * joined to contacts).
 */
export function compileCount(portalId: number, runId: number, f: SegmentFilter, opts: CompileOptions = {}, dicts?: FactsDicts): CompiledCount {
  const ps = new Params([portalId, runId]);
  if (cubeAnswers(f, opts.saved)) {
    const pred = compilePredicate(f, ps, { ...opts, target: 'labels' });
    return {
      sql: `SELECT EXISTS (SELECT 1 FROM label_facts_run t WHERE t.portal_id = $1 AND t.run_id = $2) AS tracked,
                   COALESCE(sum(l.n), 0)::int AS count, COALESCE(sum(l.revenue), 0)::float8 AS revenue
              FROM label_cube l WHERE l.portal_id = $1 AND l.run_id = $2 AND ${pred}`,
      params: ps.values,
      source: 'cube',
    };
  }
  if (!dicts) throw new Error('compileCount: this filter needs label_facts and its dictionaries (readFactsDicts)');
  const tbl = ps.p(dicts.tbl);
  const pred = compilePredicate(f, ps, { ...opts, target: 'facts', dicts });
  // as the inner join with contacts did: a label whose contact is gone never matches a filter on contact fields
  const guard = needsContacts(f, opts.saved) ? 'l.has_contact AND ' : '';
  return {
    // label_facts holds the tracked run only (one partition per portal)
    sql: `SELECT EXISTS (SELECT 1 FROM label_facts_run t WHERE t.portal_id = $1 AND t.run_id = $2 AND t.tbl = ${tbl}) AS tracked,
                 count(*)::int AS count, COALESCE(sum(l.monetary), 0)::float8 AS revenue
            FROM label_facts l WHERE l.portal_id = $1 AND ${guard}${pred}`,
    params: ps.values,
    source: 'facts',
  };
}

/** FROM/WHERE over one score run of one portal. `forceContacts` adds the join even when unneeded. */
export function compileFilter(portalId: number, runId: number, f: SegmentFilter, opts: CompileOptions = {}, forceContacts = false): CompiledQuery {
  const ps = new Params([portalId, runId]);
  const pred = compilePredicate(f, ps, opts);
  const joinsContacts = forceContacts || needsContacts(f, opts.saved);
  const from = joinsContacts
    ? 'FROM contact_labels l JOIN contacts c ON c.portal_id = l.portal_id AND c.id = l.contact_id'
    : 'FROM contact_labels l';
  return { fromWhere: `${from} WHERE l.portal_id = $1 AND l.run_id = $2 AND ${pred}`, params: ps.values, joinsContacts };
}
