/** UI strings (ui/src/locales: English and Russian complete, Polish, German, Ukrainian every label) and the formatters of the UI language. */
import { ref } from 'vue';
import { en, type Dict } from './locales/en.js';
import { ru } from './locales/ru.js';
import { pl } from './locales/pl.js';
import { de } from './locales/de.js';
import { ua } from './locales/ua.js';

export type Lang = 'en' | 'ru' | 'pl' | 'de' | 'ua';

export const MESSAGES: Record<Lang, Dict> = { en, ru, pl, de, ua };
export type MsgKey = keyof Dict;

export const lang = ref<Lang>('en');

export function setLang(l: string): void {
  lang.value = (['en', 'ru', 'pl', 'de', 'ua'].includes(l) ? l : 'en') as Lang;
  document.documentElement.lang = lang.value === 'ua' ? 'uk' : lang.value;
}

export function t(key: MsgKey, vars: Record<string, string | number> = {}): string {
  const s = MESSAGES[lang.value][key] ?? en[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, k: string) => String(vars[k] ?? `{${k}}`));
}

const locales: Record<Lang, string> = { en: 'en-US', ru: 'ru-RU', pl: 'pl-PL', de: 'de-DE', ua: 'uk-UA' };
export function fmtNum(n: number | null | undefined, digits = 0): string {
  if (n === null || n === undefined || Number.isNaN(n)) return '—';
  return new Intl.NumberFormat(locales[lang.value], { maximumFractionDigits: digits, minimumFractionDigits: 0 }).format(n);
}
export function fmtPct(x: number | null | undefined, digits = 1): string {
  if (x === null || x === undefined || Number.isNaN(x)) return '—';
  return new Intl.NumberFormat(locales[lang.value], { style: 'percent', maximumFractionDigits: digits }).format(x);
}
export function fmtDate(d: string | Date | null | undefined): string {
  if (!d) return '—';
  const x = typeof d === 'string' ? new Date(d.length === 10 ? `${d}T00:00:00Z` : d) : d;
  return new Intl.DateTimeFormat(locales[lang.value], { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' }).format(x);
}
/** A date and time in the UI language (timeOnly: just the time), in the browser's time zone. */
export function fmtDateTime(d: string | Date | null | undefined, timeOnly = false): string {
  if (!d) return '—';
  const x = typeof d === 'string' ? new Date(d) : d;
  if (Number.isNaN(x.getTime())) return '—';
  return new Intl.DateTimeFormat(locales[lang.value], timeOnly ? { hour: '2-digit', minute: '2-digit' }
    : { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }).format(x);
}
