/**
 * Per-portal schedules (node-cron): the nightly reconciliation, by default at 03:00 in the
 * portal's time zone; the admin may set another cron expression (validated by node-cron) or
 * switch it off:  portal.settings.schedule = { enabled: true, cron: '0 3 * * *' }.
 *
 * Every app process runs the same cron tasks. A firing only SENDS the reconcile job, with a
 * pg-boss singleton key per portal and hour, so N processes firing at 03:00 create one job.
 * `refresh()` re-reads the portals (new installs, changed settings, uninstalls) and is called
 * every `refreshEverySec` and by whoever saves the settings.
 */
import cron, { type ScheduledTask } from 'node-cron';
import { z } from 'zod';
import type { Db } from '../store/db.js';
import { listPortals } from '../store/portals.js';

export const DEFAULT_CRON = '0 3 * * *';

export const scheduleSettingsSchema = z.object({
  enabled: z.boolean().default(true),
  cron: z
    .string()
    .trim()
    .default(DEFAULT_CRON)
    .refine((s) => cron.validate(s), { message: 'not a valid cron expression (minute hour day month weekday)' })
    // a seconds field would let a typo turn the nightly reconciliation into a sync loop
    .refine((s) => !cron.validate(s) || s.split(/\s+/).length !== 6, { message: 'seconds are not allowed in the schedule' }),
});
export type ScheduleSettings = z.infer<typeof scheduleSettingsSchema>;

/**
 * The settings page saves `{mode: 'daily'|'hourly'|'manual', hour}` (src/server/ui-api/settings.ts); the
 * schedule here is `{enabled, cron}`. Either shape is accepted.
 */
function fromPageShape(s: unknown): unknown {
  const o = s as { mode?: unknown; hour?: unknown } | null;
  if (!o || typeof o.mode !== 'string') return s;
  if (o.mode === 'manual') return { enabled: false };
  if (o.mode === 'hourly') return { enabled: true, cron: '0 * * * *' };
  const hour = typeof o.hour === 'number' && Number.isInteger(o.hour) && o.hour >= 0 && o.hour <= 23 ? o.hour : 3;
  return { enabled: true, cron: `0 ${hour} * * *` };
}

/** The portal's schedule; invalid settings fall back to the default (and say why). */
export function scheduleFromSettings(settings: Record<string, unknown> | null | undefined): ScheduleSettings & { error: string | null } {
  const r = scheduleSettingsSchema.safeParse(fromPageShape(settings?.schedule ?? {}));
  if (r.success) return { ...r.data, error: null };
  return { enabled: true, cron: DEFAULT_CRON, error: r.error.issues.map((i) => i.message).join('; ') };
}

export function validTimeZone(tz: string | null | undefined): string {
  if (!tz) return 'UTC';
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return tz;
  } catch {
    return 'UTC';
  }
}

interface Entry {
  key: string;
  task: ScheduledTask;
}

export class PortalSchedules {
  private readonly tasks = new Map<number, Entry>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly db: Db,
    private readonly onFire: (portalId: number) => Promise<void>,
    private readonly log: (msg: string, f?: Record<string, unknown>) => void = () => {},
  ) {}

  start(refreshEverySec = 300): Promise<void> {
    this.timer = setInterval(() => void this.refresh().catch((e) => this.log('schedules: refresh failed', { error: (e as Error).message })), refreshEverySec * 1000);
    this.timer.unref();
    return this.refresh();
  }

  /** Next run per portal (for the UI/tests). */
  nextRuns(): Map<number, { cron: string; timeZone: string; next: Date | null }> {
    const out = new Map<number, { cron: string; timeZone: string; next: Date | null }>();
    for (const [p, e] of this.tasks) {
      const [expr, tz] = e.key.split('|') as [string, string];
      out.set(p, { cron: expr, timeZone: tz, next: e.task.getNextRun() });
    }
    return out;
  }

  async refresh(): Promise<void> {
    if (this.stopped) return;
    const portals = await listPortals(this.db, { status: 'active' });
    const want = new Map<number, string>();
    for (const p of portals) {
      const s = scheduleFromSettings(p.settings);
      if (s.error) this.log('schedules: invalid schedule, using the default', { portalId: p.id, error: s.error });
      if (s.enabled) want.set(p.id, `${s.cron}|${validTimeZone(p.timeZone)}`);
    }
    for (const [p, e] of this.tasks) {
      if (want.get(p) !== e.key) {
        await e.task.destroy();
        this.tasks.delete(p);
      }
    }
    for (const [p, key] of want) {
      if (this.tasks.has(p)) continue;
      const [expr, timezone] = key.split('|') as [string, string];
      const task = cron.schedule(expr, () => this.onFire(p).catch((e) => this.log('schedules: could not queue the reconciliation', { portalId: p, error: (e as Error).message })), {
        timezone, name: `b24seg-reconcile-${p}`, noOverlap: true,
      });
      task.unref?.();
      this.tasks.set(p, { key, task });
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const e of this.tasks.values()) await e.task.destroy();
    this.tasks.clear();
  }
}
