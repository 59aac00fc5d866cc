/**
 * Calendar days as UTC day numbers (integer days since 1970-01-01). Every date inside the
 * scoring core is such a number, so time zones and daylight saving never shift a purchase.
 */

export type DayNumber = number;

const MS_PER_DAY = 86_400_000;
const ISO_DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** 'YYYY-MM-DD' → day number; null when the text is not a real calendar date. */
export function tryParseIsoDay(text: string): DayNumber | null {
  const m = ISO_DAY.exec(text.trim());
  if (!m) return null;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return null;
  return ms / MS_PER_DAY;
}

export function parseIsoDay(text: string): DayNumber {
  const day = tryParseIsoDay(text);
  if (day === null) throw new RangeError(`not a calendar date (YYYY-MM-DD): "${text}"`);
  return day;
}

/** Accepts a day number or 'YYYY-MM-DD' (a longer ISO timestamp is cut to its date part). */
export function toDay(value: string | number): DayNumber {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new RangeError(`day number must be an integer: ${value}`);
    return value;
  }
  return parseIsoDay(value.length > 10 && value[10] === 'T' ? value.slice(0, 10) : value);
}

/** Day number → 'YYYY-MM-DD' by integer arithmetic (H. Hinnant's civil_from_days), no Date object. */
export function formatDay(day: DayNumber): string {
  const z = day + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  if (y < 0 || y > 9999) return new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
  return `${String(y).padStart(4, '0')}-${m < 10 ? '0' : ''}${m}-${d < 10 ? '0' : ''}${d}`;
}

/** formatDay with a cache, for one run: its customers share a few thousand distinct days. */
export function memoFormatDay(): (day: DayNumber) => string {
  const texts = new Map<DayNumber, string>();
  return (day) => {
    let text = texts.get(day);
    if (text === undefined) {
      text = formatDay(day);
      texts.set(day, text);
    }
    return text;
  };
}

/** The same calendar day `months` months earlier/later (clamped to the month's last day). */
export function addMonths(day: DayNumber, months: number): DayNumber {
  const d = new Date(day * MS_PER_DAY);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth() + months;
  const lastDay = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  return Date.UTC(y, m, Math.min(d.getUTCDate(), lastDay)) / MS_PER_DAY;
}
