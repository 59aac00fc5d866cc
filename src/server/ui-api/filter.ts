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

export const segmentFilterSchema: z.ZodType<SegmentFilter> = z.lazy(() =>
  z.object({
    all: z.array(conditionSchema).max(40).default([]),
    any: z.array(conditionSchema).max(40).optional(),
    exclude: segmentFilterSchema.optional(),
  }),
) as unknown as z.ZodType<SegmentFilter>;

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
   * (contact fields read from l's copies; see compileCount).
   */
  target?: 'labels' | 'facts';
}

export class FilterError extends Error {
  override name = 'FilterError';
}

/** Does the compiled predicate need the contacts join? */
export function needsContacts(f: SegmentFilter, saved?: ReadonlyMap<string, SegmentFilter>, depth = 0): boolean {
  return someCondition(f, saved, (c) => CONTACT_FIELDS.has(c.field), depth);
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

/** Does any condition (saved references followed, exclusions included) satisfy pred? */
function someCondition(f: SegmentFilter, saved: ReadonlyMap<string, SegmentFilter> | undefined, pred: (c: Condition) => boolean, depth = 0): boolean {
  if (depth > 5) return false;
  for (const c of [...f.all, ...(f.any ?? [])]) {
    if (c.field === 'saved') {
      const s = saved?.get(c.id);
      if (s && someCondition(s, saved, pred, depth + 1)) return true;
    } else if (pred(c)) return true;
  }
  return f.exclude ? someCondition(f.exclude, saved, pred, depth + 1) : false;
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
    const sql = compileFactsCondition(c, ps);
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
      return c.value ? 'c.has_email' : 'NOT c.has_email';
    case 'has_phone':
      return c.value ? 'c.has_phone' : 'NOT c.has_phone';
    case 'reachable':
      return c.value ? '(c.has_email OR c.has_phone)' : 'NOT (c.has_email OR c.has_phone)';
    case 'saved': {
      const s = opts.saved?.get(c.id);
      if (!s) throw new FilterError(`saved segment ${c.id} not found`);
      if (depth >= 4) throw new FilterError('saved segments nest too deeply');
      return `(${compilePredicate(s, ps, opts, depth + 1)})`;
    }
  }
}

/**
 * The bits (bit = code) of the entries of one of the portal's code dictionaries (label_facts_run
 * segs, lcs, srcs, cities; code = position, at most 63) that satisfy cond: searched once per query.
 */
const codeBits = (dict: string, cond: (v: string) => string) =>
  `(SELECT COALESCE(bit_or(1::bigint << d.o::int), 0) FROM label_facts_run t, unnest(t.${dict}) WITH ORDINALITY d(v, o) WHERE t.portal_id = $1 AND ${cond('d.v')})`;
/** A coded column (0: no code, the value then in <col>_rest) whose value satisfies cond. */
const coded = (col: string, dict: string, cond: (v: string) => string) =>
  `(((1::bigint << l.${col}) & ${codeBits(dict, cond)}) <> 0 OR (l.${col} = 0 AND COALESCE(${cond(`l.${col}_rest`)}, false)))`;
const codedIn = (col: string, dict: string, values: string) => coded(col, dict, (v) => `${v} = ANY(${values})`);

/** Conditions over label_facts l that differ from contact_labels / contacts (null: same SQL). */
function compileFactsCondition(c: Condition, ps: Params): string | null {
  switch (c.field) {
    case 'segment':
      return codedIn('seg', 'segs', `${ps.p(c.values)}::text[]`);
    case 'lifecycle':
      return codedIn('lc', 'lcs', `${ps.p(c.values)}::text[]`);
    case 'source':
      return codedIn('src', 'srcs', `${ps.p(c.values)}::text[]`);
    case 'responsible':
      return `l.assigned_by_id = ANY(${ps.p(c.values)}::bigint[])`;
    case 'city': {
      if (c.op === 'in') return codedIn('city', 'cities', `${ps.p(c.values.map((v) => v.toLowerCase()))}::text[]`);
      // city ILIKE p is lower(city) LIKE lower(p) (PostgreSQL's own definition); the dictionary holds lower(city)
      const patterns = c.values.map((v) => ps.p(`%${escapeLike(v)}%`));
      return coded('city', 'cities', (v) => `(${patterns.map((p) => `${v} LIKE lower(${p}::text)`).join(' OR ')})`);
    }
    case 'interests': {
      // tags with a bit in the portal's dictionary are tested on imask, the others on interests_rest
      const tags = ps.p(c.values);
      const bits = `(SELECT label_facts_bits(t.itags, ${tags}::text[]) FROM label_facts_run t WHERE t.portal_id = $1)`;
      const rest = `(SELECT label_facts_rest(t.itags, ${tags}::text[]) FROM label_facts_run t WHERE t.portal_id = $1)`;
      if (c.mode === 'all') return `((l.imask & ${bits}) = ${bits} AND (${rest} IS NULL OR COALESCE(l.interests_rest @> ${rest}, false)))`;
      return `((l.imask & ${bits}) <> 0 OR (${rest} IS NOT NULL AND COALESCE(l.interests_rest && ${rest}, false)))`;
    }
    case 'uf': {
      if (ufNeedsContacts(c)) {
        return `EXISTS (SELECT 1 FROM contacts c WHERE c.portal_id = l.portal_id AND c.id = l.contact_id AND ${ufPredicate(c, ps, 'c.uf')})`;
      }
      // the key's bit in the portal's dictionary (0: none, then its values are all in uf_rest)
      const key = ps.p(c.key);
      const kbit = `(SELECT label_facts_bits(t.ukeys, ARRAY[${key}::text]) FROM label_facts_run t WHERE t.portal_id = $1)`;
      // label_facts keeps non-empty values only: having the key is not_empty
      const has = `(CASE WHEN ${kbit} <> 0 THEN (l.ukeys & ${kbit}) <> 0 ELSE COALESCE(l.uf_rest ? ${key}, false) END)`;
      if (c.op === 'not_empty') return has;
      if (c.op === 'empty') return `NOT ${has}`;
      if (c.value === undefined) throw new FilterError(`uf ${c.key}: value required for ${c.op}`);
      // the dictionary's values that match (searched once), or a value kept in uf_rest
      const vbits = c.op === 'eq'
        ? `(SELECT label_facts_bits(t.uvals, ARRAY[${key}::text || chr(31) || ${ps.p(c.value)}::text]) FROM label_facts_run t WHERE t.portal_id = $1)`
        : `(SELECT COALESCE(bit_or(1::bigint << (d.o - 1)::int), 0) FROM label_facts_run t, unnest(t.uvals) WITH ORDINALITY d(p, o)
             WHERE t.portal_id = $1 AND left(d.p, length(${key}::text) + 1) = ${key}::text || chr(31)
               AND substr(d.p, length(${key}::text) + 2) ILIKE ${ps.p(`%${escapeLike(c.value)}%`)}::text)`;
      return `((l.uvals & ${vbits}) <> 0 OR (l.uf_rest IS NOT NULL AND COALESCE(${ufPredicate(c, ps, 'l.uf_rest')}, false)))`;
    }
    case 'has_email':
      return c.value ? 'l.has_email' : 'NOT l.has_email';
    case 'has_phone':
      return c.value ? 'l.has_phone' : 'NOT l.has_phone';
    case 'reachable':
      return c.value ? '(l.has_email OR l.has_phone)' : 'NOT (l.has_email OR l.has_phone)';
    default:
      return null;
  }
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

/** The WHERE predicate (without portal/run conditions) for a validated filter. */
export function compilePredicate(f: SegmentFilter, ps: Params, opts: CompileOptions = {}, depth = 0): string {
  const parts = f.all.map((c) => `(${compileCondition(c, ps, opts, depth)})`);
  if (f.any && f.any.length) parts.push(`(${f.any.map((c) => `(${compileCondition(c, ps, opts, depth)})`).join(' OR ')})`);
  if (f.exclude) parts.push(`NOT COALESCE((${compilePredicate(f.exclude, ps, opts, depth + 1)}), FALSE)`);
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
 * The live count (count + revenue) over the tables of migration 005. Only valid when `tracked`
 * comes back true (the run is the one label_facts_run holds for the portal); else count over
 * compileFilter (contact_labels joined to contacts).
 */
export function compileCount(portalId: number, runId: number, f: SegmentFilter, opts: CompileOptions = {}): CompiledCount {
  const ps = new Params([portalId, runId]);
  const tracked = 'EXISTS (SELECT 1 FROM label_facts_run t WHERE t.portal_id = $1 AND t.run_id = $2) AS tracked';
  if (cubeAnswers(f, opts.saved)) {
    const pred = compilePredicate(f, ps, { ...opts, target: 'labels' });
    return {
      sql: `SELECT ${tracked}, COALESCE(sum(l.n), 0)::int AS count, COALESCE(sum(l.revenue), 0)::float8 AS revenue
              FROM label_cube l WHERE l.portal_id = $1 AND l.run_id = $2 AND ${pred}`,
      params: ps.values,
      source: 'cube',
    };
  }
  const pred = compilePredicate(f, ps, { ...opts, target: 'facts' });
  // as the inner join with contacts did: a label whose contact is gone never matches a filter on contact fields
  const guard = needsContacts(f, opts.saved) ? 'l.has_contact AND ' : '';
  return {
    // label_facts holds the tracked run only (one partition per portal)
    sql: `SELECT ${tracked}, count(*)::int AS count, COALESCE(sum(l.monetary), 0)::float8 AS revenue
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
