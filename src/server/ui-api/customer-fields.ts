/**
 * The customer's fields a `crm` filter condition may name (issue 14 item 7): the portal's own
 * contact fields (crm.contact.fields: standard and custom, with their types and enumeration
 * items), over companies the company's own (crm.company.fields), and the names of the CRM lists they refer to (crm.status.list: salutations, contact types,
 * and the company's industries and sizes), read with the user's token with the directory
 * (directory.ts). What the filter builder offers (GET /meta `fields`), and what a request's `crm`
 * conditions are checked against: an unknown field is 400 UNKNOWN_FIELD, an operator its type has
 * not 400 BAD_FILTER.
 */
import type { CrmOp, FieldOwner, SegmentFilter } from '../../segments/index.js';
import { COLUMN_FIELD_KEYS } from '../../segments/index.js';
import type { Db } from '../../store/index.js';
import { HttpError } from './http.js';

/** How a field is filtered: its operators (CRM_OPS) follow from it. */
export type FieldKind = 'text' | 'number' | 'date' | 'list' | 'bool';

export interface CustomerField {
  /** REST name: NAME, HONORIFIC, UF_CRM_TIER, ... */
  key: string;
  /** the portal's title (custom fields: the list label in the portal's language) */
  title: string;
  kind: FieldKind;
  multiple: boolean;
  /** a custom field: UF_CRM_* */
  custom: boolean;
  /** enumeration items (ID → name) or the CRM list's entries (STATUS_ID → name), when known */
  items?: Array<{ id: string; name: string }>;
}

/** The CRM lists whose names the directory reads (crm.status.list ENTITY_ID). */
export const STATUS_LISTS = ['INDUSTRY', 'EMPLOYEES', 'HONORIFIC', 'CONTACT_TYPE', 'COMPANY_TYPE'] as const;

const ANY: CrmOp[] = ['empty', 'not_empty'];
/** The operators of each kind, as a CRM user knows them from the CRM's own filter. */
export const OPS_OF: Readonly<Record<FieldKind, readonly CrmOp[]>> = {
  text: ['eq', 'neq', 'contains', 'not_contains', ...ANY],
  number: ['range', ...ANY],
  date: ['dates', ...ANY],
  list: ['in', 'not_in', ...ANY],
  bool: ['is'],
};

/** A field type of crm.contact.fields → how it is filtered; null: not offered (files, multi-fields, ...). */
export function kindOf(type: string): FieldKind | null {
  switch (type) {
    case 'string': case 'url': case 'address':
      return 'text';
    case 'integer': case 'double': case 'money':
      return 'number';
    case 'date': case 'datetime':
      return 'date';
    case 'char': case 'boolean':
      return 'bool';
    case 'enumeration': case 'crm_status': case 'crm_currency': case 'user': case 'employee': case 'crm_company': case 'crm_lead': case 'iblock_element': case 'iblock_section':
      return 'list';
    default:
      return null;
  }
}

/**
 * Fields the filter builder does not offer as "any field", per kind: the ID, files, links and
 * those with a condition of their own (over companies: created, industry, size, revenue).
 */
const OWN_CONDITION: Readonly<Record<FieldOwner, ReadonlySet<string>>> = {
  contact: new Set(['ID', 'ASSIGNED_BY_ID', 'ADDRESS_CITY', 'SOURCE_ID', 'HAS_PHONE', 'HAS_EMAIL', 'HAS_IMOL', 'POST', 'BIRTHDATE', 'DATE_CREATE', 'COMPANY_IDS', 'PHOTO', 'LEAD_ID', 'FACE_ID']),
  company: new Set(['ID', 'ASSIGNED_BY_ID', 'ADDRESS_CITY', 'SOURCE_ID', 'HAS_PHONE', 'HAS_EMAIL', 'HAS_IMOL', 'DATE_CREATE', 'INDUSTRY', 'EMPLOYEES', 'REVENUE', 'LOGO', 'LEAD_ID', 'CONTACT_ID']),
};

interface FieldDesc { type?: unknown; title?: unknown; listLabel?: unknown; formLabel?: unknown; isMultiple?: unknown; statusType?: unknown; items?: unknown }

/** crm.contact.fields' (crm.company.fields' for `owner` 'company') answer → the fields a `crm` condition may name, by title. */
export function customerFieldsOf(desc: unknown, statuses: Readonly<Record<string, Record<string, string>>>, owner: FieldOwner = 'contact'): CustomerField[] {
  if (!desc || typeof desc !== 'object') return [];
  const out: CustomerField[] = [];
  for (const [key, d] of Object.entries(desc as Record<string, FieldDesc>)) {
    if (OWN_CONDITION[owner].has(key) || !d || typeof d !== 'object') continue;
    if (!/^(UF_CRM_[A-Z0-9_]{1,60}|[A-Z][A-Z0-9_]{1,49})$/.test(key)) continue;
    const kind = kindOf(String(d.type ?? ''));
    if (!kind) continue;
    const label = [d.listLabel, d.formLabel, d.title].find((x) => typeof x === 'string' && x.trim());
    const f: CustomerField = { key, title: String(label ?? key), kind, multiple: d.isMultiple === true, custom: key.startsWith('UF_') };
    if (Array.isArray(d.items)) {
      f.items = (d.items as Array<{ ID?: unknown; VALUE?: unknown }>).map((i) => ({ id: String(i.ID ?? ''), name: String(i.VALUE ?? '') })).filter((i) => i.id);
    } else if (typeof d.statusType === 'string' && statuses[d.statusType]) {
      f.items = Object.entries(statuses[d.statusType]!).map(([id, name]) => ({ id, name }));
    }
    out.push(f);
  }
  return out.sort((a, b) => Number(a.custom) - Number(b.custom) || a.title.localeCompare(b.title));
}

/** The `crm` conditions of a request's filter (any group and exclusions included). */
function crmConditions(f: SegmentFilter, out: Array<{ key: string; op: CrmOp }> = []): Array<{ key: string; op: CrmOp }> {
  for (const c of [...f.all, ...(f.any ?? [])]) if (c.field === 'crm') out.push({ key: c.key, op: c.op });
  if (f.exclude) crmConditions(f.exclude, out);
  return out;
}

/**
 * Checks the filter's `crm` conditions against the portal's fields of the `owner` kind
 * (`fieldsOf()`, read with the user's token, only when the filter has such a condition); when the
 * portal could not be asked (null), against what the store holds: the contacts' (companies')
 * columns and the keys their std / uf values have. Throws HttpError 400.
 */
export async function checkCrmFields(
  db: Db, portalId: number, f: SegmentFilter, fieldsOf: () => Promise<readonly CustomerField[] | null>, owner: FieldOwner = 'contact',
): Promise<void> {
  const conds = crmConditions(f);
  if (!conds.length) return;
  const fields = await fieldsOf();
  if (fields && fields.length) {
    const byKey = new Map(fields.map((x) => [x.key, x]));
    for (const c of conds) {
      const field = byKey.get(c.key);
      if (!field) throw new HttpError(400, 'UNKNOWN_FIELD', `${c.key} is not a ${owner} field of this portal that can be filtered on`, { field: c.key });
      if (!OPS_OF[field.kind].includes(c.op)) {
        throw new HttpError(400, 'BAD_FILTER', `${c.key} (${field.kind}) has no operator ${c.op}: use ${OPS_OF[field.kind].join(', ')}`, { field: c.key });
      }
    }
    return;
  }
  const keys = [...new Set(conds.map((c) => c.key))].filter((k) => !COLUMN_FIELD_KEYS[owner].has(k));
  if (!keys.length) return;
  const table = owner === 'company' ? 'companies' : 'contacts';
  const { rows } = await db.query<{ k: string }>(
    `SELECT k FROM unnest($2::text[]) k WHERE EXISTS (SELECT 1 FROM ${table} c WHERE c.portal_id = $1 AND (c.std ? k OR c.uf ? k))`, [portalId, keys]);
  const known = new Set(rows.map((r) => r.k));
  const unknown = keys.find((k) => !known.has(k));
  if (unknown) throw new HttpError(400, 'UNKNOWN_FIELD', `${unknown} is not a ${owner} field of this portal that can be filtered on`, { field: unknown });
}
