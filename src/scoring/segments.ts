/** Named segments from RFM levels: a rule table applied in first-match order. */
import type { Scale, SegmentCode } from './codes.js';

export interface RuleLike {
  segment: Exclude<SegmentCode, 'no_purchases'>;
  r?: readonly [number, number] | undefined;
  f?: readonly [number, number] | undefined;
  m?: readonly [number, number] | undefined;
}

const inRange = (v: number, range: readonly [number, number] | undefined) =>
  range === undefined || (v >= range[0] && v <= range[1]);

export function ruleMatches(rule: RuleLike, r: number, f: number, m: number): boolean {
  return inRange(r, rule.r) && inRange(f, rule.f) && inRange(m, rule.m);
}

/** Index of the first matching rule, or −1. */
export function firstMatchingRule(rules: readonly RuleLike[], r: number, f: number, m: number): number {
  for (let i = 0; i < rules.length; i++) if (ruleMatches(rules[i]!, r, f, m)) return i;
  return -1;
}

/** The segment of an RFM cell; throws if the table does not cover it (the settings schema forbids that). */
export function segmentOf(rules: readonly RuleLike[], r: number, f: number, m: number): Exclude<SegmentCode, 'no_purchases'> {
  const i = firstMatchingRule(rules, r, f, m);
  if (i < 0) throw new Error(`no segment rule covers r=${r} f=${f} m=${m}`);
  return rules[i]!.segment;
}

/** Every cell of a scale, r-major: [1,1,1], [1,1,2], … */
export function allCells(scale: Scale): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (let r = 1; r <= scale; r++) for (let f = 1; f <= scale; f++) for (let m = 1; m <= scale; m++) out.push([r, f, m]);
  return out;
}

/** Cell label: 3 levels as letters A/B/C (C best) e.g. "BCC"; 5 levels as digits e.g. "545". */
export function cellLabel(scale: Scale, r: number, f: number, m: number): string {
  if (scale === 3) return [r, f, m].map((v) => 'ABC'[v - 1]).join('');
  return `${r}${f}${m}`;
}

export function uncoveredCells(rules: readonly RuleLike[], scale: Scale): string[] {
  return allCells(scale)
    .filter(([r, f, m]) => firstMatchingRule(rules, r, f, m) < 0)
    .map(([r, f, m]) => cellLabel(scale, r, f, m));
}

/** The whole map cell → segment for a scale (for the UI and the tests). */
export function segmentMap(rules: readonly RuleLike[], scale: Scale): Map<string, SegmentCode> {
  const out = new Map<string, SegmentCode>();
  for (const [r, f, m] of allCells(scale)) out.set(cellLabel(scale, r, f, m), segmentOf(rules, r, f, m));
  return out;
}
