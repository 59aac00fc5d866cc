/** crm.{contact,company,deal}.userfield.add/list/get/update/delete (https://apidocs.bitrix24.com/api-reference/crm/contacts/userfield/index.html). */
import type { LangMap, UserFieldEnumItem, UserFieldRec } from '../model.js';
import type { Portal } from '../portal.js';
import { RestError, type CallContext, type MethodResult, type Params } from '../types.js';
import { UF_ENTITY, type EntityKind } from './schema.js';
import { def, isObj, list, param, truthyYN, yn, type Def } from './util.js';

const TYPES = new Set([
  'string', 'integer', 'double', 'boolean', 'datetime', 'date', 'money', 'url', 'address', 'enumeration', 'file',
  'employee', 'crm_status', 'iblock_section', 'iblock_element', 'crm',
]);
const LABELS = ['EDIT_FORM_LABEL', 'LIST_COLUMN_LABEL', 'LIST_FILTER_LABEL', 'ERROR_MESSAGE', 'HELP_MESSAGE'] as const;
type LabelKey = (typeof LABELS)[number];
const LABEL_PROP: Record<LabelKey, 'editFormLabel' | 'listColumnLabel' | 'listFilterLabel' | 'errorMessage' | 'helpMessage'> = {
  EDIT_FORM_LABEL: 'editFormLabel', LIST_COLUMN_LABEL: 'listColumnLabel', LIST_FILTER_LABEL: 'listFilterLabel',
  ERROR_MESSAGE: 'errorMessage', HELP_MESSAGE: 'helpMessage',
};

function langs(p: Portal): string[] {
  return [...new Set([p.language, 'en', 'ru', 'de'])];
}

/** A label given as a string (every language) or a lang map; missing languages get `fallback`. */
function langMap(p: Portal, v: unknown, fallback: string): LangMap {
  const out: LangMap = {};
  for (const l of langs(p)) out[l] = fallback;
  if (typeof v === 'string') for (const l of langs(p)) out[l] = v;
  else if (isObj(v)) for (const [l, s] of Object.entries(v)) out[l] = String(s ?? '');
  return out;
}

/** Forces the UF_CRM_ prefix and validates the name (https://apidocs.bitrix24.com/api-reference/crm/contacts/userfield/crm-contact-userfield-add.html). */
export function normaliseFieldName(raw: string): string {
  let n = raw.trim().toUpperCase();
  if (n.startsWith('UF_CRM_')) { /* as is */ } else if (n.startsWith('UF_')) n = `UF_CRM_${n.slice(3)}`;
  else n = `UF_CRM_${n}`;
  if (n.length > 50) throw new RestError('ERROR_CORE', 'The field name must not exceed 50 characters including the UF_CRM_ prefix', 400);
  if (!/^UF_CRM_[A-Z0-9_]+$/.test(n)) throw new RestError('ERROR_CORE', 'Invalid field name: only Latin letters A-Z, digits 0-9 and underscore are allowed', 400);
  return n;
}

function xmlDup(xml: string): RestError {
  return new RestError('ERROR_CORE', `A list item with XML_ID=${xml} already exists`, 400);
}

function addItems(p: Portal, uf: UserFieldRec, items: unknown): void {
  const arr = Array.isArray(items) ? items : isObj(items) ? Object.values(items) : [];
  for (const it of arr) {
    if (!isObj(it)) continue;
    const value = String(it['VALUE'] ?? '');
    if (value === '') continue; // empty VALUE is ignored
    const id = p.nextId('enumItem');
    const xml = it['XML_ID'] !== undefined && it['XML_ID'] !== '' ? String(it['XML_ID']) : `XML_${id}`;
    if (uf.list.some((x) => x.xmlId === xml)) throw xmlDup(xml);
    const item: UserFieldEnumItem = { id, value, sort: Number(it['SORT'] ?? (uf.list.length + 1) * 10) || 500, def: truthyYN(it['DEF'], false), xmlId: xml };
    uf.list.push(item);
  }
}

/**
 * One user field. Labels: `get` returns the full lang maps (crm-contact-userfield-get.md); `list`
 * returns them as strings of `filter.LANG` (null when empty, as the example's ERROR_MESSAGE) or,
 * without LANG, not at all (crm-contact-userfield-list.md, "Returned data").
 */
function render(uf: UserFieldRec, labels: 'maps' | 'none' | { lang: string }): Record<string, unknown> {
  const out: Record<string, unknown> = {
    ID: String(uf.id), ENTITY_ID: uf.entityId, FIELD_NAME: uf.fieldName, USER_TYPE_ID: uf.userTypeId, XML_ID: uf.xmlId,
    SORT: String(uf.sort), MULTIPLE: yn(uf.multiple), MANDATORY: yn(uf.mandatory), SHOW_FILTER: uf.showFilter,
    SHOW_IN_LIST: yn(uf.showInList), EDIT_IN_LIST: yn(uf.editInList), IS_SEARCHABLE: yn(uf.isSearchable), SETTINGS: uf.settings,
  };
  if (labels !== 'none') {
    const label = (m: LangMap): unknown => (labels === 'maps' ? m : m[labels.lang] || null);
    for (const k of LABELS) out[k] = label(uf[LABEL_PROP[k]]);
  }
  if (uf.userTypeId === 'enumeration') {
    out['LIST'] = [...uf.list].sort((a, b) => a.sort - b.sort || a.id - b.id)
      .map((i) => ({ ID: String(i.id), SORT: String(i.sort), VALUE: i.value, DEF: yn(i.def), XML_ID: i.xmlId }));
  }
  return out;
}

function showFilter(v: unknown): UserFieldRec['showFilter'] {
  const s = String(v ?? 'N').toUpperCase();
  if (s === 'Y') return 'E';
  return s === 'I' || s === 'E' || s === 'S' ? s : 'N';
}

function defaultSettings(type: string, given: unknown): Record<string, unknown> {
  const base: Record<string, unknown> =
    type === 'string' ? { SIZE: 20, ROWS: 1, REGEXP: '', MIN_LENGTH: 0, MAX_LENGTH: 0, DEFAULT_VALUE: '' }
      : type === 'double' ? { PRECISION: 2, SIZE: 20, MIN_VALUE: 0, MAX_VALUE: 0, DEFAULT_VALUE: null }
        : type === 'integer' ? { SIZE: 20, MIN_VALUE: 0, MAX_VALUE: 0, DEFAULT_VALUE: null }
          : type === 'boolean' ? { DEFAULT_VALUE: 0, DISPLAY: 'CHECKBOX', LABEL: ['', ''], LABEL_CHECKBOX: '' }
            : type === 'enumeration' ? { DISPLAY: 'LIST', LIST_HEIGHT: 1, CAPTION_NO_VALUE: '', SHOW_NO_VALUE: 'Y' }
              : type === 'date' || type === 'datetime' ? { DEFAULT_VALUE: { TYPE: 'NONE', VALUE: '' } }
                : {};
  return { ...base, ...(isObj(given) ? given : {}) };
}

function findUf(ctx: CallContext, kind: EntityKind, params: Params): UserFieldRec {
  const raw = param(params, 'id');
  const uf = ctx.portal.userFields.get(Number(raw));
  if (!uf || uf.entityId !== UF_ENTITY[kind]) {
    throw new RestError('ERROR_NOT_FOUND', `The entity with ID '${String(raw)}' is not found`, 400);
  }
  return uf;
}

/** `crm.<kind>.userfield.add`: a new UF_CRM_* field (https://apidocs.bitrix24.com/api-reference/crm/contacts/userfield/crm-contact-userfield-add.html); labels default to LABEL. */
function addUserField(ctx: CallContext, kind: EntityKind, params: Params): MethodResult {
  const p = ctx.portal;
  const entityId = UF_ENTITY[kind];
  const f = param(params, 'fields');
  if (!isObj(f)) throw new RestError('', "The 'FIELD_NAME' field is not found.\nThe 'USER_TYPE_ID' field is not found.", 400);
  const missing: string[] = [];
  if (!f['FIELD_NAME']) missing.push("The 'FIELD_NAME' field is not found."); // crm-contact-userfield-add.md example
  if (!f['USER_TYPE_ID']) missing.push("The 'USER_TYPE_ID' field is not found.");
  if (missing.length) throw new RestError('', missing.join('\n'), 400);
  const type = String(f['USER_TYPE_ID']);
  if (!TYPES.has(type) && !type.startsWith('rest_')) throw new RestError('ERROR_CORE', `Unknown user field type: ${type}`, 400);
  const name = normaliseFieldName(String(f['FIELD_NAME']));
  if ([...p.userFields.values()].some((u) => u.entityId === entityId && u.fieldName === name)) {
    throw new RestError('ERROR_CORE', `A field with the name ${name} already exists`, 400);
  }
  const multiple = truthyYN(f['MULTIPLE'], false);
  if (multiple && type === 'boolean') throw new RestError('ERROR_CORE', 'A field of type boolean cannot be multiple', 400);
  const label = typeof f['LABEL'] === 'string' ? f['LABEL'] : isObj(f['LABEL']) ? String(Object.values(f['LABEL'])[0] ?? '') : '';
  const uf: UserFieldRec = {
    id: p.nextId('userField'), entityId, fieldName: name, userTypeId: type,
    xmlId: f['XML_ID'] !== undefined ? String(f['XML_ID']) : null,
    sort: Number(f['SORT'] ?? 100) || 100, multiple, mandatory: truthyYN(f['MANDATORY'], false),
    showFilter: showFilter(f['SHOW_FILTER']), showInList: truthyYN(f['SHOW_IN_LIST'], false),
    editInList: truthyYN(f['EDIT_IN_LIST'], true), isSearchable: truthyYN(f['IS_SEARCHABLE'], false),
    settings: defaultSettings(type, f['SETTINGS']),
    editFormLabel: {}, listColumnLabel: {}, listFilterLabel: {}, errorMessage: {}, helpMessage: {},
    list: [], createdByApp: ctx.auth.clientId,
  };
  for (const k of LABELS) {
    const fb = k === 'ERROR_MESSAGE' || k === 'HELP_MESSAGE' ? '' : label;
    uf[LABEL_PROP[k]] = langMap(p, f[k] ?? (isObj(f['LABEL']) && fb ? f['LABEL'] : undefined), fb);
  }
  if (type === 'enumeration') addItems(p, uf, f['LIST']);
  p.userFields.set(uf.id, uf);
  return { result: uf.id };
}

/** `crm.<kind>.userfield.list`: filter by any rendered field (LANG picks one label language), order by rendered values. */
function listUserFields(ctx: CallContext, kind: EntityKind, params: Params): MethodResult {
  const p = ctx.portal;
  const entityId = UF_ENTITY[kind];
  const fl = param(params, 'filter');
  const filter = isObj(fl) ? fl : {};
  const lang = filter['LANG'] !== undefined ? String(filter['LANG']) : null;
  let rows = [...p.userFields.values()].filter((u) => u.entityId === entityId);
  for (const [k, v] of Object.entries(filter)) {
    if (k.toUpperCase() === 'LANG') continue;
    rows = rows.filter((u) => {
      const r = render(u, 'maps');
      const have = r[k.toUpperCase()];
      return have !== undefined && String(have) === String(v);
    });
  }
  const ord = param(params, 'order');
  const order = isObj(ord) ? Object.entries(ord) : [['SORT', 'ASC'], ['ID', 'ASC']];
  rows.sort((a, b) => {
    for (const [k, d] of order) {
      const ra = render(a, 'maps')[String(k).toUpperCase()];
      const rb = render(b, 'maps')[String(k).toUpperCase()];
      const na = Number(ra);
      const nb = Number(rb);
      const c = !Number.isNaN(na) && !Number.isNaN(nb) ? na - nb : String(ra).localeCompare(String(rb));
      if (c) return String(d).toUpperCase() === 'DESC' ? -c : c;
    }
    return 0;
  });
  const out = rows.map((u) => render(u, lang === null ? 'none' : { lang }));
  return list(out, out.length, undefined);
}

/** `crm.<kind>.userfield.update`: changes a copy, applied only when every check passed. */
function updateUserField(ctx: CallContext, kind: EntityKind, params: Params): MethodResult {
  const p = ctx.portal;
  const uf = findUf(ctx, kind, params);
  const f = param(params, 'fields');
  if (!isObj(f)) throw new RestError('', "Parameter 'fields' must be array.", 400);
  const next: UserFieldRec = structuredClone(uf);
  if (f['MANDATORY'] !== undefined) next.mandatory = truthyYN(f['MANDATORY'], false);
  if (f['SHOW_FILTER'] !== undefined) next.showFilter = showFilter(f['SHOW_FILTER']);
  if (f['XML_ID'] !== undefined) next.xmlId = String(f['XML_ID']);
  if (f['SORT'] !== undefined) next.sort = Number(f['SORT']) || next.sort;
  if (f['SHOW_IN_LIST'] !== undefined) next.showInList = truthyYN(f['SHOW_IN_LIST'], false);
  if (f['EDIT_IN_LIST'] !== undefined) next.editInList = truthyYN(f['EDIT_IN_LIST'], true);
  if (f['IS_SEARCHABLE'] !== undefined) next.isSearchable = truthyYN(f['IS_SEARCHABLE'], false);
  if (isObj(f['SETTINGS'])) next.settings = { ...next.settings, ...f['SETTINGS'] };
  for (const k of LABELS) if (f[k] !== undefined) next[LABEL_PROP[k]] = langMap(p, f[k], ''); // overwrite: omitted languages → ''
  if (f['LIST'] !== undefined && next.userTypeId === 'enumeration') updateItems(p, next, f['LIST']);
  Object.assign(uf, next);
  return { result: true };
}

/** LIST of an update: items with an ID are changed (or deleted with DEL=Y), items without one are added. */
function updateItems(p: Portal, next: UserFieldRec, given: unknown): void {
  const items = Array.isArray(given) ? given : isObj(given) ? Object.values(given) : [];
  const fresh: unknown[] = [];
  for (const it of items) {
    if (!isObj(it)) continue;
    if (it['ID'] === undefined || it['ID'] === '') { fresh.push(it); continue; }
    const idx = next.list.findIndex((x) => x.id === Number(it['ID']));
    if (idx < 0) continue;
    if (truthyYN(it['DEL'], false)) { next.list.splice(idx, 1); continue; }
    const cur = next.list[idx]!;
    if (it['VALUE'] !== undefined) cur.value = String(it['VALUE']);
    if (it['SORT'] !== undefined) cur.sort = Number(it['SORT']) || cur.sort;
    if (it['DEF'] !== undefined) cur.def = truthyYN(it['DEF'], false);
    if (it['XML_ID'] !== undefined) {
      const xml = String(it['XML_ID']);
      if (next.list.some((x) => x !== cur && x.xmlId === xml)) throw xmlDup(xml);
      cur.xmlId = xml;
    }
  }
  addItems(p, next, fresh);
}

/** `crm.<kind>.userfield.delete`: the field and its values on every record. */
function deleteUserField(ctx: CallContext, kind: EntityKind, params: Params): MethodResult {
  const p = ctx.portal;
  const uf = findUf(ctx, kind, params);
  p.userFields.delete(uf.id);
  const tbl = kind === 'contact' ? p.contacts : kind === 'company' ? p.companies : p.deals;
  for (const r of tbl.values()) delete r.uf[uf.fieldName];
  return { result: true };
}

function methodsFor(kind: EntityKind): Def[] {
  const pre = `crm.${kind}.userfield`;
  // crm-contact-userfield-add.md / -list.md: a non-admin gets 400 with an empty code, "Access denied"
  const admin = { adminOnly: true, adminError: () => new RestError('', 'Access denied', 400) };
  return [
    def(`${pre}.add`, 'crm', 'write', (ctx, params) => addUserField(ctx, kind, params), admin),
    def(`${pre}.list`, 'crm', 'list', (ctx, params) => listUserFields(ctx, kind, params)),
    def(`${pre}.get`, 'crm', 'get', (ctx, params) => ({ result: render(findUf(ctx, kind, params), 'maps') })),
    def(`${pre}.update`, 'crm', 'write', (ctx, params) => updateUserField(ctx, kind, params), admin),
    def(`${pre}.delete`, 'crm', 'write', (ctx, params) => deleteUserField(ctx, kind, params), admin),
  ];
}

export const userfieldMethods: Def[] = [...methodsFor('contact'), ...methodsFor('company'), ...methodsFor('deal')];
