/** Local time of the generated portal: business hours and calendar days in the portal's time zone. */
import { DAY } from './constants.js';

export interface Calendar {
  /** Moves a moment into local business hours (09:00–20:00), monotone in t, never after now. */
  biz(t: number): number;
  /** Local calendar day of a moment, 'YYYY-MM-DD'. */
  dayStr(t: number): string;
}

/** Offset of a time zone from UTC at a moment, ms (0 for unknown zones). */
export function tzOffsetMs(timeZone: string, at: number): number {
  try {
    const f = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric',
    });
    const p: Record<string, number> = {};
    for (const part of f.formatToParts(new Date(at))) if (part.type !== 'literal') p[part.type] = Number(part.value);
    const asUtc = Date.UTC(p.year ?? 1970, (p.month ?? 1) - 1, p.day ?? 1, p.hour ?? 0, p.minute ?? 0);
    return Math.round((asUtc - Math.floor(at / 60_000) * 60_000) / 60_000) * 60_000;
  } catch {
    return 0;
  }
}

/** The calendar of a time zone, with its offset taken at `now`. */
export function makeCalendar(timeZone: string, now: number): Calendar {
  const tzOff = tzOffsetMs(timeZone, now);
  const biz = (t: number): number => {
    const local = t + tzOff;
    const dayStart = Math.floor(local / DAY) * DAY;
    const v = dayStart + 9 * 3_600_000 + ((local - dayStart) * 11) / 24 - tzOff;
    return Math.min(Math.round(v / 1000) * 1000, now);
  };
  const dayCache = new Map<number, string>();
  const dayStr = (t: number): string => {
    const d = Math.floor((t + tzOff) / DAY);
    let s = dayCache.get(d);
    if (s === undefined) {
      s = new Date(d * DAY).toISOString().slice(0, 10);
      dayCache.set(d, s);
    }
    return s;
  };
  return { biz, dayStr };
}
