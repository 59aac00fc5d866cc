/**
 * Side-effect methods recorded into the portal so tests can see them: crm.timeline.comment.add,
 * crm.activity.todo.add, bizproc.workflow.template.list, bizproc.workflow.start (https://apidocs.bitrix24.com/api-reference/common/index.html).
 */
import { randomBytes } from 'node:crypto';
import type { BizprocTemplateRec } from '../model.js';
import type { Portal } from '../portal.js';
import { runList, type QField } from '../query.js';
import { parseDateInput, type FType } from '../serialize.js';
import { RestError, type CallContext, type MethodResult, type Params } from '../types.js';
import { def, isObj, list, missingParam, param, requiredParam, type Def } from './util.js';

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

/** crm-timeline-comment-add.md: not found is NOT_FOUND "Not found."; empty comment INVALID_ARG_VALUE; missing fields 100. */
function timelineCommentAdd(ctx: CallContext, params: Params): MethodResult {
  // Lowercase `fields` is mandatory since crm 23.100.0 (https://apidocs.bitrix24.com/api-reference/common/index.html): FIELDS counts as missing.
  const f = params['fields'];
  if (!isObj(f)) throw missingParam('fields');
  for (const k of ['ENTITY_ID', 'ENTITY_TYPE'] as const) {
    if (f[k] === undefined || f[k] === null || f[k] === '') throw new RestError('100', `Required fields are not provided: ${k}`, 400);
  }
  const entityId = Number(f['ENTITY_ID']);
  const entityType = String(f['ENTITY_TYPE']).toLowerCase();
  const comment = typeof f['COMMENT'] === 'string' ? f['COMMENT'] : f['COMMENT'] === undefined || f['COMMENT'] === null ? '' : String(f['COMMENT']);
  if (comment.trim() === '') throw new RestError('INVALID_ARG_VALUE', 'Empty comment', 400);
  if (!Number.isInteger(entityId) || entityId <= 0 || !exists(ctx.portal, entityType, entityId)) throw new RestError('NOT_FOUND', 'Not found.', 400);
  const id = ctx.portal.nextId('timelineComment');
  ctx.portal.timelineComments.push({ id, entityType, entityId, comment, authorId: ctx.auth.userId, at: ctx.now });
  return { result: id };
}

/**
 * crm-activity-todo-add.md: ownerTypeId, ownerId, deadline are required (code 100); a deadline
 * that is not a date/time is WRONG_DATETIME_FORMAT; a missing owner is NOT_FOUND "Not found.".
 */
function todoAdd(ctx: CallContext, params: Params): MethodResult {
  const ownerTypeId = Number(requiredParam(params, 'ownerTypeId'));
  const ownerId = Number(requiredParam(params, 'ownerId'));
  const deadline = requiredParam(params, 'deadline');
  const at = typeof deadline === 'string' || typeof deadline === 'number' ? parseDateInput(deadline, ctx.portal.timeZone) : NaN;
  if (Number.isNaN(at)) throw new RestError('WRONG_DATETIME_FORMAT', 'Incorrect date format', 400);
  if (!Number.isInteger(ownerTypeId) || !Number.isInteger(ownerId) || !exists(ctx.portal, String(ownerTypeId), ownerId)) {
    throw new RestError('NOT_FOUND', 'Not found.', 400);
  }
  const id = ctx.portal.nextId('todo');
  ctx.portal.todos.push({
    id, ownerTypeId, ownerId, deadline: String(deadline), title: String(param(params, 'title') ?? ''),
    description: String(param(params, 'description') ?? ''), responsibleId: Number(param(params, 'responsibleId') ?? ctx.auth.userId) || ctx.auth.userId, at: ctx.now,
  });
  return { result: { id } };
}

/** bizproc-workflow-start.md: ERROR_WRONG_WORKFLOW_ID for the template, an empty code for DOCUMENT_ID problems. */
function workflowStart(ctx: CallContext, params: Params): MethodResult {
  const p = ctx.portal;
  const rawTid = param(params, 'TEMPLATE_ID');
  if (rawTid === undefined || rawTid === null || rawTid === '' || rawTid === '0' || rawTid === 0) throw new RestError('ERROR_WRONG_WORKFLOW_ID', 'Empty TEMPLATE_ID', 400);
  const tid = Number(rawTid);
  const tpl = p.bizprocTemplates.find((t) => t.id === tid);
  if (!tpl) throw new RestError('ERROR_WRONG_WORKFLOW_ID', 'Template not found', 400);
  const doc = param(params, 'DOCUMENT_ID');
  const arr = Array.isArray(doc) ? doc.map(String) : isObj(doc) ? Object.values(doc).map(String) : [];
  if (arr.length !== 3) throw new RestError('', 'Wrong DOCUMENT_ID!', 400);
  const [mod, cls, docId] = arr as [string, string, string];
  const m = /^([A-Z]+)_(\d+)$/.exec(docId);
  if (mod !== 'crm' || !m || DOC_CLASS[m[1]!] !== cls) throw new RestError('', 'Incorrect document type!', 400);
  if (cls !== tpl.documentType[1] || m[1] !== tpl.documentType[2]) throw new RestError('', 'Template type and DOCUMENT_ID mismatch!', 400);
  if (!exists(p, m[1]!, Number(m[2]))) throw new RestError('', 'Wrong DOCUMENT_ID!', 400); // UNCONFIRMED: the docs name no error for a missing document
  const pr = param(params, 'PARAMETERS');
  const id = `${randomBytes(7).toString('hex')}.${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
  p.workflowStarts.push({ id, templateId: tid, documentId: [mod, cls, docId], parameters: isObj(pr) ? pr : {}, startedBy: ctx.auth.userId, at: ctx.now });
  return { result: id };
}

export const automationMethods: Def[] = [
  def('crm.timeline.comment.add', 'crm', 'write', timelineCommentAdd),
  def('crm.activity.todo.add', 'crm', 'write', todoAdd),

  def('bizproc.workflow.template.list', 'bizproc', 'list', (ctx, params) => {
    const p = ctx.portal;
    const out = runList(p.bizprocTemplates, { filter: param(params, 'filter'), order: param(params, 'order'), start: param(params, 'start') }, tplResolver, { strict: false, allowLogic: false, tz: p.timeZone });
    const rows = out.rows.map((t) => ({
      ID: String(t.id), MODULE_ID: t.moduleId, ENTITY: t.entity, DOCUMENT_TYPE: t.documentType, AUTO_EXECUTE: String(t.autoExecute), NAME: t.name,
    }));
    return list(rows, out.total, out.next);
  }),

  def('bizproc.workflow.start', 'bizproc', 'write', workflowStart, { adminOnly: true }),
];
