/**
 * Response envelopes (https://apidocs.bitrix24.com/settings/how-to-call-rest-api/general-principles.html): `{result, total?, next?, time{...}}` and
 * `{error, error_description}`; PHP-array JSON semantics for batch sections.
 */
import type { Response } from 'express';
import type { OperatingInfo } from '../limits.js';

export interface TimeBlock {
  start: number;
  finish: number;
  duration: number;
  processing: number;
  date_start: string;
  date_finish: string;
  operating_reset_at: number;
  operating: number;
}

const fmtCache = new Map<string, Intl.DateTimeFormat>();

/** `2025-09-09T16:31:11+03:00`: instant `ms` in time zone `tz`. */
export function isoWithOffset(ms: number, tz: string): string {
  let f = fmtCache.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'longOffset',
    });
    fmtCache.set(tz, f);
  }
  const p: Record<string, string> = {};
  for (const part of f.formatToParts(ms)) p[part.type] = part.value;
  const m = /GMT([+-]\d{2}):?(\d{2})?/.exec(p.timeZoneName ?? '');
  const off = m ? `${m[1]}:${m[2] ?? '00'}` : '+00:00';
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}${off}`;
}

const r6 = (x: number): number => Math.round(x * 1e6) / 1e6;

/**
 * The `time` block (https://apidocs.bitrix24.com/limits.html). `start` is the portal time the
 * request arrived; `processing` is the model's processing (costs.ts; a batch: its commands' sum);
 * `duration` = processing + the request's overhead, so `finish = start + duration`; `operating` is
 * what the method has been charged in the current window, this request included; `operating_reset_at`
 * is when the oldest minute of that window drops out.
 */
export function timeBlock(startMs: number, processingSec: number, op: OperatingInfo, tz: string, overheadSec = 0): TimeBlock {
  const durationSec = processingSec + overheadSec;
  const finishMs = startMs + durationSec * 1000;
  return {
    start: r6(startMs / 1000),
    finish: r6(finishMs / 1000),
    duration: r6(durationSec),
    processing: r6(processingSec),
    date_start: isoWithOffset(startMs, tz),
    date_finish: isoWithOffset(finishMs, tz),
    operating_reset_at: op.resetAt,
    operating: op.operating,
  };
}

/** PHP json_encode of an array: a JSON list when keys are 0..n-1 in order (also when empty), else an object. */
export function phpArray(entries: Array<[string, unknown]>): unknown {
  if (entries.every(([k], i) => k === String(i))) return entries.map(([, v]) => v);
  return Object.fromEntries(entries);
}

export function sendError(res: Response, status: number, error: string, description: string, extra: Record<string, unknown> = {}): void {
  if (res.headersSent) return;
  res.status(status).json({ error, error_description: description, ...extra });
}
