/** The CSV export's columns and cell encoding (POST /api/ui/segments/export). */
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
 * ("-12.5", "-3e-7": our revenue / CLV / P(alive) columns, or a CRM value that is only a number)
 * is written as is. After the sign it has only digits, a point and an exponent: no operator,
 * reference or function, so there is nothing to run, and spreadsheets read it as the number.
 * Anything else starting with "-" (e.g. "-2+3", " -5") is neutralised.
 */
const FORMULA_START = /^(?:[\t\r\n]|[\s\u00A0\u1680\u180E\u2000-\u200F\u2028-\u202F\u205F-\u2064\u3000\uFEFF]*[=+\-@\uFF1D\uFF0B\uFF0D\uFF20])/;
const PLAIN_NUMBER = /^-\d+(?:\.\d+)?(?:e[+-]?\d+)?$/i;

export const csvCell = (v: unknown): string => {
  if (v === null || v === undefined) return '';
  let s = Array.isArray(v) ? v.join('|') : String(v);
  if (FORMULA_START.test(s) && !PLAIN_NUMBER.test(s)) s = `'${s}`;
  return /[",\n\r;]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export const CSV_COLUMNS: Array<[keyof ListRow, string]> = [
  ['id', 'ID'], ['name', 'Name'], ['segment', 'Segment'], ['rfm', 'RFM'], ['lifecycle', 'Lifecycle'], ['sleeping', 'Sleeping'],
  ['monetary', 'Revenue'], ['clv', 'CLV'], ['pAlive', 'P(alive)'], ['lastPurchase', 'Last purchase'],
  ['recencyDays', 'Days since last purchase'], ['frequency', 'Purchase days'], ['interests', 'Interests'],
  ['hasEmail', 'Has email'], ['hasPhone', 'Has phone'], ['city', 'City'], ['sourceId', 'Source'], ['assignedById', 'Responsible'],
];

/** The header line (with the BOM spreadsheets need for UTF-8). */
export const csvHeader = (): string => '\uFEFF' + CSV_COLUMNS.map(([, h]) => csvCell(h)).join(',') + '\r\n';

/** Rows as CSV lines, each ending in CRLF. */
export const csvLines = (rows: readonly ListRow[]): string =>
  rows.map((row) => CSV_COLUMNS.map(([k]) => csvCell(row[k])).join(',')).join('\r\n') + (rows.length ? '\r\n' : '');
