/**
 * Leads: crm.lead.list / get / fields / add / update / delete (legacy, string-typed;
 * https://apidocs.bitrix24.com/api-reference/crm/leads/index.html). The status rules: a new lead
 * starts in the first status of ENTITY_ID STATUS (NEW); a status outside that list is refused
 * (ERROR_CORE, like any invalid field value); moving into a final status (semantics S or F) stamps
 * DATE_CLOSED, moving back into work clears it. Every change emits ONCRMLEAD{ADD,UPDATE,DELETE}.
 * Read permissions: the user's lead level (perms.ts; a role without one reads leads as contacts).
 */
import type { LeadRec } from '../model.js';
import { assertAccess, assertAnyAccess, listVisibility } from '../perms.js';
import type { Portal } from '../portal.js';
import { indexDelete, indexInsert, runList } from '../query.js';
import { RestError, type CallContext, type MethodResult, type Params } from '../types.js';
import { applyFields, describeFields, FieldValueError, fieldsOf, leadSemantic, legacyId, legacySelect, makeResolver, notFound, toLegacy } from './schema.js';
import { def, isObj, list, param, type Def } from './util.js';

function emit(p: Portal, event: string, id: number, userId: number): void {
  p.emit({ event, data: { FIELDS: { ID: id } }, userId });
}

/** The lead statuses in order (ENTITY_ID STATUS). */
export function leadStatuses(p: Portal): string[] {
  return p.statuses.filter((s) => s.entityId === 'STATUS').sort((a, b) => a.sort - b.sort).map((s) => s.statusId);
}

export function blankLead(p: Portal, userId: number, at: number): LeadRec {
  return {
    id: 0, title: '', name: null, lastName: null, statusId: leadStatuses(p)[0] ?? 'NEW', statusDescription: null, sourceId: null,
    sourceDescription: null, contactId: null, companyId: null, currencyId: p.baseCurrency, opportunity: 0, opened: true, comments: null,
    assignedById: userId, createdById: userId, modifyById: userId, dateCreate: at, dateModify: at, dateClosed: null, fm: [], uf: {},
  };
}

/** Inserts a lead (typed record: generator, admin face, REST add) and emits ONCRMLEADADD. */
export function addLead(p: Portal, rec: Partial<LeadRec>, userId: number, at?: number): LeadRec {
  const t = at ?? p.clock.now();
  const id = rec.id ?? p.nextId('lead');
  if (rec.id !== undefined) p.bumpId('lead', id);
  if (p.leads.has(id)) throw new Error(`lead ${id} exists`);
  const full: LeadRec = { ...blankLead(p, userId, t), ...rec, id };
  p.leads.set(id, full);
  indexInsert(p.leads as Map<number, unknown>, id);
  emit(p, 'ONCRMLEADADD', id, userId);
  return full;
}

/** Changes a lead: DATE_CLOSED follows the status's semantics; emits ONCRMLEADUPDATE. */
export function updateLead(p: Portal, id: number, patch: Partial<Omit<LeadRec, 'id'>>, userId: number, at?: number): LeadRec {
  const rec = p.leads.get(id);
  if (!rec) throw new Error(`lead ${id} not found`);
  const t = at ?? p.clock.now();
  const wasFinal = leadSemantic(p, rec.statusId) !== 'P';
  Object.assign(rec, patch, { id, dateModify: t, modifyById: userId });
  const final = leadSemantic(p, rec.statusId) !== 'P';
  if (final && !wasFinal) rec.dateClosed = t;
  if (!final) rec.dateClosed = null;
  emit(p, 'ONCRMLEADUPDATE', id, userId);
  return rec;
}

export function deleteLead(p: Portal, id: number, userId: number): boolean {
  if (!p.leads.delete(id)) return false;
  indexDelete(p.leads as Map<number, unknown>, id);
  emit(p, 'ONCRMLEADDELETE', id, userId);
  return true;
}

function fieldsParam(params: Params): Record<string, unknown> {
  const f = param(params, 'fields');
  if (!isObj(f)) throw new RestError('', "Parameter 'fields' must be array.", 400);
  return f;
}

/** Validated `fields` applied to a copy of `base`: the changed keys. */
function leadPatch(p: Portal, base: LeadRec, fields: Record<string, unknown>): Partial<LeadRec> {
  const copy: LeadRec = structuredClone(base);
  try {
    applyFields(p, copy, fieldsOf(p, 'lead'), fields, 'legacy', { nextFmId: () => p.nextId('multifield') });
  } catch (e) {
    if (e instanceof FieldValueError) throw new RestError('ERROR_CORE', e.message, 400);
    throw e;
  }
  const statuses = leadStatuses(p);
  if (copy.statusId !== base.statusId && statuses.length && !statuses.includes(copy.statusId)) {
    throw new RestError('ERROR_CORE', `Field "STATUS_ID" has an invalid value`, 400);
  }
  const patch: Partial<LeadRec> = {};
  for (const k of Object.keys(copy) as (keyof LeadRec)[]) {
    if (k !== 'id' && JSON.stringify(copy[k]) !== JSON.stringify(base[k])) (patch as Record<string, unknown>)[k] = copy[k];
  }
  return patch;
}

/** The lead named by `id`: "Not found" (get) or "Lead is not found" (update, delete) when missing. */
function leadOf(ctx: CallContext, params: Params, family: 'legacy-get' | 'lead-update'): LeadRec {
  const rec = ctx.portal.leads.get(legacyId(params));
  if (!rec) {
    if (family === 'legacy-get') notFound('legacy-get');
    throw new RestError('', 'Lead is not found', 400);
  }
  assertAccess(ctx.portal, ctx.auth, 'lead', rec, 'legacy');
  return rec;
}

export const leadMethods: Def[] = [
  def('crm.lead.list', 'crm', 'list', (ctx, params): MethodResult => {
    const p = ctx.portal;
    const defs = fieldsOf(p, 'lead');
    const visible = listVisibility(p, ctx.auth, 'lead', 'legacy');
    const out = runList(p.leads, {
      filter: param(params, 'filter'), order: param(params, 'order'), start: param(params, 'start'),
    }, makeResolver(p, defs, 'legacy'), { strict: false, allowLogic: false, tz: p.timeZone, visible });
    const sel = legacySelect(defs, param(params, 'select'));
    return list(out.rows.map((r) => toLegacy(p, r, sel)), out.total, out.next);
  }),
  def('crm.lead.get', 'crm', 'get', (ctx, params) => {
    const rec = leadOf(ctx, params, 'legacy-get');
    return { result: toLegacy(ctx.portal, rec, fieldsOf(ctx.portal, 'lead').filter((d) => d.legacy !== false)) };
  }),
  def('crm.lead.fields', 'crm', 'get', (ctx) => ({ result: describeFields(ctx.portal, fieldsOf(ctx.portal, 'lead'), 'legacy') })),
  def('crm.lead.add', 'crm', 'write', (ctx, params) => {
    const p = ctx.portal;
    assertAnyAccess(p, ctx.auth, 'lead', 'legacy');
    const base = blankLead(p, ctx.auth.userId, ctx.now);
    const patch = leadPatch(p, base, fieldsParam(params));
    const rec = addLead(p, { ...base, ...patch, id: undefined as unknown as number }, ctx.auth.userId, ctx.now);
    if (leadSemantic(p, rec.statusId) !== 'P') rec.dateClosed = rec.dateCreate;
    return { result: rec.id };
  }),
  def('crm.lead.update', 'crm', 'write', (ctx, params) => {
    const rec = leadOf(ctx, params, 'lead-update');
    updateLead(ctx.portal, rec.id, leadPatch(ctx.portal, rec, fieldsParam(params)), ctx.auth.userId, ctx.now);
    return { result: true };
  }),
  def('crm.lead.delete', 'crm', 'write', (ctx, params) => {
    const rec = leadOf(ctx, params, 'lead-update');
    deleteLead(ctx.portal, rec.id, ctx.auth.userId);
    return { result: true };
  }),
];
