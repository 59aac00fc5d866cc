/**
 * Field-name and value mapping between the legacy CRM list methods (crm.contact.list,
 * crm.deal.list: UPPER_SNAKE names, string values) and crm.item.list (camelCase, typed values),
 * so the export can spread one entity over both methods (they have separate operating budgets)
 * and still hand out one row shape: the LEGACY shape.
 *
 * Mapping used (https://apidocs.bitrix24.com/api-reference/crm/universal/index.html + the emulator's serialiser):
 *   id↔ID, createdTime↔DATE_CREATE, updatedTime↔DATE_MODIFY, createdBy↔CREATED_BY_ID,
 *   updatedBy↔MODIFY_BY_ID, movedBy↔MOVED_BY_ID, begindate↔BEGINDATE, closedate↔CLOSEDATE,
 *   every other camelCase name ↔ UPPER_SNAKE (assignedById↔ASSIGNED_BY_ID, stageId↔STAGE_ID…);
 *   UF fields are requested with useOriginalUfNames=Y so they keep their UF_CRM_* names.
 * Values: numbers → strings (money OPPORTUNITY/TAX_VALUE with 2 decimals), booleans → Y/N,
 * dates are ISO strings in both shapes. Known difference: boolean UFs are "1"/"0" in legacy
 * and "Y"/"N" in crm.item; multifields (fm) are not mapped (select them via legacy).
 */
const ITEM_TO_LEGACY: Record<string, string> = {
  id: 'ID',
  createdTime: 'DATE_CREATE',
  updatedTime: 'DATE_MODIFY',
  createdBy: 'CREATED_BY_ID',
  updatedBy: 'MODIFY_BY_ID',
  movedBy: 'MOVED_BY_ID',
  begindate: 'BEGINDATE',
  closedate: 'CLOSEDATE',
};
const LEGACY_TO_ITEM: Record<string, string> = Object.fromEntries(Object.entries(ITEM_TO_LEGACY).map(([a, b]) => [b, a]));
const MONEY = new Set(['OPPORTUNITY', 'TAX_VALUE']);

export function itemFieldToLegacy(name: string): string {
  if (ITEM_TO_LEGACY[name]) return ITEM_TO_LEGACY[name];
  if (/^UF_/i.test(name)) return name.toUpperCase();
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

export function legacyFieldToItem(name: string): string {
  if (LEGACY_TO_ITEM[name]) return LEGACY_TO_ITEM[name];
  if (/^UF_/.test(name) || name === '*') return name;
  return name.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** `>=DATE_MODIFY` → `>=updatedTime`: keeps the operator prefix. */
export function legacyFilterKeyToItem(key: string): string {
  const m = /^([=!<>@%]*)(.*)$/.exec(key);
  return `${m?.[1] ?? ''}${legacyFieldToItem(m?.[2] ?? key)}`;
}

export function legacyFilterToItem(filter: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(filter).map(([k, v]) => [legacyFilterKeyToItem(k), v]));
}

function legacyValue(field: string, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean') return v ? 'Y' : 'N';
  if (typeof v === 'number') return MONEY.has(field) ? v.toFixed(2) : String(v);
  if (Array.isArray(v)) return v.map((x) => legacyValue(field, x));
  return v;
}

/** One crm.item row in the legacy shape. */
export function itemRowToLegacy(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    if (k === 'fm' || k === 'entityTypeId') continue;
    const lk = itemFieldToLegacy(k);
    out[lk] = legacyValue(lk, v);
  }
  return out;
}
