/**
 * Value serialisation for the emulated portal (https://apidocs.bitrix24.com/api-reference/crm/index.html): the legacy string-typed shape
 * (crm.contact.*, crm.deal.*: IDs and numbers as strings, `null` for empties, ISO 8601
 * datetimes with the portal's UTC offset, dates as local-midnight datetimes) and the
 * camelCase typed shape of crm.item.*.
 */

// ---------------------------------------------------------------------------
// Time zones

const offsetFmt = new Map<string, Intl.DateTimeFormat>();
const offsetCache = new Map<string, number>();
const BUCKET = 15 * 60 * 1000; // every real zone changes offset on a 15-minute boundary

function rawOffset(tz: string, ms: number): number {
  let f = offsetFmt.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, timeZoneName: 'longOffset' });
    offsetFmt.set(tz, f);
  }
  const name = f.formatToParts(ms).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const m = /GMT([+-])(\d{2}):?(\d{2})?/.exec(name);
  return m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3] ?? 0)) : 0;
}

const DAY = 86_400_000;
const dayCache = new Map<string, number | null>(); // null: the offset changes within that UTC day
let memoDay = NaN;
let memoTz = '';
let memoOff: number | null = null;

/** UTC offset of `tz` at instant `ms`, in minutes (e.g. +180 for Europe/Moscow). */
export function tzOffsetMinutes(tz: string, ms: number): number {
  if (tz === 'UTC' || tz === 'Etc/UTC') return 0;
  const day = Math.floor(ms / DAY);
  if (day === memoDay && tz === memoTz && memoOff !== null) return memoOff;
  const dkey = `${tz}|${day}`;
  let d = dayCache.get(dkey);
  if (d === undefined) {
    const a = rawOffset(tz, day * DAY);
    const b = rawOffset(tz, day * DAY + DAY - 1);
    d = a === b ? a : null;
    if (dayCache.size > 200_000) dayCache.clear();
    dayCache.set(dkey, d);
  }
  memoDay = day; memoTz = tz; memoOff = d;
  if (d !== null) return d;
  const key = `${tz}|${Math.floor(ms / BUCKET)}`;
  const hit = offsetCache.get(key);
  if (hit !== undefined) return hit;
  const off = rawOffset(tz, ms);
  if (offsetCache.size > 200_000) offsetCache.clear();
  offsetCache.set(key, off);
  return off;
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

const P2 = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));
const offStr = new Map<number, string>();

function offsetSuffix(off: number): string {
  let s = offStr.get(off);
  if (s === undefined) {
    const a = Math.abs(off);
    s = `${off < 0 ? '-' : '+'}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
    offStr.set(off, s);
  }
  return s;
}

/** `2024-08-15T10:38:21+03:00`: the instant `ms` in the portal's zone. */
export function isoDateTime(ms: number, tz: string): string {
  const off = tzOffsetMinutes(tz, ms);
  const local = Math.floor(ms / 1000) + off * 60; // local seconds
  let z = Math.floor(local / 86400);
  const sod = local - z * 86400;
  // civil-from-days (H. Hinnant)
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  const hh = Math.floor(sod / 3600);
  const mi = Math.floor((sod % 3600) / 60);
  const ss = sod % 60;
  return `${y < 1000 ? pad(y, 4) : y}-${P2[m]}-${P2[d]}T${P2[hh]}:${P2[mi]}:${P2[ss]}${offsetSuffix(off)}`;
}

const localMidnightCache = new Map<string, number>();

/** Epoch ms of local midnight of `YYYY-MM-DD` in `tz`. */
export function localMidnightMs(date: string, tz: string): number {
  const key = `${tz}|${date}`;
  const hit = localMidnightCache.get(key);
  if (hit !== undefined) return hit;
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(date);
  if (!m) return NaN;
  const utc = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  let ms = utc - tzOffsetMinutes(tz, utc) * 60_000;
  ms = utc - tzOffsetMinutes(tz, ms) * 60_000;
  if (localMidnightCache.size > 200_000) localMidnightCache.clear();
  localMidnightCache.set(key, ms);
  return ms;
}

/** Local calendar date (YYYY-MM-DD) of instant `ms` in `tz`. */
export function localDate(ms: number, tz: string): string {
  const d = new Date(ms + tzOffsetMinutes(tz, ms) * 60_000);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

/** `2024-08-30T00:00:00+03:00`: a date field as the real portal returns it. */
const isoDateCache = new Map<string, string>();

export function isoDate(date: string, tz: string): string {
  const key = `${tz}|${date}`;
  let s = isoDateCache.get(key);
  if (s === undefined) {
    s = isoDateTime(localMidnightMs(date, tz), tz);
    if (isoDateCache.size > 200_000) isoDateCache.clear();
    isoDateCache.set(key, s);
  }
  return s;
}

/**
 * Parses a date/time given by a client: ISO 8601 with offset or `Z` (an instant),
 * `YYYY-MM-DD` or `YYYY-MM-DD[T ]HH:MM[:SS]` without offset (portal-local), or
 * `DD.MM.YYYY[ HH:MM[:SS]]` (the portal's site format). Returns epoch ms or NaN.
 */
export function parseDateInput(v: unknown, tz: string): number {
  if (typeof v === 'number') return v < 1e11 ? v * 1000 : v;
  if (typeof v !== 'string') return NaN;
  const s = v.trim();
  let m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(s);
  if (!m) {
    const r = /^(\d{2})\.(\d{2})\.(\d{4})(?: (\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(s);
    if (!r) return NaN;
    m = [s, r[3]!, r[2]!, r[1]!, r[4]!, r[5]!, r[6]!, undefined!] as unknown as RegExpExecArray;
  }
  const [, y, mo, d, hh, mi, ss, zone] = m;
  const wall = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(hh ?? 0), Number(mi ?? 0), Number(ss ?? 0));
  if (zone) {
    if (zone === 'Z') return wall;
    const zm = /([+-])(\d{2}):?(\d{2})/.exec(zone)!;
    const off = (zm[1] === '-' ? -1 : 1) * (Number(zm[2]) * 60 + Number(zm[3]));
    return wall - off * 60_000;
  }
  let ms = wall - tzOffsetMinutes(tz, wall) * 60_000;
  ms = wall - tzOffsetMinutes(tz, ms) * 60_000;
  return ms;
}

/** Parses a date-only input into `YYYY-MM-DD` (portal-local calendar date), or null when invalid. */
export function parseDateOnly(v: unknown, tz: string): string | null {
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v.trim())) return v.trim();
  const ms = parseDateInput(v, tz);
  return Number.isNaN(ms) ? null : localDate(ms, tz);
}

// ---------------------------------------------------------------------------
// Field value types

/**
 * Internal field types. Getters return: numbers for id/int/double/money/user/ref types,
 * strings for string/status/currency, booleans for char/bool, `YYYY-MM-DD` for date,
 * epoch ms for datetime, arrays of those for multiple fields, null for empties.
 */
export type FType =
  | 'id' | 'int' | 'double' | 'money' | 'user' | 'ref' | 'enum'
  | 'string' | 'status' | 'currency'
  | 'char' // Y/N flag (system fields)
  | 'bool' // boolean user field: legacy "1"/"0"
  | 'date' | 'datetime';

export type V = string | number | boolean | null | V[];

export function isNumericType(t: FType): boolean {
  return t === 'id' || t === 'int' || t === 'double' || t === 'money' || t === 'user' || t === 'ref' || t === 'enum';
}

/** Legacy (crm.contact.*, crm.deal.*) rendering of one value. */
export function legacyValue(t: FType, v: V, tz: string): unknown {
  if (Array.isArray(v)) return v.map((x) => legacyValue(t, x, tz));
  if (v === null || v === undefined) return t === 'char' ? 'N' : null;
  switch (t) {
    case 'money':
      return Number(v).toFixed(2);
    case 'char':
      return v === true || v === 'Y' ? 'Y' : 'N';
    case 'bool':
      return v === true ? '1' : '0';
    case 'date':
      return isoDate(String(v), tz);
    case 'datetime':
      return isoDateTime(Number(v), tz);
    default:
      return typeof v === 'number' ? String(v) : v;
  }
}

/** crm.item.* (typed) rendering of one value. */
export function itemValue(t: FType, v: V, tz: string): unknown {
  if (Array.isArray(v)) return v.map((x) => itemValue(t, x, tz));
  if (v === null || v === undefined) return t === 'char' || t === 'bool' ? 'N' : null;
  switch (t) {
    case 'char':
    case 'bool':
      return v === true ? 'Y' : 'N';
    case 'date':
      return isoDate(String(v), tz);
    case 'datetime':
      return isoDateTime(Number(v), tz);
    default:
      return v;
  }
}

// ---------------------------------------------------------------------------
// Names

/** `UF_CRM_...` → the crm.item camelCase key (the docs' rule, shared with the app). */
export { ufCamel } from '../bitrix/uf-names.js';

/** camelCase → UPPER_SNAKE (`assignedById` → `ASSIGNED_BY_ID`). */
export function camelToUpper(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}
