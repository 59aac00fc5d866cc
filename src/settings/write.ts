/**
 * THE writer of settings: a patch of some sections → validated → the JSON to store. Each given
 * section replaces the stored one (src/store/portals.ts updatePortalSettings merges top-level
 * keys); a section of `sections` missing from the patch is stored with its defaults (the settings
 * page sends its whole object). Only the current shape is stored; an old shape in the patch is
 * migrated first (the schema's own migrations).
 */
import { z } from 'zod';
import { settingsSections, type PortalSettings, type SettingsSection } from './schema.js';

export type SettingsPatchResult<K extends SettingsSection> =
  | { ok: true; settings: Pick<PortalSettings, K>; stored: Record<K, unknown> }
  | { ok: false; error: z.ZodError };

export function settingsPatch<K extends SettingsSection>(sections: readonly K[], patch: unknown): SettingsPatchResult<K> {
  const shape = Object.fromEntries(sections.map((k) => [k, settingsSections[k]]));
  const r = z.object(shape).safeParse(patch);
  if (!r.success) return { ok: false, error: r.error };
  const settings = r.data as unknown as Pick<PortalSettings, K>;
  // the typed settings are plain JSON: stored as they are
  return { ok: true, settings, stored: settings as Record<K, unknown> };
}
