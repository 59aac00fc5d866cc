/**
 * The CSV export (POST /api/ui/segments/export): a call sheet in the user's language. The columns
 * are the screen's (after the contact ID), in the screen's order; headers, segment / lifecycle /
 * source names, responsibles' names, yes / no and dates are in the UI language; numbers are
 * rounded (amounts to 2 decimals, the chance to buy in whole percent) with the locale's decimal
 * separator; cells are separated by ';' where a comma is the decimal separator (ru, de, pl, ua:
 * what Excel there expects) and by ',' in English. Phones and e-mails come from the portal with
 * the user's token, so only those the user may read.
 */
import type { UiLang } from './labels.js';
import { lifecycleLabel, segmentLabel } from './labels.js';
import type { Channels } from './channels.js';
import type { Directory } from './directory.js';
import type { ListRow } from './queries.js';

/**
 * Spreadsheet formula injection. A spreadsheet runs a cell as a formula when its text starts with
 * = + - @; Excel and LibreOffice also skip leading whitespace before one on some import paths
 * (space, tab, CR, LF, no-break and other Unicode spaces, zero-width characters), and a cell
 * that starts with a tab or CR is a formula vector of its own (OWASP "CSV injection"). The
 * full-width forms (＝ ＋ － ＠) count as well: some CJK setups read them as the ASCII signs.
 * Such a cell gets a leading ' (the spreadsheet shows it as text and runs nothing).
 *
 * One exception keeps negative amounts readable: a cell that is exactly a decimal number
 * ("-12.5", "-12,5" with a decimal comma, "-3e-7": our revenue / CLV columns, or a CRM value that
 * is only a number) is written as is. After the sign it has only digits, one decimal separator and
 * an exponent: no operator, reference or function, so there is nothing to run, and spreadsheets
 * read it as the number. Anything else starting with "-" (e.g. "-2+3", " -5") is neutralised.
 */
const FORMULA_START = /^(?:[\t\r\n]|[\s\u00A0\u1680\u180E\u2000-\u200F\u2028-\u202F\u205F-\u2064\u3000\uFEFF]*[=+\-@\uFF1D\uFF0B\uFF0D\uFF20])/;
const PLAIN_NUMBER = /^-\d+(?:[.,]\d+)?(?:e[+-]?\d+)?$/i;

/** One cell: neutralised (above), and quoted when it holds the separator, a quote, CR or LF. */
export const csvCell = (v: unknown, sep: ',' | ';' = ','): string => {
  if (v === null || v === undefined) return '';
  let s = Array.isArray(v) ? v.join('|') : String(v);
  if (FORMULA_START.test(s) && !PLAIN_NUMBER.test(s)) s = `'${s}`;
  return s.includes(sep) || /["\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** The columns a user can show (and export), as the UI names them. */
export const CSV_COLUMN_KEYS = [
  'name', 'segment', 'rfm', 'monetary', 'clv', 'p_alive', 'last_purchase', 'lifecycle', 'responsible', 'city', 'phone', 'email',
  'source', 'frequency', 'recency_days', 'next_purchase', 'interests', 'reach',
] as const;
export type CsvColumn = (typeof CSV_COLUMN_KEYS)[number];

type HeaderKey = CsvColumn | 'id' | 'sleeping' | 'yes' | 'no';
const HEADERS: Record<UiLang, Record<HeaderKey, string>> = {
  en: {
    id: 'ID', name: 'Name', segment: 'Segment', sleeping: 'Sleeping (overdue)', rfm: 'RFM', monetary: 'Revenue', clv: 'Predicted value',
    p_alive: 'Chance still buying, %', last_purchase: 'Last purchase', lifecycle: 'Lifecycle', responsible: 'Responsible', city: 'City',
    phone: 'Phone', email: 'E-mail', source: 'Source', frequency: 'Purchase days', recency_days: 'Days since last purchase',
    next_purchase: 'Expected next purchase', interests: 'Interests', reach: 'Reachable', yes: 'yes', no: 'no',
  },
  ru: {
    id: 'ID', name: 'Имя', segment: 'Сегмент', sleeping: 'Спящий (пропустил покупку)', rfm: 'RFM', monetary: 'Выручка', clv: 'Прогноз ценности',
    p_alive: 'Шанс, что ещё покупает, %', last_purchase: 'Последняя покупка', lifecycle: 'Жизненный цикл', responsible: 'Ответственный', city: 'Город',
    phone: 'Телефон', email: 'E-mail', source: 'Источник', frequency: 'Дней с покупками', recency_days: 'Дней с последней покупки',
    next_purchase: 'Ожидаемая следующая покупка', interests: 'Интересы', reach: 'Доступен', yes: 'да', no: 'нет',
  },
  de: {
    id: 'ID', name: 'Name', segment: 'Segment', sleeping: 'Schlafend (überfällig)', rfm: 'RFM', monetary: 'Umsatz', clv: 'Prognostizierter Wert',
    p_alive: 'Chance, dass noch gekauft wird, %', last_purchase: 'Letzter Kauf', lifecycle: 'Lebenszyklus', responsible: 'Verantwortlich', city: 'Stadt',
    phone: 'Telefon', email: 'E-Mail', source: 'Quelle', frequency: 'Kauftage', recency_days: 'Tage seit dem letzten Kauf',
    next_purchase: 'Erwarteter nächster Kauf', interests: 'Interessen', reach: 'Erreichbar', yes: 'ja', no: 'nein',
  },
  pl: {
    id: 'ID', name: 'Nazwa', segment: 'Segment', sleeping: 'Uśpiony (zaległy zakup)', rfm: 'RFM', monetary: 'Przychód', clv: 'Prognozowana wartość',
    p_alive: 'Szansa, że nadal kupuje, %', last_purchase: 'Ostatni zakup', lifecycle: 'Cykl życia', responsible: 'Odpowiedzialny', city: 'Miasto',
    phone: 'Telefon', email: 'E-mail', source: 'Źródło', frequency: 'Dni zakupów', recency_days: 'Dni od ostatniego zakupu',
    next_purchase: 'Oczekiwany następny zakup', interests: 'Zainteresowania', reach: 'Osiągalny', yes: 'tak', no: 'nie',
  },
  ua: {
    id: 'ID', name: "Ім'я", segment: 'Сегмент', sleeping: 'Сплячий (пропустив покупку)', rfm: 'RFM', monetary: 'Виручка', clv: 'Прогноз цінності',
    p_alive: 'Шанс, що ще купує, %', last_purchase: 'Остання покупка', lifecycle: 'Життєвий цикл', responsible: 'Відповідальний', city: 'Місто',
    phone: 'Телефон', email: 'E-mail', source: 'Джерело', frequency: 'Днів з покупками', recency_days: 'Днів з останньої покупки',
    next_purchase: 'Очікувана наступна покупка', interests: 'Інтереси', reach: 'Досяжний', yes: 'так', no: 'ні',
  },
};

const LOCALES: Record<UiLang, string> = { en: 'en-US', ru: 'ru-RU', de: 'de-DE', pl: 'pl-PL', ua: 'uk-UA' };

export interface CsvFormat {
  lang: UiLang;
  /** cell separator: ';' where the decimal separator is a comma */
  sep: ',' | ';';
  decimal: '.' | ',';
  date: Intl.DateTimeFormat;
}

export function csvFormat(lang: UiLang): CsvFormat {
  const decimal = lang === 'en' ? '.' : ',';
  return {
    lang, decimal, sep: decimal === ',' ? ';' : ',',
    date: new Intl.DateTimeFormat(LOCALES[lang], { year: 'numeric', month: '2-digit', day: '2-digit', timeZone: 'UTC' }),
  };
}

export interface CsvContext {
  format: CsvFormat;
  /** the screen's columns, in its order (the contact ID comes first) */
  columns: readonly string[];
  directory: Directory;
  /** reads phones and e-mails of contacts with the user's token; null: not shown or not available */
  channels: ((ids: number[]) => Promise<Map<number, Channels>>) | null;
}

/** A number rounded to `digits` with the locale's decimal separator, no grouping ('' when absent). */
export function num(v: unknown, f: CsvFormat, digits: number): string {
  if (v === null || v === undefined || v === '') return '';
  const n = Number(v);
  if (!Number.isFinite(n)) return '';
  const s = digits ? String(Math.round(n * 10 ** digits) / 10 ** digits) : String(Math.round(n));
  return f.decimal === ',' ? s.replace('.', ',') : s;
}

export function day(v: unknown, f: CsvFormat): string {
  if (!v) return '';
  const d = v instanceof Date ? v : new Date(`${String(v).slice(0, 10)}T00:00:00Z`);
  return Number.isNaN(d.getTime()) ? '' : f.date.format(d);
}

/** The cells of one column of a row (segment is two cells: its name and the sleeping flag). */
function cells(col: string, r: ListRow & Partial<Channels>, ctx: CsvContext, names: Map<number, string>): unknown[] {
  const f = ctx.format;
  const h = HEADERS[f.lang];
  switch (col as CsvColumn) {
    case 'name': return [r.name];
    case 'segment': return [r.segment ? segmentLabel(r.segment, f.lang).name : '', r.sleeping ? h.yes : h.no];
    case 'rfm': return [r.rfm];
    case 'monetary': return [num(r.monetary, f, 2)];
    case 'clv': return [num(r.clv, f, 2)];
    // one purchase: the model has no rhythm to judge (its 100 % would mislead)
    case 'p_alive': return [r.pAlive === null || (r.frequency ?? 0) <= 1 ? '' : num(Number(r.pAlive) * 100, f, 0)];
    case 'last_purchase': return [day(r.lastPurchase, f)];
    case 'lifecycle': return [r.lifecycle ? lifecycleLabel(r.lifecycle, f.lang).name : ''];
    case 'responsible': return [r.assignedById ? names.get(Number(r.assignedById)) ?? '' : ''];
    case 'city': return [r.city];
    case 'phone': return [(r.phones ?? []).join(', ')];
    case 'email': return [(r.emails ?? []).join(', ')];
    case 'source': return [r.sourceId ? ctx.directory.sources[r.sourceId] ?? r.sourceId : ''];
    case 'frequency': return [num(r.frequency, f, 0)];
    case 'recency_days': return [num(r.recencyDays, f, 0)];
    case 'next_purchase': return [day(r.nextPurchase, f)];
    case 'interests': return [(r.interests ?? []).map((t) => r.interestNames?.[t] || t).join(', ')];
    case 'reach': return [r.hasEmail || r.hasPhone ? h.yes : h.no];
    default: return [];
  }
}

/** The header line (with the BOM spreadsheets need for UTF-8). */
export function csvHeader(ctx: CsvContext): string {
  const h = HEADERS[ctx.format.lang];
  const names = ['id', ...ctx.columns].flatMap((c) => (c === 'segment' ? [h.segment, h.sleeping] : [h[c as HeaderKey] ?? c]));
  return '\uFEFF' + names.map((n) => csvCell(n, ctx.format.sep)).join(ctx.format.sep) + '\r\n';
}

/** Rows as CSV lines, each ending in CRLF (phones and e-mails read for these rows when shown). */
export async function csvLines(rows: readonly ListRow[], ctx: CsvContext): Promise<string> {
  if (!rows.length) return '';
  const ch = ctx.channels ? await ctx.channels(rows.map((r) => Number(r.id))) : new Map<number, Channels>();
  const names = new Map(ctx.directory.users.filter((u) => u.name).map((u) => [u.id, u.name]));
  const lines = rows.map((row) => {
    const r = { ...row, ...ch.get(Number(row.id)) };
    return [r.id, ...ctx.columns.flatMap((c) => cells(c, r, ctx, names))].map((x) => csvCell(x, ctx.format.sep)).join(ctx.format.sep);
  });
  return lines.join('\r\n') + '\r\n';
}

/** The file's name: the view's name or the filter in words, and the date; an ASCII fallback and the UTF-8 name (RFC 6266). */
export function csvDisposition(name: string | undefined, now: Date): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what a file name must not hold
  const clean = (name ?? '').normalize('NFC').replace(/[\\/:*?"<>|\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 80);
  const base = `${clean || 'segment'} ${now.toISOString().slice(0, 10)}.csv`;
  let ascii = base.normalize('NFKD').replace(/[^\x20-\x7e]/g, '').replace(/[%;"\\]/g, '').replace(/\s+/g, '-').replace(/^-+/, '');
  if (!/[a-z]{2}/i.test(ascii.replace(/\.csv$/, ''))) ascii = `segment-${now.toISOString().slice(0, 10)}.csv`;
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(base)}`;
}
