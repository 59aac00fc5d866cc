/**
 * CRM entity methods: legacy crm.contact.* / crm.company.* / crm.deal.* (string-typed,
 * https://apidocs.bitrix24.com/api-reference/crm/contacts/index.html, https://apidocs.bitrix24.com/api-reference/crm/deals/index.html) and the universal crm.item.* (camelCase typed, https://apidocs.bitrix24.com/api-reference/crm/universal/index.html).
 */
import type { CompanyRec, ContactRec, DealRec } from '../model.js';
import { assertAccess, assertAnyAccess, listVisibility } from '../perms.js';
import type { Portal } from '../portal.js';
import { runList } from '../query.js';
import { RestError, type CallContext, type MethodResult, type Params } from '../types.js';
import {
  addCompany, addContact, addDeal, blankContact, blankDeal, companyPatchFromFields, contactPatchFromFields, dealPatchFromFields,
  deleteCompany, deleteContact, deleteDeal, updateCompany, updateContact, updateDeal,
} from './data.js';
import {
  describeFields, fieldsOf, itemSelect, legacyId, legacySelect, makeResolver, notFound, toItem, toLegacy, type EntityKind, type FDef,
} from './schema.js';
import { def, isObj, list, param, requiredParam, type Def } from './util.js';

type AnyRec = ContactRec | CompanyRec | DealRec;

function table(p: Portal, kind: EntityKind): Map<number, AnyRec> {
  return (kind === 'contact' ? p.contacts : kind === 'company' ? p.companies : p.deals) as Map<number, AnyRec>;
}

function defsOf(p: Portal, kind: EntityKind): FDef<AnyRec>[] {
  return fieldsOf(p, kind) as FDef<AnyRec>[];
}

// ---------------------------------------------------------------------------
// Legacy

function legacyList(kind: EntityKind) {
  return (ctx: CallContext, params: Params): MethodResult => {
    const p = ctx.portal;
    const defs = defsOf(p, kind);
    const visible = listVisibility(p, ctx.auth, kind, 'legacy');
    const out = runList(table(p, kind), {
      filter: param(params, 'filter'), order: param(params, 'order'), start: param(params, 'start'),
    }, makeResolver(p, defs, 'legacy'), { strict: false, allowLogic: false, tz: p.timeZone, visible });
    const sel = legacySelect(defs, param(params, 'select'));
    return list(out.rows.map((r) => toLegacy(p, r, sel)), out.total, out.next);
  };
}

function legacyGet(kind: EntityKind) {
  return (ctx: CallContext, params: Params): MethodResult => {
    const p = ctx.portal;
    const id = legacyId(params);
    const rec = table(p, kind).get(id);
    if (!rec) notFound('legacy-get');
    assertAccess(p, ctx.auth, kind, rec, 'legacy');
    const defs = defsOf(p, kind).filter((d) => d.legacy !== false);
    return { result: toLegacy(p, rec, defs) };
  };
}

function fieldsParam(params: Params): Record<string, unknown> {
  const f = param(params, 'fields');
  if (!isObj(f)) throw new RestError('', "Parameter 'fields' must be array.", 400);
  return f;
}

const legacyMethods: Def[] = [
  def('crm.contact.list', 'crm', 'list', legacyList('contact')),
  def('crm.contact.get', 'crm', 'get', legacyGet('contact')),
  def('crm.contact.fields', 'crm', 'get', (ctx) => ({ result: describeFields(ctx.portal, fieldsOf(ctx.portal, 'contact'), 'legacy') })),
  def('crm.contact.add', 'crm', 'write', (ctx, params) => {
    const p = ctx.portal;
    const fields = fieldsParam(params);
    assertAnyAccess(p, ctx.auth, 'contact', 'legacy');
    const base = blankContact(0, ctx.auth.userId, ctx.now);
    const { patch } = contactPatchFromFields(p, base, fields, 'legacy', true);
    const rec = addContact(p, { ...base, ...patch, id: undefined as unknown as number }, ctx.auth.userId, ctx.now);
    return { result: rec.id };
  }),
  def('crm.contact.update', 'crm', 'write', (ctx, params) => {
    const p = ctx.portal;
    const id = legacyId(params);
    const rec = p.contacts.get(id);
    if (!rec) notFound('contact-update');
    assertAccess(p, ctx.auth, 'contact', rec, 'legacy');
    const { patch } = contactPatchFromFields(p, rec, fieldsParam(params), 'legacy');
    updateContact(p, id, patch, ctx.auth.userId, ctx.now);
    return { result: true };
  }),
  def('crm.contact.delete', 'crm', 'write', (ctx, params) => {
    const id = legacyId(params);
    const rec = ctx.portal.contacts.get(id);
    if (rec) assertAccess(ctx.portal, ctx.auth, 'contact', rec, 'legacy');
    if (!deleteContact(ctx.portal, id, ctx.auth.userId)) notFound('contact-update');
    return { result: true };
  }),

  def('crm.company.list', 'crm', 'list', legacyList('company')),
  def('crm.company.get', 'crm', 'get', legacyGet('company')),
  def('crm.company.fields', 'crm', 'get', (ctx) => ({ result: describeFields(ctx.portal, fieldsOf(ctx.portal, 'company'), 'legacy') })),
  def('crm.company.add', 'crm', 'write', (ctx, params) => {
    const p = ctx.portal;
    const fields = fieldsParam(params);
    assertAnyAccess(p, ctx.auth, 'company', 'legacy');
    const base = addCompanyBase(ctx);
    const { patch } = companyPatchFromFields(p, base, fields, 'legacy', true);
    return { result: addCompany(p, { ...base, ...patch, id: undefined as unknown as number }, ctx.auth.userId, ctx.now).id };
  }),
  // crm-company-update.md: {id, fields, params: {REGISTER_SONET_EVENT}} → true; unknown id: "Not found"
  def('crm.company.update', 'crm', 'write', (ctx, params) => {
    const p = ctx.portal;
    const id = legacyId(params);
    const rec = p.companies.get(id);
    if (!rec) notFound('company-update');
    assertAccess(p, ctx.auth, 'company', rec, 'legacy');
    const { patch } = companyPatchFromFields(p, rec, fieldsParam(params), 'legacy');
    updateCompany(p, id, patch, ctx.auth.userId, ctx.now);
    return { result: true };
  }),
  def('crm.company.delete', 'crm', 'write', (ctx, params) => {
    const id = legacyId(params);
    const rec = ctx.portal.companies.get(id);
    if (rec) assertAccess(ctx.portal, ctx.auth, 'company', rec, 'legacy');
    if (!deleteCompany(ctx.portal, id, ctx.auth.userId)) notFound('company-update');
    return { result: true };
  }),

  def('crm.deal.list', 'crm', 'list', legacyList('deal')),
  def('crm.deal.get', 'crm', 'get', legacyGet('deal')),
  def('crm.deal.fields', 'crm', 'get', (ctx) => ({ result: describeFields(ctx.portal, fieldsOf(ctx.portal, 'deal'), 'legacy') })),
  def('crm.deal.add', 'crm', 'write', (ctx, params) => {
    const p = ctx.portal;
    const fields = fieldsParam(params);
    assertAnyAccess(p, ctx.auth, 'deal', 'legacy');
    const catRaw = Object.entries(fields).find(([k]) => k.toUpperCase() === 'CATEGORY_ID')?.[1];
    const base = blankDeal(p, 0, ctx.auth.userId, ctx.now, Number(catRaw ?? 0) || 0);
    const { patch } = dealPatchFromFields(p, base, fields, 'legacy', true);
    const rec = addDeal(p, { ...base, ...patch, id: undefined as unknown as number }, ctx.auth.userId, ctx.now);
    return { result: rec.id };
  }),
  def('crm.deal.update', 'crm', 'write', (ctx, params) => {
    const p = ctx.portal;
    const id = legacyId(params);
    const rec = p.deals.get(id);
    if (!rec) notFound('deal-update');
    assertAccess(p, ctx.auth, 'deal', rec, 'legacy');
    const { patch } = dealPatchFromFields(p, rec, fieldsParam(params), 'legacy');
    updateDeal(p, id, patch, ctx.auth.userId, ctx.now);
    return { result: true };
  }),
  def('crm.deal.delete', 'crm', 'write', (ctx, params) => {
    const id = legacyId(params);
    const rec = ctx.portal.deals.get(id);
    if (rec) assertAccess(ctx.portal, ctx.auth, 'deal', rec, 'legacy');
    if (!deleteDeal(ctx.portal, id, ctx.auth.userId)) notFound('deal-update');
    return { result: true };
  }),
  def('crm.deal.contact.items.get', 'crm', 'get', (ctx, params) => {
    const id = legacyId(params);
    const d = ctx.portal.deals.get(id);
    if (!d) notFound('deal-contacts');
    assertAccess(ctx.portal, ctx.auth, 'deal', d, 'legacy');
    return {
      result: d.contactIds.map((c, i) => ({ CONTACT_ID: c, SORT: (i + 1) * 10, ROLE_ID: 0, IS_PRIMARY: i === 0 ? 'Y' : 'N' })),
    };
  }),
];

// ---------------------------------------------------------------------------
// crm.item.*

const KIND_BY_TYPE: Record<number, EntityKind> = { 2: 'deal', 3: 'contact', 4: 'company' };

/** entityTypeId: required (400 code 100, rule 4), an unknown type is NOT_FOUND "SPA not found" (crm-item-get.md). */
function kindOf(params: Params): EntityKind {
  const t = Number(requiredParam(params, 'entityTypeId'));
  const k = KIND_BY_TYPE[t];
  if (!k) throw new RestError('NOT_FOUND', 'SPA not found', 400);
  return k;
}

function itemId(params: Params): number {
  const n = Number(requiredParam(params, 'id'));
  if (!Number.isInteger(n) || n <= 0) throw new RestError('NOT_FOUND', 'Element not found', 400);
  return n;
}

/** `fields` of crm.item.add/update: required (code 100). */
function itemFields(params: Params): Record<string, unknown> {
  const f = requiredParam(params, 'fields');
  return isObj(f) ? f : {};
}

function originalUf(params: Params): boolean {
  const v = param(params, 'useOriginalUfNames');
  return v === 'Y' || v === true || v === 'y';
}

function renderItem(p: Portal, kind: EntityKind, rec: AnyRec, params: Params): Record<string, unknown> {
  return toItem(p, rec, itemSelect(defsOf(p, kind), ['*']), kind, originalUf(params));
}

function itemWrite(ctx: CallContext, kind: EntityKind, rec: AnyRec | null, fields: Record<string, unknown>): AnyRec {
  const p = ctx.portal;
  const uid = ctx.auth.userId;
  if (kind === 'contact') {
    const base = (rec as ContactRec | null) ?? blankContact(0, uid, ctx.now);
    const { patch, changed } = contactPatchFromFields(p, base, fields, 'item', rec === null);
    if (rec === null) return addContact(p, { ...base, ...patch, id: undefined as unknown as number }, uid, ctx.now);
    if (changed.length === 0) return rec; // nothing changed: the save is skipped (https://apidocs.bitrix24.com/api-reference/crm/universal/index.html)
    return updateContact(p, base.id, patch, uid, ctx.now);
  }
  if (kind === 'deal') {
    const catRaw = Object.entries(fields).find(([k]) => k.toUpperCase() === 'CATEGORYID' || k.toUpperCase() === 'CATEGORY_ID')?.[1];
    const base = (rec as DealRec | null) ?? blankDeal(p, 0, uid, ctx.now, Number(catRaw ?? 0) || 0);
    const { patch, changed } = dealPatchFromFields(p, base, fields, 'item', rec === null);
    if (rec === null) return addDeal(p, { ...base, ...patch, id: undefined as unknown as number }, uid, ctx.now);
    if (changed.length === 0 && Object.keys(patch).length === 0) return rec;
    return updateDeal(p, base.id, patch, uid, ctx.now);
  }
  const base = (rec as CompanyRec | null) ?? addCompanyBase(ctx);
  const { patch, changed } = companyPatchFromFields(p, base, fields, 'item', rec === null);
  if (rec === null) return addCompany(p, { ...base, ...patch, id: undefined as unknown as number }, uid, ctx.now);
  if (changed.length === 0) return rec;
  return updateCompany(p, base.id, patch, uid, ctx.now);
}

/** A blank company record (not stored) for add: fields are validated against it. */
function addCompanyBase(ctx: CallContext): CompanyRec {
  const uid = ctx.auth.userId;
  return {
    id: 0, title: '', companyType: null, industry: null, revenue: null, currencyId: null, sourceId: null, addressCity: null,
    assignedById: uid, createdById: uid, modifyById: uid, opened: true, dateCreate: ctx.now, dateModify: ctx.now, fm: [], uf: {},
  };
}

const itemMethods: Def[] = [
  def('crm.item.list', 'crm', 'list', (ctx, params) => {
    const p = ctx.portal;
    const kind = kindOf(params);
    const defs = defsOf(p, kind);
    const visible = listVisibility(p, ctx.auth, kind, 'item');
    const out = runList(table(p, kind), {
      filter: param(params, 'filter'), order: param(params, 'order'), start: param(params, 'start'),
    }, makeResolver(p, defs, 'item'), { strict: true, allowLogic: true, tz: p.timeZone, visible });
    const sel = itemSelect(defs, param(params, 'select'));
    const ouf = originalUf(params);
    const items = out.rows.map((r) => toItem(p, r, sel, kind, ouf));
    const res: MethodResult = { result: { items }, total: out.total, rows: items.length };
    if (out.next !== undefined) res.next = out.next;
    return res;
  }),
  def('crm.item.get', 'crm', 'get', (ctx, params) => {
    const kind = kindOf(params);
    const rec = table(ctx.portal, kind).get(itemId(params));
    if (!rec) notFound('item');
    assertAccess(ctx.portal, ctx.auth, kind, rec, 'item');
    return { result: { item: renderItem(ctx.portal, kind, rec, params) } };
  }),
  def('crm.item.fields', 'crm', 'get', (ctx, params) => {
    const kind = kindOf(params);
    return { result: { fields: describeFields(ctx.portal, defsOf(ctx.portal, kind), 'item') } };
  }),
  def('crm.item.update', 'crm', 'write', (ctx, params) => {
    const kind = kindOf(params);
    const rec = table(ctx.portal, kind).get(itemId(params));
    if (!rec) notFound('item');
    assertAccess(ctx.portal, ctx.auth, kind, rec, 'item');
    const saved = itemWrite(ctx, kind, rec, itemFields(params));
    return { result: { item: renderItem(ctx.portal, kind, saved, params) } };
  }),
  def('crm.item.add', 'crm', 'write', (ctx, params) => {
    const kind = kindOf(params);
    assertAnyAccess(ctx.portal, ctx.auth, kind, 'item');
    const saved = itemWrite(ctx, kind, null, itemFields(params));
    return { result: { item: renderItem(ctx.portal, kind, saved, params) } };
  }),
  def('crm.item.delete', 'crm', 'write', (ctx, params) => {
    const kind = kindOf(params);
    const id = itemId(params);
    const rec = table(ctx.portal, kind).get(id);
    if (rec) assertAccess(ctx.portal, ctx.auth, kind, rec, 'item');
    const ok = kind === 'contact' ? deleteContact(ctx.portal, id, ctx.auth.userId)
      : kind === 'deal' ? deleteDeal(ctx.portal, id, ctx.auth.userId) : deleteCompany(ctx.portal, id, ctx.auth.userId);
    if (!ok) notFound('item');
    return { result: [] };
  }),
];

export const crmMethods: Def[] = [...legacyMethods, ...itemMethods];
