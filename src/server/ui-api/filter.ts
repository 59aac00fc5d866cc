/**
 * Segment filter AST (zod-validated) and its compiler to parameterised SQL over
 * contact_labels (alias l) joined to contacts (alias c). User input only ever travels as
 * bind parameters; identifiers come from fixed whitelists (UF keys are validated and passed
 * as a parameter to the jsonb operator, never spliced).
 *
 * A filter: { all: [conditions...] (AND), any?: [conditions...] (OR group), exclude?: filter }.
 * `exclude` gives "A minus B": rows matching A and not B.
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
}

export class FilterError extends Error {
  override name = 'FilterError';
}

/** Does the compiled predicate need the contacts join? */
export function needsContacts(f: SegmentFilter, saved?: ReadonlyMap<string, SegmentFilter>, depth = 0): boolean {
  if (depth > 5) return false;
  const conds = [...f.all, ...(f.any ?? [])];
  for (const c of conds) {
    if (['source', 'responsible', 'city', 'uf', 'has_email', 'has_phone', 'reachable'].includes(c.field)) return true;
    if (c.field === 'saved') {
      const s = saved?.get(c.id);
      if (s && needsContacts(s, saved, depth + 1)) return true;
    }
  }
  return f.exclude ? needsContacts(f.exclude, saved, depth + 1) : false;
}

function compileCondition(c: Condition, ps: Params, opts: CompileOptions, depth: number): string {
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
    case 'uf': {
      const key = ps.p(c.key);
      if (c.op === 'empty') return `(c.uf->>${key} IS NULL OR c.uf->>${key} = '' OR c.uf->${key} = '[]'::jsonb)`;
      if (c.op === 'not_empty') return `(c.uf->>${key} IS NOT NULL AND c.uf->>${key} <> '' AND c.uf->${key} <> '[]'::jsonb)`;
      if (c.value === undefined) throw new FilterError(`uf ${c.key}: value required for ${c.op}`);
      if (c.op === 'eq') return `(c.uf->>${key} = ${ps.p(c.value)} OR c.uf->${key} @> ${ps.p(JSON.stringify([c.value]))}::jsonb)`;
      return `c.uf->>${key} ILIKE ${ps.p(`%${escapeLike(c.value)}%`)}`;
    }
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
