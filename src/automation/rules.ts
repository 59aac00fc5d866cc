/**
 * The portal's automation rules as the engine runs them (engine.ts). The rules themselves — what
 * a trigger and an action are, and old stored shapes — are portal settings
 * (src/settings/automation.ts, settings.automation).
 */
import { readSection, type AutomationRule } from '../settings/index.js';

/** The portal's enabled rules; unusable settings → no rules (and the reason), never a crash. */
export function rulesFromSettings(settings: Record<string, unknown> | null | undefined): { rules: AutomationRule[]; error: string | null } {
  const { value, error } = readSection(settings, 'automation');
  if (error) return { rules: [], error };
  return { rules: value.rules.filter((x) => x.enabled), error: null };
}

/** A rule's text with {name}, {contactId}, {segment}, {prevSegment}, {lifecycle}, {reason} filled in (unknown placeholders stay). */
export function fillText(t: string, v: Record<string, string | number | null>): string {
  return t.replace(/\{(\w+)\}/g, (m, k: string) => (k in v ? String(v[k] ?? '') : m));
}
