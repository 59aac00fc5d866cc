/**
 * Data-changing helpers shared by the REST methods and the emulator's admin face
 * (`/_emulator/`): every add/update/delete of a contact or deal keeps the sorted ID index
 * right, stamps dateModify/modifyById and emits the CRM event (ONCRMDEALUPDATE etc.).
 */
import type { CompanyRec, ContactRec, DealRec } from '../model.js';
import type { Portal } from '../portal.js';
import { indexDelete, indexInsert } from '../query.js';
import { RestError } from '../types.js';
import { applyFields, fieldsOf, FieldValueError, stageSemantic, stagesOf, type Mode } from './schema.js';

export type ContactPatch = Partial<Omit<ContactRec, 'id'>>;
export type DealPatch = Partial<Omit<DealRec, 'id'>>;
export type CompanyPatch = Partial<Omit<CompanyRec, 'id'>>;

function emit(p: Portal, event: string, id: number, userId: number, extra: Record<string, unknown> = {}): void {
  p.emit({ event, data: { FIELDS: { ID: id, ...extra } }, userId });
}

function now(p: Portal, at?: number): number {
  return at ?? p.clock.now();
}

// ---------------------------------------------------------------------------
// Contacts

export function blankContact(id: number, userId: number, at: number): ContactRec {
  return {
    id, name: '', secondName: null, lastName: '', honorific: null, typeId: null, sourceId: null, sourceDescription: null,
    post: null, comments: null, birthdate: null, addressCity: null, companyId: null, companyIds: [], assignedById: userId,
    createdById: userId, modifyById: userId, opened: true, export: true, dateCreate: at, dateModify: at, fm: [], uf: {},
  };
}

/** Inserts a contact (typed record, admin face / generator style) and emits ONCRMCONTACTADD. */
export function addContact(p: Portal, rec: Partial<ContactRec>, userId: number, at?: number): ContactRec {
  const t = now(p, at);
  const id = rec.id ?? p.nextId('contact');
  if (rec.id !== undefined) p.bumpId('contact', id);
  if (p.contacts.has(id)) throw new Error(`contact ${id} exists`);
  const full: ContactRec = { ...blankContact(id, userId, t), ...rec, id };
  p.contacts.set(id, full);
  indexInsert(p.contacts as Map<number, unknown>, id);
  emit(p, 'ONCRMCONTACTADD', id, userId);
  return full;
}

export function updateContact(p: Portal, id: number, patch: ContactPatch, userId: number, at?: number): ContactRec {
  const rec = p.contacts.get(id);
  if (!rec) throw new Error(`contact ${id} not found`);
  Object.assign(rec, patch, { id, dateModify: now(p, at), modifyById: userId });
  emit(p, 'ONCRMCONTACTUPDATE', id, userId);
  return rec;
}

export function deleteContact(p: Portal, id: number, userId: number): boolean {
  if (!p.contacts.delete(id)) return false;
  indexDelete(p.contacts as Map<number, unknown>, id);
  for (const d of p.deals.values()) if (d.contactIds.includes(id)) d.contactIds = d.contactIds.filter((x) => x !== id);
  emit(p, 'ONCRMCONTACTDELETE', id, userId);
  return true;
}

// ---------------------------------------------------------------------------
// Companies (the same events as contacts: ONCRMCOMPANYADD / UPDATE / DELETE)

export function addCompany(p: Portal, rec: Partial<CompanyRec>, userId: number, at?: number): CompanyRec {
  const t = now(p, at);
  const id = rec.id ?? p.nextId('company');
  if (rec.id !== undefined) p.bumpId('company', id);
  const full: CompanyRec = {
    id, title: '', companyType: null, industry: null, revenue: null, currencyId: null, sourceId: null, addressCity: null,
    assignedById: userId, createdById: userId, modifyById: userId, opened: true, dateCreate: t, dateModify: t, fm: [], uf: {},
    ...rec,
  };
  full.id = id;
  p.companies.set(id, full);
  indexInsert(p.companies as Map<number, unknown>, id);
  emit(p, 'ONCRMCOMPANYADD', id, userId);
  return full;
}

export function updateCompany(p: Portal, id: number, patch: CompanyPatch, userId: number, at?: number): CompanyRec {
  const rec = p.companies.get(id);
  if (!rec) throw new Error(`company ${id} not found`);
  Object.assign(rec, patch, { id, dateModify: now(p, at), modifyById: userId });
  emit(p, 'ONCRMCOMPANYUPDATE', id, userId);
  return rec;
}

/** Deletes a company: its contacts and deals lose the link (as the CRM does). */
export function deleteCompany(p: Portal, id: number, userId: number): boolean {
  if (!p.companies.delete(id)) return false;
  indexDelete(p.companies as Map<number, unknown>, id);
  for (const c of p.contacts.values()) {
    if (c.companyIds.includes(id)) { c.companyIds = c.companyIds.filter((x) => x !== id); c.companyId = c.companyIds[0] ?? null; }
  }
  for (const d of p.deals.values()) if (d.companyId === id) d.companyId = null;
  emit(p, 'ONCRMCOMPANYDELETE', id, userId);
  return true;
}

// ---------------------------------------------------------------------------
// Deals

export function blankDeal(p: Portal, id: number, userId: number, at: number, categoryId = 0): DealRec {
  const date = new Date(at).toISOString().slice(0, 10);
  return {
    id, title: '', typeId: null, categoryId, stageId: stagesOf(p, categoryId)[0] ?? (categoryId === 0 ? 'NEW' : `C${categoryId}:NEW`),
    probability: null, currencyId: p.baseCurrency, opportunity: 0, isManualOpportunity: false, taxValue: 0, companyId: null,
    contactIds: [], beginDate: date, closeDate: date, opened: true, closed: false, comments: null, sourceId: null,
    sourceDescription: null, assignedById: userId, createdById: userId, modifyById: userId, dateCreate: at, dateModify: at, uf: {},
  };
}

function syncClosed(p: Portal, d: DealRec): void {
  d.closed = stageSemantic(p, d.stageId) !== 'P';
}

export function addDeal(p: Portal, rec: Partial<DealRec>, userId: number, at?: number): DealRec {
  const t = now(p, at);
  const id = rec.id ?? p.nextId('deal');
  if (rec.id !== undefined) p.bumpId('deal', id);
  if (p.deals.has(id)) throw new Error(`deal ${id} exists`);
  const full: DealRec = { ...blankDeal(p, id, userId, t, rec.categoryId ?? 0), ...rec, id };
  if (rec.closed === undefined) syncClosed(p, full);
  p.deals.set(id, full);
  indexInsert(p.deals as Map<number, unknown>, id);
  emit(p, 'ONCRMDEALADD', id, userId);
  return full;
}

/**
 * Changes a deal. A change of funnel (categoryId) fires ONCRMDEALMOVETOCATEGORY instead of
 * ONCRMDEALUPDATE (https://apidocs.bitrix24.com/api-reference/crm/deals/index.html/https://apidocs.bitrix24.com/api-reference/events/index.html).
 */
export function updateDeal(p: Portal, id: number, patch: DealPatch, userId: number, at?: number): DealRec {
  const rec = p.deals.get(id);
  if (!rec) throw new Error(`deal ${id} not found`);
  const oldCat = rec.categoryId;
  const oldStage = rec.stageId;
  // MOVED_TIME / MOVED_BY_ID: frozen at their derived values before the first change, then
  // restamped whenever the stage (or funnel) changes (crm-deal-fields.md)
  rec.movedTime ??= rec.dateModify;
  rec.movedById ??= rec.modifyById;
  Object.assign(rec, patch, { id, dateModify: now(p, at), modifyById: userId });
  if (rec.stageId !== oldStage || rec.categoryId !== oldCat) {
    rec.movedTime = rec.dateModify;
    rec.movedById = userId;
  }
  if (patch.stageId !== undefined && patch.closed === undefined) syncClosed(p, rec);
  if (rec.categoryId !== oldCat) emit(p, 'ONCRMDEALMOVETOCATEGORY', id, userId, { CATEGORY_ID: rec.categoryId, STAGE_ID: rec.stageId });
  else emit(p, 'ONCRMDEALUPDATE', id, userId);
  return rec;
}

export function deleteDeal(p: Portal, id: number, userId: number): boolean {
  if (!p.deals.delete(id)) return false;
  indexDelete(p.deals as Map<number, unknown>, id);
  p.productRows.delete(id);
  emit(p, 'ONCRMDEALDELETE', id, userId);
  return true;
}

// ---------------------------------------------------------------------------
// Writes from REST `fields`

function valueError(mode: Mode, e: FieldValueError): RestError {
  if (mode === 'item') {
    return e.message.startsWith('Expected iterable') ? new RestError('100', e.message, 400) : new RestError('CRM_FIELD_ERROR_VALUE_NOT_VALID', e.message, 400);
  }
  return new RestError('ERROR_CORE', e.message, 400);
}

function withValues<T>(mode: Mode, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof FieldValueError) throw valueError(mode, e);
    throw e;
  }
}

/** Validates `fields` against a copy and returns the patch (only the changed keys). */
export function contactPatchFromFields(p: Portal, base: ContactRec, fields: Record<string, unknown>, mode: Mode, creating = false): { patch: ContactPatch; changed: string[] } {
  const copy: ContactRec = structuredClone(base);
  const changed = withValues(mode, () => applyFields(p, copy, fieldsOf(p, 'contact'), fields, mode, { creating, nextFmId: () => p.nextId('multifield') }));
  const patch: ContactPatch = {};
  for (const k of Object.keys(copy) as (keyof ContactRec)[]) {
    if (k !== 'id' && JSON.stringify(copy[k]) !== JSON.stringify(base[k])) (patch as Record<string, unknown>)[k] = copy[k];
  }
  return { patch, changed };
}

/** Validates company `fields` against a copy and returns the patch (only the changed keys). */
export function companyPatchFromFields(p: Portal, base: CompanyRec, fields: Record<string, unknown>, mode: Mode, creating = false): { patch: CompanyPatch; changed: string[] } {
  const copy: CompanyRec = structuredClone(base);
  const changed = withValues(mode, () => applyFields(p, copy, fieldsOf(p, 'company'), fields, mode, { creating, nextFmId: () => p.nextId('multifield') }));
  const patch: CompanyPatch = {};
  for (const k of Object.keys(copy) as (keyof CompanyRec)[]) {
    if (k !== 'id' && JSON.stringify(copy[k]) !== JSON.stringify(base[k])) (patch as Record<string, unknown>)[k] = copy[k];
  }
  return { patch, changed };
}

export function dealPatchFromFields(p: Portal, base: DealRec, fields: Record<string, unknown>, mode: Mode, creating = false): { patch: DealPatch; changed: string[] } {
  const copy: DealRec = structuredClone(base);
  const defs = fieldsOf(p, 'deal');
  const changed = withValues(mode, () => applyFields(p, copy, defs, fields, mode, { creating }));
  // Funnel and stage rules (https://apidocs.bitrix24.com/api-reference/crm/deals/index.html): legacy update keeps the funnel and ignores a stage of another
  // funnel; crm.item may move the deal (categoryId + stageId), a bad stage is an error.
  const catKey = Object.keys(fields).find((k) => k.toUpperCase() === 'CATEGORYID' || k.toUpperCase() === 'CATEGORY_ID');
  if (mode === 'item' && catKey !== undefined && !creating) {
    const c = Number(fields[catKey]);
    if (!Number.isInteger(c) || !p.categories.some((x) => x.id === c && x.entityTypeId === 2) && c !== 0) {
      throw new RestError('CRM_FIELD_ERROR_VALUE_NOT_VALID', `Field "categoryId" has an invalid value`, 400);
    }
    copy.categoryId = c;
  }
  if (creating && catKey !== undefined) copy.categoryId = Number(fields[catKey]) || 0;
  const stages = stagesOf(p, copy.categoryId);
  if (copy.stageId !== base.stageId || copy.categoryId !== base.categoryId) {
    if (stages.length > 0 && !stages.includes(copy.stageId)) {
      if (mode === 'item') {
        const stageGiven = Object.keys(fields).some((k) => k.toUpperCase() === 'STAGEID' || k.toUpperCase() === 'STAGE_ID');
        if (stageGiven) throw new RestError('CRM_FIELD_ERROR_VALUE_NOT_VALID', `Field "stageId" has an invalid value`, 400);
        copy.stageId = stages[0]!;
      } else if (creating) {
        copy.stageId = stages[0]!;
      } else {
        copy.stageId = base.stageId; // silently ignored
      }
    }
  }
  const patch: DealPatch = {};
  for (const k of Object.keys(copy) as (keyof DealRec)[]) {
    if (k !== 'id' && JSON.stringify(copy[k]) !== JSON.stringify(base[k])) (patch as Record<string, unknown>)[k] = copy[k];
  }
  return { patch, changed };
}
