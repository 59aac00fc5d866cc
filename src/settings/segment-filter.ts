/**
 * The segment filter AST: the shape a filter is sent in (the filter builder's requests) and
 * stored in (saved segments, portal settings), validated by zod. What a filter means in SQL, and
 * the bounds on its expansion, are src/segments/ (compile.ts, bounds.ts, limits.ts).
 *
 * A filter: { all: [conditions...] (AND), any?: [conditions...] (OR group), exclude?: filter }.
 * `exclude` gives "A minus B": rows matching A and not B. A `saved` condition refers to a saved
 * segment by id (inlined by the compiler).
 *
 * MAX_FILTER_DEPTH lives here because the schema itself enforces it on the raw value (before the
 * recursive schema runs); src/segments/limits.ts re-exports it with the other filter limits.
 */
import { z } from 'zod';
import { LIFECYCLE_CODES, SEGMENT_CODES } from '../scoring/index.js';

/**
 * Nesting: `exclude` levels plus saved references followed, on any path from the top filter.
 * The UI builds depth 1 or 2 ("A minus saved B", B referring to C); 8 keeps a generous margin
 * (why: src/segments/limits.ts).
 */
export const MAX_FILTER_DEPTH = 8;

const num = z.number().finite();
const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD');
const shortText = z.string().trim().min(1).max(200);
const ufKey = z.string().regex(/^UF_CRM_[A-Z0-9_]{1,60}$/, 'must be a UF_CRM_* field name');

/**
 * Numeric label fields a `range` condition may bound. first_purchase_days: days from the first
 * purchase to the run's as-of day; next_purchase_days: days from the as-of day to the expected next
 * purchase (negative: overdue). Relative to the run, so a saved view keeps its meaning over time.
 */
export const RANGE_FIELDS = [
  'r', 'f', 'm', 'monetary', 'clv', 'p_alive', 'recency_days', 'frequency', 'first_purchase_days', 'next_purchase_days',
] as const;

/**
 * A field of the customer a `crm` condition reads: a custom field (UF_CRM_*) or a standard field
 * by its REST name (HONORIFIC, COMMENTS, UTM_SOURCE...). Upper-case letters, digits and '_' only;
 * the name only ever travels as a bind parameter. Which names a portal has is checked by the UI
 * API against the portal's own field list (src/server/ui-api/customer-fields.ts).
 */
export const crmFieldKey = z.string().regex(/^(UF_CRM_[A-Z0-9_]{1,60}|(?!UF_)[A-Z][A-Z0-9_]{1,49})$/, 'must be a CRM field name (UF_CRM_* or a standard field)');

/**
 * Operators of a `crm` condition, by the field's type (what the CRM's own filter offers):
 * text: eq, neq, contains, not_contains; number: range (min/max); date and datetime: dates
 * (from/to, days); list (enumeration, CRM status, user, ...): in, not_in; yes/no: is (value
 * 'Y' or 'N'); any field: empty, not_empty. A list field that holds several values matches `in`
 * when any of them is listed.
 */
export const CRM_OPS = ['eq', 'neq', 'contains', 'not_contains', 'empty', 'not_empty', 'in', 'not_in', 'range', 'dates', 'is'] as const;
export type CrmOp = (typeof CRM_OPS)[number];

/** Text conditions on one contact column (job title): a list of exact values, a part, or empty / filled. */
const TEXT_OPS = ['in', 'not_in', 'contains', 'not_contains', 'empty', 'not_empty'] as const;
/** List conditions (the company's industry and size: CRM status ids). */
const LIST_OPS = ['in', 'not_in', 'empty', 'not_empty'] as const;

/** Id of a saved segment (also the XML_ID of its item in the saved-segment CRM field). */
export const savedSegmentId = z.string().regex(/^[a-z0-9-]{1,40}$/);

export const conditionSchema = z.discriminatedUnion('field', [
  z.object({ field: z.literal('segment'), values: z.array(z.enum(SEGMENT_CODES)).min(1).max(20) }),
  z.object({ field: z.literal('lifecycle'), values: z.array(z.enum(LIFECYCLE_CODES)).min(1).max(10) }),
  z.object({ field: z.literal('rfm'), values: z.array(z.string().regex(/^[1-5A-E]{3}$/)).min(1).max(125) }),
  z.object({ field: z.literal('range'), key: z.enum(RANGE_FIELDS), min: num.nullable().optional(), max: num.nullable().optional() }),
  z.object({ field: z.literal('sleeping'), value: z.boolean() }),
  /**
   * when 'active' (default): the tag is active (bought in its category within the tag's window);
   * 'ever': bought in that category at any time (contact_labels.extra.interestsEver).
   */
  z.object({
    field: z.literal('interests'), mode: z.enum(['all', 'any']).default('any'), when: z.enum(['active', 'ever']).default('active'),
    values: z.array(shortText).min(1).max(50),
  }),
  z.object({ field: z.literal('last_purchase'), from: isoDate.nullable().optional(), to: isoDate.nullable().optional() }),
  z.object({ field: z.literal('source'), values: z.array(z.string().max(100)).min(1).max(100) }),
  /** op 'not_in': every contact whose responsible is none of these (a contact without one included) */
  z.object({ field: z.literal('responsible'), op: z.enum(['in', 'not_in']).default('in'), values: z.array(z.number().int().positive()).min(1).max(200) }),
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
  z.object({ field: z.literal('saved'), id: savedSegmentId }),
  /** name (any part), contact ID, or a phone / e-mail the UI API looks up with the user's token */
  z.object({ field: z.literal('search'), text: z.string().trim().min(1).max(100) }),
  /** the segment before the latest change of segment */
  z.object({ field: z.literal('prev_segment'), values: z.array(z.enum(SEGMENT_CODES)).min(1).max(20) }),
  /** a fixed list of contacts (a list saved from selected rows) */
  z.object({ field: z.literal('contact'), ids: z.array(z.number().int().positive()).min(1).max(1000) }),
  /** age in whole years on the run's as-of day, from the date of birth (a contact without one never matches) */
  z.object({ field: z.literal('age'), min: z.number().int().min(0).max(150).nullable().optional(), max: z.number().int().min(0).max(150).nullable().optional() }),
  /** job title (POST): 'in' / 'not_in' compare whole titles without case; 'contains' a part */
  z.object({ field: z.literal('post'), op: z.enum(TEXT_OPS), values: z.array(shortText).max(100).optional() }),
  /** created on (DATE_CREATE, the day in UTC): between two days, and/or within `days` days before the run's as-of day */
  z.object({ field: z.literal('created'), from: isoDate.nullable().optional(), to: isoDate.nullable().optional(), days: z.number().int().min(0).max(36500).nullable().optional() }),
  /** the industry of the contact's company (INDUSTRY: CRM status ids); 'not_in' includes contacts without a company */
  z.object({ field: z.literal('company_industry'), op: z.enum(LIST_OPS).default('in'), values: z.array(z.string().min(1).max(100)).max(100).optional() }),
  /** the size of the contact's company (EMPLOYEES: CRM status ids such as EMPLOYEES_2) */
  z.object({ field: z.literal('company_size'), op: z.enum(LIST_OPS).default('in'), values: z.array(z.string().min(1).max(100)).max(100).optional() }),
  /** the annual revenue of the contact's company (REVENUE, as the CRM holds it) */
  z.object({ field: z.literal('company_revenue'), min: num.nullable().optional(), max: num.nullable().optional() }),
  /** any standard or custom field of the contact, with the operators of its type (CRM_OPS) */
  z.object({
    field: z.literal('crm'), key: crmFieldKey, op: z.enum(CRM_OPS),
    value: z.string().max(200).optional(),
    values: z.array(z.string().max(200)).max(100).optional(),
    min: num.nullable().optional(), max: num.nullable().optional(),
    from: isoDate.nullable().optional(), to: isoDate.nullable().optional(),
    days: z.number().int().min(0).max(36500).nullable().optional(),
  }),
  /**
   * refused customers by the reason of their refusal (refusal.ts: compared case- and space-insensitively,
   * so a reason's words or its key both match)
   */
  z.object({ field: z.literal('refusal_reason'), values: z.array(shortText).min(1).max(100) }),
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

/** zod issue params that make the UI API answer 400 FILTER_TOO_LARGE instead of BAD_REQUEST. */
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
