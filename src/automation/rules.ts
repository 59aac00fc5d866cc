/**
 * Automation rules (portal.settings.automation): when a contact becomes sleeping or enters a
 * segment the admin chose, start a business process on the contact, add a to-do for its
 * responsible manager, or add a timeline comment. That is how the portal's own channels
 * (e-mail, SMS, messengers configured in the workflow template) reach a customer who fell
 * asleep, e.g. with a promo code.
 *
 *   settings.automation = { rules: [
 *     { id: 'wake-up', trigger: { type: 'becameSleeping' }, action: { type: 'workflow', templateId: 12 } },
 *     { id: 'vip', trigger: { type: 'enteredSegment', segment: 'champions' },
 *       action: { type: 'todo', title: 'Call {name}', description: 'Now {segment}', deadlineDays: 2 } },
 *   ] }
 *
 * Texts may use {name}, {contactId}, {segment}, {prevSegment}.
 */
import { z } from 'zod';
import { SEGMENT_CODES } from '../scoring/codes.js';

export const automationTriggerSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('becameSleeping') }),
  z.object({ type: z.literal('enteredSegment'), segment: z.enum(SEGMENT_CODES) }),
]);

export const automationActionSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('workflow'), templateId: z.coerce.number().int().positive(), parameters: z.record(z.string(), z.unknown()).optional() }),
  z.object({
    type: z.literal('todo'),
    title: z.string().trim().min(1).max(255),
    description: z.string().max(4000).default(''),
    deadlineDays: z.number().int().min(0).max(365).default(1),
  }),
  z.object({ type: z.literal('comment'), text: z.string().trim().min(1).max(4000) }),
]);

export const automationRuleSchema = z.object({
  /** stable id: the firing key; renaming a rule makes it a new rule */
  id: z.string().trim().min(1).max(64).regex(/^[A-Za-z0-9_.:-]+$/),
  name: z.string().max(200).optional(),
  enabled: z.boolean().default(true),
  trigger: automationTriggerSchema,
  action: automationActionSchema,
});

export const automationSettingsSchema = z
  .object({ rules: z.array(automationRuleSchema).max(50).default([]) })
  .refine((s) => new Set(s.rules.map((r) => r.id)).size === s.rules.length, { message: 'rule ids must be unique', path: ['rules'] });

export type AutomationRule = z.infer<typeof automationRuleSchema>;
export type AutomationSettings = z.infer<typeof automationSettingsSchema>;

/**
 * Earlier versions of the settings page saved rules as a list of
 * `{segment, action: 'task'|'notify'|'bizproc', value, enabled}`: "when a contact enters this segment, add a
 * to-do / a timeline comment / start this workflow template". The page now edits the engine's own schema;
 * this turns such a stored list into engine rules (on read, see src/server/ui-api/settings.ts); the id is
 * derived from the rule's content, so reordering the list does not make old rules new.
 */
export function rulesFromPageList(list: readonly unknown[]): unknown {
  const rules: unknown[] = [];
  const seen = new Set<string>();
  for (const item of list) {
    const r = item as { segment?: unknown; action?: unknown; value?: unknown; enabled?: unknown };
    const value = typeof r.value === 'string' ? r.value.trim() : '';
    const action = r.action === 'task' ? { type: 'todo', title: value || 'Customer entered segment {segment}', deadlineDays: 1 }
      : r.action === 'notify' ? { type: 'comment', text: value || 'Entered segment {segment}' }
      : r.action === 'bizproc' ? { type: 'workflow', templateId: value }
      : null;
    if (!action || typeof r.segment !== 'string') continue;
    let h = 0;
    for (const ch of value) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
    const id = `page.${r.segment}.${String(r.action)}.${h.toString(36)}`;
    if (seen.has(id)) continue;
    seen.add(id);
    rules.push({ id, enabled: r.enabled !== false, trigger: { type: 'enteredSegment', segment: r.segment }, action });
  }
  return { rules };
}

/** The portal's rules; invalid settings → no rules (and the reason), never a crash. */
export function rulesFromSettings(settings: Record<string, unknown> | null | undefined): { rules: AutomationRule[]; error: string | null } {
  const raw = settings?.automation;
  const r = automationSettingsSchema.safeParse(Array.isArray(raw) ? rulesFromPageList(raw) : raw ?? {});
  if (!r.success) return { rules: [], error: r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
  return { rules: r.data.rules.filter((x) => x.enabled), error: null };
}

export function fillText(t: string, v: Record<string, string | number | null>): string {
  return t.replace(/\{(\w+)\}/g, (m, k: string) => (k in v ? String(v[k] ?? '') : m));
}
