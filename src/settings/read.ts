/**
 * THE reader of stored settings (portals.settings jsonb → typed PortalSettings). Lenient: each
 * section is parsed on its own, and one that cannot be used (stored by another version, edited by
 * hand) falls back to its defaults with the reason in `errors`, never a crash and never taking the
 * other sections with it. Saved segments are kept one at a time: one stored before a check existed
 * (e.g. `exclude` nested past MAX_FILTER_DEPTH) is left out on its own. Old shapes are migrated by
 * the schema (migrate.ts).
 */
import type { z } from 'zod';
import { migrateStored } from './migrate.js';
import { savedSegmentSchema, type SavedSegment } from './saved-segments.js';
import { settingsSections, SETTINGS_SECTIONS, type PortalSettings, type SettingsSection } from './schema.js';

export type SettingsErrors = Partial<Record<SettingsSection, string>>;

/** zod issues as one line: `path: message; ...`. */
export function issuesText(e: z.ZodError): string {
  return e.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
}

function savedSegmentsOf(raw: unknown): { value: SavedSegment[]; error: string | null } {
  if (!Array.isArray(raw)) return { value: [], error: raw === undefined ? null : 'savedSegments is not a list' };
  const value: SavedSegment[] = [];
  let bad = 0;
  for (const x of raw) {
    const r = savedSegmentSchema.safeParse(x);
    if (r.success) value.push(r.data);
    else bad++;
  }
  return { value, error: bad ? `${bad} stored saved segment(s) are not valid now and are left out` : null };
}

/** One section of the stored settings (defaults, and the reason, when it cannot be used). */
export function readSection<K extends SettingsSection>(stored: unknown, key: K): { value: PortalSettings[K]; error: string | null } {
  const raw = migrateStored(stored)[key];
  if (key === 'savedSegments') return savedSegmentsOf(raw) as { value: PortalSettings[K]; error: string | null };
  const schema = settingsSections[key] as unknown as z.ZodType<PortalSettings[K]>;
  const r = schema.safeParse(raw);
  if (r.success) return { value: r.data, error: null };
  return { value: schema.parse(undefined), error: issuesText(r.error) };
}

/** The stored settings as typed settings, and why any section fell back to its defaults. */
export function readSettings(stored: unknown): { settings: PortalSettings; errors: SettingsErrors } {
  const settings = {} as Record<SettingsSection, unknown>;
  const errors: SettingsErrors = {};
  for (const key of SETTINGS_SECTIONS) {
    const r = readSection(stored, key);
    settings[key] = r.value;
    if (r.error) errors[key] = r.error;
  }
  return { settings: settings as PortalSettings, errors };
}

/** readSettings without the reasons. */
export function portalSettings(stored: unknown): PortalSettings {
  return readSettings(stored).settings;
}
