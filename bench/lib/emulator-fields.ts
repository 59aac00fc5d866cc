/** A contact field as the emulated portal holds it, a list item given as its XML_ID (bench children answer `fields` with it). */
import type { Portal } from '../../src/emulator/portal.js';

export function fieldCodes(p: Portal, field: string, ids?: readonly number[]): Record<number, string | null> {
  const def = [...p.userFields.values()].find((u) => u.entityId === 'CRM_CONTACT' && u.fieldName === field);
  const out: Record<number, string | null> = {};
  const contacts = ids ? ids.map((id) => p.contacts.get(id)).filter((c) => c !== undefined) : p.contacts.values();
  for (const c of contacts) {
    const v = (c.uf as Record<string, unknown>)[field];
    out[c.id] = v === undefined || v === null || v === '' ? null : def?.list.find((it) => it.id === Number(v))?.xmlId ?? String(v);
  }
  return out;
}
