/**
 * When the nightly reconciliation (sync → score → automation → write-back) runs for a portal:
 * settings.schedule = { mode, hour, cron? }, in the portal's time zone.
 *
 *   { mode: 'daily', hour: 3 }               every day at 03:00 (the default)
 *   { mode: 'hourly' }                       at minute 0 of every hour
 *   { mode: 'manual' }                       never by itself ("run now" only)
 *   { mode: 'cron', cron: '30 2 * * 1-5' }   any cron expression (minute hour day month weekday)
 *
 * The settings page edits mode and hour; 'cron' keeps an expression no mode expresses (stored by
 * earlier versions as `{enabled, cron}`, see migrate.ts). `cronOf` derives the expression the
 * scheduler runs (src/jobs/schedules.ts).
 */
import cron from 'node-cron';
import { z } from 'zod';
import { migrateSchedule } from './migrate.js';

export const DEFAULT_CRON = '0 3 * * *';
export const SCHEDULE_MODES = ['daily', 'hourly', 'manual', 'cron'] as const;

export const cronExpressionSchema = z
  .string()
  .trim()
  .refine((s) => cron.validate(s), { message: 'not a valid cron expression (minute hour day month weekday)' })
  // a seconds field would let a typo turn the nightly reconciliation into a sync loop
  .refine((s) => !cron.validate(s) || s.split(/\s+/).length !== 6, { message: 'seconds are not allowed in the schedule' });

export const scheduleSchema = z.preprocess(
  migrateSchedule,
  z.object({
    mode: z.enum(SCHEDULE_MODES).default('daily'),
    /** the hour of a daily run (0-23) */
    hour: z.number().int().min(0).max(23).default(3),
    /** the expression of mode 'cron' */
    cron: cronExpressionSchema.optional(),
  }).refine((s) => s.mode !== 'cron' || s.cron !== undefined, { message: 'mode cron needs a cron expression', path: ['cron'] }),
);
export type Schedule = z.infer<typeof scheduleSchema>;

/** The cron expression the schedule runs on, or null for 'manual' (no scheduled runs). */
export function cronOf(s: Schedule): string | null {
  switch (s.mode) {
    case 'manual':
      return null;
    case 'hourly':
      return '0 * * * *';
    case 'daily':
      return `0 ${s.hour} * * *`;
    case 'cron':
      return s.cron ?? DEFAULT_CRON;
  }
}

/**
 * When the schedule runs next after now, in the portal's time zone (null: manual only). Asks
 * node-cron itself (a task scheduled and destroyed at once), so it is the scheduler's own answer.
 */
export function nextRunOf(s: Schedule, timeZone: string | null | undefined): Date | null {
  const expr = cronOf(s);
  if (!expr) return null;
  let task: ReturnType<typeof cron.schedule> | undefined;
  try {
    task = cron.schedule(expr, () => {}, timeZone ? { timezone: timeZone } : {});
    return task.getNextRun();
  } catch {
    return null;
  } finally {
    void task?.destroy();
  }
}
