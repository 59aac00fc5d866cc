/**
 * What the settings page edits, stored in portals.settings (jsonb) under these top-level keys:
 *   scoring     scoringSettingsSchema input (the scoring engine's own zod schema)
 *   b2b         score companies too (boolean)
 *   schedule    when the sync + score pipeline runs
 *   automation  the automation engine's own rules ({ rules: [...] }, src/automation/rules.ts):
 *               "when a contact becomes sleeping / enters a segment → to-do, timeline comment or
 *               workflow"; the page edits the engine's schema directly. A list saved by earlier
 *               versions of the page ({segment, action, value, enabled}[]) is read as engine rules.
 *   segmentField  write each contact's highest-priority saved segment to a CRM field
 *   savedSegments saved filters (see SavedSegment)
 */
import { z } from 'zod';
import { scoringSettingsSchema } from '../../scoring/index.js';
import { automationSettingsSchema, rulesFromPageList } from '../../automation/rules.js';
import { segmentFilterSchema } from './filter.js';

export const scheduleSchema = z.object({
  mode: z.enum(['daily', 'hourly', 'manual']).default('daily'),
  hour: z.number().int().min(0).max(23).default(3),
});

export const portalUiSettingsSchema = z.object({
  scoring: scoringSettingsSchema.prefault({}),
  b2b: z.boolean().default(false),
  schedule: scheduleSchema.prefault({}),
  automation: z.preprocess((v) => (Array.isArray(v) ? rulesFromPageList(v) : v ?? {}), automationSettingsSchema),
  segmentField: z.object({ enabled: z.boolean().default(false) }).prefault({}),
});
export type PortalUiSettings = z.infer<typeof portalUiSettingsSchema>;

export const savedSegmentSchema = z.object({
  id: z.string().regex(/^[a-z0-9-]{1,40}$/),
  name: z.string().trim().min(1).max(120),
  filter: segmentFilterSchema,
  /** higher wins when a contact matches several saved segments */
  priority: z.number().int().min(0).max(1000).default(0),
});
export type SavedSegment = z.infer<typeof savedSegmentSchema>;

/** Reads stored settings leniently: invalid stored parts fall back to defaults. */
export function readUiSettings(stored: Record<string, unknown>): PortalUiSettings {
  const pick = (k: string) => (stored && typeof stored === 'object' ? stored[k] : undefined);
  const r = portalUiSettingsSchema.safeParse({
    scoring: pick('scoring') ?? {},
    b2b: pick('b2b') ?? false,
    schedule: pick('schedule') ?? {},
    automation: pick('automation') ?? {},
    segmentField: pick('segmentField') ?? {},
  });
  return r.success ? r.data : portalUiSettingsSchema.parse({});
}

/**
 * The stored saved segments that are valid now, in stored order. One at a time: a segment stored
 * before a check existed (e.g. `exclude` nested past MAX_FILTER_DEPTH) is left out on its own
 * instead of taking the others with it.
 */
export function readSavedSegments(stored: Record<string, unknown>): SavedSegment[] {
  const raw = stored?.['savedSegments'];
  if (!Array.isArray(raw)) return [];
  return raw.flatMap((x) => {
    const r = savedSegmentSchema.safeParse(x);
    return r.success ? [r.data] : [];
  });
}
