/**
 * The JSON value types the emulator's schema allows per CRM field, for readers that compare a
 * portal's answers with the emulator's rules (the probe, src/probe). Derived from the one field
 * schema (methods/schema.ts), so it follows every change there. User fields are left out: they
 * differ per portal.
 *
 * Legacy (crm.contact.* / crm.company.* / crm.deal.*): every value is a string or null, Y/N flags are
 * strings, system dates are strings (`""` when empty, rule 1 of docs/emulator-parity.md), multifields
 * arrays. crm.item.*: ids and numbers are numbers (or null), texts strings (or null), flags strings,
 * multiple fields arrays.
 */
import { fieldsOf, type EntityKind, type Mode } from './methods/schema.js';
import { Portal } from './portal.js';
import { isNumericType } from './serialize.js';

export type JsonType = 'string' | 'number' | 'boolean' | 'null' | 'array' | 'object';

/** The JSON type of a value as it appears in a response. */
export function jsonType(v: unknown): JsonType {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'array';
  const t = typeof v;
  return t === 'string' || t === 'number' || t === 'boolean' ? t : 'object';
}

const schemaPortal = new Portal({ memberId: 'shape-rules' });

/** Allowed JSON types per response key of an entity in one naming mode. */
export function fieldJsonTypes(kind: EntityKind, mode: Mode): Record<string, JsonType[]> {
  const out: Record<string, JsonType[]> = {};
  for (const d of fieldsOf(schemaPortal, kind)) {
    if (mode === 'legacy' && d.legacy === false) continue;
    if (mode === 'item' && d.item === false) continue;
    const key = mode === 'legacy' ? d.up : d.camel;
    if (d.multiple || d.fmType) out[key] = ['array'];
    else if (d.type === 'char' || d.type === 'bool') out[key] = ['string'];
    else if (mode === 'legacy' && (d.type === 'date' || d.type === 'datetime')) out[key] = ['string'];
    else if (mode === 'item' && isNumericType(d.type)) out[key] = d.camel === 'companyId' || d.camel === 'contactId' ? ['number'] : ['number', 'null'];
    else out[key] = ['string', 'null'];
  }
  return out;
}
