/**
 * A level's values in the user's words: the API gives each level's range (src/scoring/rfm.ts
 * levelRanges: inclusive min / max, M's min exclusive, null = open); this puts it into a sentence
 * of the UI language, e.g. R 5 "last purchase 0–29 days ago", F 1 "1 purchase day",
 * M 3 "revenue over 10,000, up to 50,000".
 */
import { fmtNum, t } from './i18n.js';

export type LevelDim = 'recency' | 'frequency' | 'monetary';
export interface LevelRange { level: number; min: number | null; max: number | null; minExclusive: boolean; empty: boolean }
export interface DimBounds { bounds: number[]; method: string | null; levels: LevelRange[] }
export interface RunThresholds { mode: string | null; scale: number; recency: DimBounds; frequency: DimBounds; monetary: DimBounds }

/** The range alone ("2–4", "up to 1", "9 or more", "over 10,000, up to 50,000"). */
export function rangeText(l: LevelRange, digits = 0): string {
  const n = (x: number) => fmtNum(x, digits);
  if (l.empty) return t('rangeEmpty');
  if (l.min === null && l.max === null) return t('rangeAny');
  if (l.minExclusive) return l.max === null ? t('rangeOver', { min: n(l.min!) }) : t('rangeOverUpTo', { min: n(l.min!), max: n(l.max) });
  if (l.min === null) return t('rangeUpTo', { max: n(l.max!) });
  if (l.max === null) return t('rangeFrom', { min: n(l.min) });
  return l.min === l.max ? n(l.min) : t('rangeBetween', { min: n(l.min), max: n(l.max) });
}

/** The whole sentence of one level of one dimension; M without amounts (non-admins) says so. */
export function levelText(dim: LevelDim, l: LevelRange): string {
  if (dim === 'monetary' && l.min === null && l.max === null && !l.empty) return t('lvlMWithheld', { level: l.level });
  const range = rangeText(l, dim === 'monetary' ? 2 : 0);
  if (dim === 'recency') return t('lvlR', { range });
  if (dim === 'frequency') return (l.min === 1 || l.min === null) && l.max === 1 ? t('lvlFOne') : t('lvlF', { range });
  return t('lvlM', { range });
}
