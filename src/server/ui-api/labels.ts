/**
 * Names and descriptions of segments and lifecycle stages in the five UI languages, from the
 * scoring module's one table (src/scoring/i18n.ts). `ua` is Bitrix24's code for Ukrainian.
 */
import {
  LIFECYCLE_TEXT, localeOf, SEGMENT_TEXT, type LabelText, type LifecycleCode, type Locale, type SegmentCode,
} from '../../scoring/index.js';

export const UI_LANGS = ['en', 'ru', 'pl', 'de', 'ua'] as const satisfies readonly Locale[];
export type UiLang = Locale;

/** Bitrix24 LANG → UI language ('uk' accepted as an alias of 'ua'; 'by'/'kz' fall back to ru). */
export const uiLang = (lang: string | null | undefined): UiLang => localeOf(lang);

export function segmentLabel(code: string, lang: UiLang): LabelText {
  const c = code as SegmentCode;
  if (!SEGMENT_TEXT[c]) return { name: code, description: '' };
  return SEGMENT_TEXT[c][lang];
}

export function lifecycleLabel(code: string, lang: UiLang): LabelText {
  const c = code as LifecycleCode;
  if (!LIFECYCLE_TEXT[c]) return { name: code, description: '' };
  return LIFECYCLE_TEXT[c][lang];
}
