/**
 * Per-portal schedules (node-cron): the nightly reconciliation, by default at 03:00 in the
 * portal's time zone. The admin sets it on the settings page: settings.schedule = {mode, hour,
 * cron?} (src/settings/schedule.ts: daily at an hour, hourly, manual only, or a cron expression);
 * the cron expression run here is derived from it (`cronOf`).
 *
 * Every app process runs the same cron tasks. A firing only SENDS the reconcile job, with a
 * pg-boss singleton key per portal and hour, so N processes firing at 03:00 create one job.
 * `refresh()` re-reads the portals (new installs, changed settings, uninstalls) and is called
 * every `refreshEverySec` (so a changed schedule applies within that time).
 */
import cron, { type ScheduledTask } from 'node-cron';
import type { Db } from '../store/db.js';
import { listPortals } from '../store/portals.js';
import { cronOf, DEFAULT_CRON, readSection } from '../settings/index.js';

/**
 * The portal's schedule as the scheduler runs it: enabled (not 'manual') and its cron expression.
 * Unusable stored settings fall back to the default (and say why in `error`).
 */
export function scheduleFromSettings(settings: Record<string, unknown> | null | undefined): { enabled: boolean; cron: string; error: string | null } {
  const { value, error } = readSection(settings, 'schedule');
  const expr = cronOf(value);
  return { enabled: expr !== null, cron: expr ?? DEFAULT_CRON, error };
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
