/**
 * Conditions over label columns that label_facts does not copy (first / next purchase relative to
 * the run, the previous segment, interests ever bought, the refusal reason) and the name search, as SQL over a
 * contact_labels row of any alias (predicate.ts uses `l`; over label_facts, facts.ts wraps them in
 * an EXISTS over the same run's contact_labels row). User input only as bind parameters.
 */
import type { Condition } from '../settings/segment-filter.js';
import { refusalReasonKey } from '../settings/refusal.js';
import { escapeLike, type Params } from './sql.js';

/**
 * A value computed from the run's as-of day ($1 portal, $2 run: every compiled query's first
 * parameters), as one sub-select: PostgreSQL runs it once per query (an InitPlan). Put the whole
 * bound inside it: `day - interval` outside would be computed again for every row scanned
 * (measured: an age range over 1M rows of label_facts took 205 ms so, 100 ms as one InitPlan).
 */
export const fromAsOfDay = (expr: (day: string) => string): string =>
  `(SELECT ${expr(`(r.as_of AT TIME ZONE 'UTC')::date`)} FROM score_runs r WHERE r.portal_id = $1 AND r.id = $2)`;

/** The run's as-of day. */
export const AS_OF_DAY = fromAsOfDay((day) => day);

/** Range keys that read contact_labels only (not label_facts). */
export const LABEL_ONLY_RANGES: ReadonlySet<string> = new Set(['first_purchase_days', 'next_purchase_days']);

/** The SQL value of a range key that is not a plain column. */
export function relativeDays(key: string, a: string): string | null {
  if (key === 'first_purchase_days') return `(${AS_OF_DAY} - ${a}.first_purchase)`;
  if (key === 'next_purchase_days') return `(${a}.next_purchase - ${AS_OF_DAY})`;
  return null;
}

/** Interests bought at any time: extra.interestsEver (runs before it was kept: the active tags). */
export function interestsEver(c: Extract<Condition, { field: 'interests' }>, ps: Params, a: string): string {
  const ever = `COALESCE(${a}.extra->'interestsEver', to_jsonb(${a}.interests))`;
  return `(${ever} ${c.mode === 'all' ? '?&' : '?|'} ${ps.p(c.values)}::text[])`;
}

export function prevSegment(c: Extract<Condition, { field: 'prev_segment' }>, ps: Params, a: string): string {
  return `(${a}.extra->>'prevSegment') = ANY(${ps.p(c.values)}::text[])`;
}

/** Refused contacts whose refusal reason is one of the values (by key, extra.refusalReasonKey). */
export function refusalReason(c: Extract<Condition, { field: 'refusal_reason' }>, ps: Params, a: string): string {
  return `(${a}.lifecycle = 'refused' AND (${a}.extra->>'refusalReasonKey') = ANY(${ps.p([...new Set(c.values.map(refusalReasonKey))])}::text[]))`;
}

/** The lookup key of a search text (CompileOptions.searchIds). */
export const searchKey = (text: string): string => text.trim().toLowerCase();

/**
 * A name search over contacts c: any part of "first second last" or "last first", case-insensitive;
 * a number is also a contact ID; `ids` are contacts found by phone or e-mail (looked up by the caller).
 */
export function nameSearch(text: string, ps: Params, c: string, contactId: string, ids: readonly number[] | undefined): string {
  const p = ps.p(`%${escapeLike(text.trim().toLowerCase())}%`);
  const full = `lower(concat_ws(' ', ${c}.name, ${c}.second_name, ${c}.last_name))`;
  const rev = `lower(concat_ws(' ', ${c}.last_name, ${c}.name))`;
  const parts = [`${full} LIKE ${p}`, `${rev} LIKE ${p}`];
  const n = Number(text.trim().replace(/^#/, ''));
  if (/^#?\d{1,15}$/.test(text.trim()) && Number.isSafeInteger(n)) parts.push(`${contactId} = ${ps.p(n)}::bigint`);
  if (ids && ids.length) parts.push(`${contactId} = ANY(${ps.p([...ids])}::bigint[])`);
  return `(${parts.join(' OR ')})`;
}
