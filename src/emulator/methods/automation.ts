/**
 * Side-effect methods recorded into the portal so tests can see them: crm.timeline.comment.add,
 * crm.activity.todo.add, bizproc.workflow.template.list, bizproc.workflow.start (https://apidocs.bitrix24.com/api-reference/common/index.html).
 */
import { randomBytes } from 'node:crypto';
import type { BizprocTemplateRec } from '../model.js';
import type { Portal } from '../portal.js';
import { runList, type QField } from '../query.js';
import { type FType } from '../serialize.js';
import { RestError } from '../types.js';
import { def, isObj, list, param, type Def } from './util.js';

function exists(p: Portal, type: string, id: number): boolean {
  switch (type.toLowerCase()) {
    case 'contact': case '3': return p.contacts.has(id);
    case 'deal': case '2': return p.deals.has(id);
    case 'company': case '4': return p.companies.has(id);
    default: return false;
  }
}

const TPL_FIELDS: Record<string, [FType, (t: BizprocTemplateRec) => string | number | null]> = {
  ID: ['id', (t) => t.id], MODULE_ID: ['string', (t) => t.moduleId], ENTITY: ['string', (t) => t.entity],
  DOCUMENT_TYPE: ['string', (t) => t.documentType[2]], NAME: ['string', (t) => t.name], AUTO_EXECUTE: ['int', (t) => t.autoExecute],
};

function tplResolver(name: string): QField<BizprocTemplateRec> | undefined {
  const f = TPL_FIELDS[name.toUpperCase()];
  return f ? { name, type: f[0], get: f[1], isId: name.toUpperCase() === 'ID' } : undefined;
}

const DOC_CLASS: Record<string, string> = { CONTACT: 'CCrmDocumentContact', DEAL: 'CCrmDocumentDeal', COMPANY: 'CCrmDocumentCompany', LEAD: 'CCrmDocumentLead' };

export const automationMethods: Def[] = [
  def('crm.timeline.comment.add', 'crm', 'write', (ctx, params) => {
    // Lowercase `fields` is mandatory since crm 23.100.0 (https://apidocs.bitrix24.com/api-reference/common/index.html).
    const f = params['fields'];
    if (!isObj(f)) throw new RestError('ERROR_ARGUMENT', "Argument 'fields' is null or empty", 400, { argument: 'fields' });
    const entityId = Number(f['ENTITY_ID']);
    const entityType = String(f['ENTITY_TYPE'] ?? '').toLowerCase();
    const comment = String(f['COMMENT'] ?? '');
    if (!Number.isInteger(entityId) || entityId <= 0) throw new RestError('ERROR_ARGUMENT', 'ENTITY_ID is not defined or invalid.', 400);
    if (!comment) throw new RestError('ERROR_ARGUMENT', 'COMMENT is not defined or invalid.', 400);
    if (!exists(ctx.portal, entityType, entityId)) throw new RestError('NOT_FOUND', 'Entity not found', 400);
    const id = ctx.portal.nextId('timelineComment');
    ctx.portal.timelineComments.push({ id, entityType, entityId, comment, authorId: ctx.auth.userId, at: ctx.now });
    return { result: id };
  }),

  def('crm.activity.todo.add', 'crm', 'write', (ctx, params) => {
    const ownerTypeId = Number(param(params, 'ownerTypeId'));
    const ownerId = Number(param(params, 'ownerId'));
    const deadline = param(params, 'deadline');
    if (!Number.isInteger(ownerTypeId) || !Number.isInteger(ownerId) || ownerId <= 0) throw new RestError('ERROR_ARGUMENT', 'ownerTypeId and ownerId are required', 400);
    if (deadline === undefined || deadline === null || deadline === '') throw new RestError('ERROR_ARGUMENT', "Argument 'deadline' is null or empty", 400, { argument: 'deadline' });
    if (!exists(ctx.portal, String(ownerTypeId), ownerId)) throw new RestError('NOT_FOUND', 'Owner element not found', 400);
    const id = ctx.portal.nextId('todo');
    ctx.portal.todos.push({
      id, ownerTypeId, ownerId, deadline: String(deadline), title: String(param(params, 'title') ?? ''),
      description: String(param(params, 'description') ?? ''), responsibleId: Number(param(params, 'responsibleId') ?? ctx.auth.userId) || ctx.auth.userId, at: ctx.now,
    });
    return { result: { id } };
  }),

  def('bizproc.workflow.template.list', 'bizproc', 'list', (ctx, params) => {
    const p = ctx.portal;
    const out = runList(p.bizprocTemplates, { filter: param(params, 'filter'), order: param(params, 'order'), start: param(params, 'start') }, tplResolver, { strict: false, allowLogic: false, tz: p.timeZone });
    const rows = out.rows.map((t) => ({
      ID: String(t.id), MODULE_ID: t.moduleId, ENTITY: t.entity, DOCUMENT_TYPE: t.documentType, AUTO_EXECUTE: String(t.autoExecute), NAME: t.name,
    }));
    return list(rows, out.total, out.next);
  }),

  def('bizproc.workflow.start', 'bizproc', 'write', (ctx, params) => {
    const p = ctx.portal;
    const tid = Number(param(params, 'TEMPLATE_ID'));
    const tpl = p.bizprocTemplates.find((t) => t.id === tid);
    if (!tpl) throw new RestError('ERROR_WRONG_WORKFLOW_ID', 'Workflow template not found', 400);
    const doc = param(params, 'DOCUMENT_ID');
    const arr = Array.isArray(doc) ? doc.map(String) : isObj(doc) ? Object.values(doc).map(String) : [];
    if (arr.length !== 3) throw new RestError('ERROR_ARGUMENT', 'Incorrect DOCUMENT_ID', 400);
    const [mod, cls, docId] = arr as [string, string, string];
    const m = /^([A-Z]+)_(\d+)$/.exec(docId);
    if (mod !== tpl.documentType[0] || cls !== tpl.documentType[1] || !m || m[1] !== tpl.documentType[2] || DOC_CLASS[m[1]] !== cls) {
      throw new RestError('ERROR_WRONG_DOCUMENT_ID', 'Template type and DOCUMENT_ID mismatch!', 400);
    }
    if (!exists(p, m[1]!, Number(m[2]))) throw new RestError('ERROR_WRONG_DOCUMENT_ID', 'Document not found', 400);
    const pr = param(params, 'PARAMETERS');
    const id = `${randomBytes(7).toString('hex')}.${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
    p.workflowStarts.push({ id, templateId: tid, documentId: [mod, cls, docId], parameters: isObj(pr) ? pr : {}, startedBy: ctx.auth.userId, at: ctx.now });
    return { result: id };
  }, { adminOnly: true }),
];
