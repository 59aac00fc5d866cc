/**
 * The order of the write-back: value first. The one place for the rule.
 *
 *  - tier 1: the segment changes into or out of the most valuable segments (champions, loyal) or the
 *    most at-risk ones (at_risk, cant_lose): the customers a manager acts on first;
 *  - tier 2: any other segment change, or a lifecycle change;
 *  - tier 3: everything else (a new date, CLV drift, interests, …).
 * Within a tier: predicted value (CLV) descending, else revenue (monetary), then id ascending, so
 * the order is total and a resumed run plans the same order over what is left.
 */
import type { SegmentCode } from '../scoring/codes.js';

export const TOP_VALUE_SEGMENTS: ReadonlySet<SegmentCode> = new Set(['champions', 'loyal']);
export const AT_RISK_SEGMENTS: ReadonlySet<SegmentCode> = new Set(['at_risk', 'cant_lose']);

export type Tier = 1 | 2 | 3;

export interface PriorityInput {
  /** the segment the CRM holds now (null: none) */
  segmentFrom: string | null;
  /** the segment being written, or the same as `segmentFrom` when the segment does not change */
  segmentTo: string | null;
  /** the lifecycle is among the changed fields */
  lifecycleChanged: boolean;
  /** predicted value (CLV) when known */
  clv: number | null;
  /** revenue (monetary) */
  monetary: number | null;
}

const key = (s: string | null): boolean => s !== null && (TOP_VALUE_SEGMENTS.has(s as SegmentCode) || AT_RISK_SEGMENTS.has(s as SegmentCode));

export function tierOf(p: PriorityInput): Tier {
  const segmentChanged = (p.segmentFrom ?? null) !== (p.segmentTo ?? null);
  if (segmentChanged && (key(p.segmentFrom) || key(p.segmentTo))) return 1;
  if (segmentChanged || p.lifecycleChanged) return 2;
  return 3;
}

export interface Prioritized {
  id: number;
  tier: Tier;
  /** the value ordering a tier: CLV, else monetary, else 0 */
  value: number;
}

export function valueOf(p: Pick<PriorityInput, 'clv' | 'monetary'>): number {
  const v = p.clv ?? p.monetary;
  return v !== null && Number.isFinite(v) ? v : 0;
}

/** Compare for Array.sort: tier ascending, value descending, id ascending. */
export function byPriority(a: Prioritized, b: Prioritized): number {
  return comparePriority(a.tier, a.value, a.id, b.tier, b.value, b.id);
}

/** byPriority's rule over bare numbers (plan-order.ts sorts typed arrays with it). */
export function comparePriority(tierA: number, valueA: number, idA: number, tierB: number, valueB: number, idB: number): number {
  return tierA - tierB || valueB - valueA || idA - idB;
}
