/**
 * Admin-editable scoring settings: zod schema with defaults. `scoringSettingsSchema.parse({})`
 * gives the full default settings; the UI and server reuse the schema to validate edits.
 */
import { z } from 'zod';
import { SEGMENT_CODES } from './codes.js';
import { uncoveredCells } from './segments.js';

const level = z.number().int().min(1).max(5);
const levelRange = z
  .tuple([level, level])
  .refine(([lo, hi]) => lo <= hi, { message: 'range must be [low, high] with low ≤ high', params: { i18n: 'lowAboveHigh' } });

export const segmentRuleSchema = z.object({
  segment: z.enum(SEGMENT_CODES).exclude(['no_purchases']),
  /** inclusive level ranges; a missing range means "any level" */
  r: levelRange.optional(),
  f: levelRange.optional(),
  m: levelRange.optional(),
});
export type SegmentRule = z.infer<typeof segmentRuleSchema>;

/** Default rule tables, applied first match wins. Levels: 1 = worst … 3 or 5 = best. */
export const DEFAULT_RULES_5: SegmentRule[] = [
  { segment: 'champions', r: [4, 5], f: [4, 5], m: [4, 5] },
  { segment: 'loyal', r: [3, 5], f: [3, 5] },
  { segment: 'potential_loyalist', r: [4, 5], f: [2, 2] },
  { segment: 'new', r: [5, 5], f: [1, 1] },
  { segment: 'promising', r: [4, 4], f: [1, 1] },
  { segment: 'need_attention', r: [3, 3], f: [2, 2] },
  { segment: 'about_to_sleep', r: [3, 3], f: [1, 1] },
  { segment: 'cant_lose', r: [1, 2], f: [4, 5], m: [4, 5] },
  { segment: 'at_risk', r: [1, 2], f: [3, 5] },
  { segment: 'hibernating', r: [2, 2], f: [1, 2] },
  { segment: 'lost', r: [1, 1], f: [1, 2] },
];

export const DEFAULT_RULES_3: SegmentRule[] = [
  { segment: 'champions', r: [3, 3], f: [3, 3], m: [2, 3] },
  { segment: 'loyal', r: [2, 3], f: [3, 3] },
  { segment: 'potential_loyalist', r: [3, 3], f: [2, 2] },
  { segment: 'new', r: [3, 3], f: [1, 1] },
  { segment: 'need_attention', r: [2, 2], f: [2, 2] },
  { segment: 'about_to_sleep', r: [2, 2], f: [1, 1] },
  { segment: 'cant_lose', r: [1, 1], f: [3, 3], m: [3, 3] },
  { segment: 'at_risk', r: [1, 1], f: [2, 3] },
  { segment: 'hibernating', r: [1, 1], f: [1, 1], m: [2, 3] },
  { segment: 'lost', r: [1, 1], f: [1, 1], m: [1, 1] },
];

function rulesFor(scale: 3 | 5) {
  return z.array(segmentRuleSchema).min(1).superRefine((rules, ctx) => {
    rules.forEach((rule, i) => {
      for (const dim of ['r', 'f', 'm'] as const) {
        const range = rule[dim];
        if (range && range[1] > scale) {
          ctx.addIssue({ code: 'custom', path: [i, dim], message: `level ${range[1]} is above the ${scale}-level scale`, params: { i18n: 'aboveScale', scale } });
        }
      }
    });
    const missing = uncoveredCells(rules, scale);
    if (missing.length > 0) {
      ctx.addIssue({
        code: 'custom',
        message: `rules leave ${missing.length} RFM cell(s) without a segment, e.g. ${missing.slice(0, 5).join(', ')}`,
        params: { i18n: 'cellsUncovered', count: missing.length, cells: missing.slice(0, 5).join(', ') },
      });
    }
  });
}

export const segmentRulesSchema = z.object({
  scale3: rulesFor(3).default(DEFAULT_RULES_3),
  scale5: rulesFor(5).default(DEFAULT_RULES_5),
});

const ascending = (xs: number[]) => xs.every((v, i) => i === 0 || v > xs[i - 1]!);
const descending = (xs: number[]) => xs.every((v, i) => i === 0 || v < xs[i - 1]!);

function fixedFor(levels: 3 | 5) {
  const n = levels - 1;
  return z.object({
    /** days; a customer earns one level for each bound their recency is strictly below (descending list) */
    recency: z.array(z.number().nonnegative()).length(n).refine(descending, { message: 'recency bounds must be strictly descending', params: { i18n: 'descending' } }),
    /** purchase days; one level for each bound the count is strictly above (ascending list) */
    frequency: z.array(z.number().nonnegative()).length(n).refine(ascending, { message: 'frequency bounds must be strictly ascending', params: { i18n: 'ascending' } }),
    /** base currency; one level for each bound the amount is strictly above (ascending list) */
    monetary: z.array(z.number()).length(n).refine(ascending, { message: 'monetary bounds must be strictly ascending', params: { i18n: 'ascending' } }),
  });
}

export const interestMapEntrySchema = z.object({
  sectionId: z.number().int(),
  tag: z.string().min(1),
  windowDays: z.number().int().positive(),
  related: z.array(z.object({ tag: z.string().min(1), windowDays: z.number().int().positive() })).default([]),
});
export type InterestMapEntry = z.infer<typeof interestMapEntrySchema>;

export const scoringSettingsSchema = z.object({
  rfm: z
    .object({
      scale: z.union([z.literal(3), z.literal(5)]).default(5),
      mode: z.enum(['quantile', 'fixed']).default('quantile'),
      /** count only purchase days within the last N months for F (null = all time) */
      frequencyWindowMonths: z.number().int().positive().nullable().default(null),
      /** a day whose deals all have amount 0 (a free order) counts as a purchase day of value 0 */
      freeOrdersArePurchases: z.boolean().default(true),
      /** M = total of all purchase days, or their average */
      monetary: z.enum(['total', 'average']).default('total'),
      fixed: z
        .object({
          scale3: fixedFor(3).default({ recency: [180, 60], frequency: [1, 3], monetary: [20_000, 150_000] }),
          scale5: fixedFor(5).default({
            recency: [365, 180, 90, 30],
            frequency: [1, 2, 4, 8],
            monetary: [10_000, 50_000, 150_000, 500_000],
          }),
        })
        .prefault({}),
    })
    .prefault({}),
  segments: segmentRulesSchema.prefault({}),
  lifecycle: z
    .object({
      regularMinPurchaseDays: z.number().int().min(2).default(3),
      regularWindowMonths: z.number().int().positive().default(12),
      returningMinPurchaseDays: z.number().int().min(2).default(2),
      /** lost-deal reasons (id or text, case-insensitive) that mean "closed without response" */
      noResponseReasons: z.array(z.string()).default(['no response', 'no_response', 'не отвечает', 'нет ответа']),
    })
    .prefault({})
    .refine((l) => l.regularMinPurchaseDays >= l.returningMinPurchaseDays, {
      message: 'regularMinPurchaseDays must be ≥ returningMinPurchaseDays',
      path: ['regularMinPurchaseDays'],
      params: { i18n: 'regularBelowReturning' },
    }),
  sleeping: z
    .object({
      /** sleeping when days since last purchase > median gap × (1 + missedCycles) */
      missedCycles: z.number().positive().default(1),
      /** one-time buyers sleep after this many days */
      oneTimeDays: z.number().int().positive().default(180),
    })
    .prefault({}),
  interests: z
    .object({
      /** depth in the section tree that becomes a tag (1 = top-level sections) */
      depth: z.number().int().min(1).default(1),
      defaultWindowDays: z.number().int().positive().default(365),
      map: z.array(interestMapEntrySchema).default([]),
    })
    .prefault({}),
  models: z
    .object({
      enabled: z.boolean().default(true),
      /** time unit of the fitted parameters (predictions do not depend on it) */
      timeUnit: z.enum(['day', 'week']).default('week'),
      minRepeatCustomers: z.number().int().min(1).default(30),
      horizonDays: z.number().int().positive().default(365),
      annualDiscountRate: z.number().min(0).max(10).default(0.1),
      /** share of revenue that is profit; 1 = CLV in revenue */
      margin: z.number().positive().max(1).default(1),
      starts: z.number().int().min(1).max(4).default(3),
      /** above this many unique (x, t_x, T) triples the times are rounded to a coarser grid */
      maxFitTriples: z.number().int().min(100).default(20_000),
    })
    .prefault({}),
});

export type ScoringSettings = z.infer<typeof scoringSettingsSchema>;
export type ScoringSettingsInput = z.input<typeof scoringSettingsSchema>;

export const DEFAULT_SETTINGS: ScoringSettings = scoringSettingsSchema.parse({});
