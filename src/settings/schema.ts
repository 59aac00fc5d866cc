/**
 * Every portal setting, in ONE zod schema: stored in portals.settings (jsonb) under these
 * top-level keys (sections):
 *   scoring        the scoring engine's parameters (src/scoring/settings.ts: the pure type and its defaults)
 *   b2b            score companies too (boolean)
 *   schedule       when the nightly reconciliation runs (schedule.ts)
 *   automation     the automation engine's rules (automation.ts)
 *   segmentField   write each contact's highest-priority saved segment to a CRM field ({enabled})
 *   writeback      write-back options (writeback.ts)
 *   savedSegments  saved filters (saved-segments.ts)
 *   effectiveness  the margin % of won deals without purchase prices (effectiveness.ts; edited on the Effectiveness page)
 *   refusal        where the reason of a lost deal is read from (refusal.ts); edited on its own
 *                  (GET / PUT /api/ui/settings/refusal), not part of the settings page's object
 *   fields         whether the admin removed the app's CRM fields (fields.ts); set and cleared only
 *                  by POST /api/ui/settings/fields/remove|restore and a reinstall, never by the page's PUT
 * Old stored shapes are migrated by the schema itself (migrate.ts). Read stored settings with
 * read.ts (lenient: an unusable section falls back to its defaults), write with write.ts.
 */
import { z } from 'zod';
import { scoringSettingsSchema } from '../scoring/index.js';
import { automationSettingsSchema } from './automation.js';
import { effectivenessSettingsSchema } from './effectiveness.js';
import { fieldsStateSchema } from './fields.js';
import { migrateStored } from './migrate.js';
import { refusalSettingsSchema } from './refusal.js';
import { savedSegmentSchema } from './saved-segments.js';
import { scheduleSchema } from './schedule.js';
import { writebackOptionsSchema } from './writeback.js';

export const settingsSections = {
  scoring: scoringSettingsSchema.prefault({}),
  b2b: z.boolean().default(false),
  schedule: scheduleSchema,
  automation: automationSettingsSchema,
  segmentField: z.object({ enabled: z.boolean().default(false) }).prefault({}),
  writeback: writebackOptionsSchema.prefault({}),
  savedSegments: z.array(savedSegmentSchema).default([]),
  effectiveness: effectivenessSettingsSchema.prefault({}),
  refusal: refusalSettingsSchema.prefault({}),
  fields: fieldsStateSchema.prefault({}),
};
export type SettingsSection = keyof typeof settingsSections;
export const SETTINGS_SECTIONS = Object.keys(settingsSections) as SettingsSection[];

/** The whole settings object, any stored version → the current typed settings (strict: one bad section fails it). */
export const portalSettingsSchema = z.preprocess(migrateStored, z.object(settingsSections));
export type PortalSettings = z.infer<typeof portalSettingsSchema>;

/** The sections the settings page edits (GET / PUT /api/ui/settings). */
export const PAGE_SECTIONS = ['scoring', 'b2b', 'schedule', 'automation', 'segmentField'] as const satisfies readonly SettingsSection[];
export type PageSection = (typeof PAGE_SECTIONS)[number];

/** The settings page's object: its sections, each defaulted when missing. */
export const pageSettingsSchema = z.object({
  scoring: settingsSections.scoring,
  b2b: settingsSections.b2b,
  schedule: settingsSections.schedule,
  automation: settingsSections.automation,
  segmentField: settingsSections.segmentField,
});
export type PageSettings = z.infer<typeof pageSettingsSchema>;
