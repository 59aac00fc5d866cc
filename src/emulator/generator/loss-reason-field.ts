/**
 * Step: the deal user field holding the loss reason of lost deals (unless the portal has it):
 * the string field UF_CRM_LOSS_REASON (refusals 'field', the default) or the enumeration
 * UF_CRM_LOST_WHY with one item per reason (refusals 'enum'). A portal that keeps reasons as lost
 * stages (refusals 'stages') gets no field.
 */
import type { UserFieldRec } from '../model.js';
import type { Portal } from '../portal.js';
import type { GenContext } from './context.js';
import { LOSS_ENUM_FIELD, LOSS_REASON_FIELD } from './constants.js';
import { LOST_STAGE_OF } from './dictionaries.js';
import { LOSS_REASONS } from './pools.js';

/** The field lost deals carry their reason in (null: lost stages). */
export function lossReasonFieldOf(ctx: GenContext): string | null {
  const mode = ctx.opts.refusals ?? 'field';
  return mode === 'field' ? LOSS_REASON_FIELD : mode === 'enum' ? LOSS_ENUM_FIELD : null;
}

export function addLossReasonField(ctx: GenContext): void {
  const { portal } = ctx;
  const name = lossReasonFieldOf(ctx);
  if (name === null) return;
  if ([...portal.userFields.values()].some((f) => f.entityId === 'CRM_DEAL' && f.fieldName === name)) return;
  const id = portal.nextId('userField');
  const enumField = name === LOSS_ENUM_FIELD;
  const label = enumField ? { en: 'Why lost', ru: 'Почему проиграна' } : { en: 'Loss reason', ru: 'Причина проигрыша' };
  const list: UserFieldRec['list'] = enumField
    ? LOSS_REASONS.map((value, i) => ({ id: portal.nextId('enumItem'), value, sort: (i + 1) * 10, def: false, xmlId: `LOST_${i + 1}` }))
    : [];
  portal.userFields.set(id, {
    id, entityId: 'CRM_DEAL', fieldName: name, userTypeId: enumField ? 'enumeration' : 'string', xmlId: enumField ? 'LOST_WHY' : 'LOSS_REASON',
    sort: 100, multiple: false, mandatory: false, showFilter: 'E', showInList: true, editInList: true, isSearchable: false,
    settings: enumField ? { DISPLAY: 'LIST', LIST_HEIGHT: 1 } : { SIZE: 20, ROWS: 1, REGEXP: '', MIN_LENGTH: 0, MAX_LENGTH: 0, DEFAULT_VALUE: '' },
    editFormLabel: label, listColumnLabel: label, listFilterLabel: label, errorMessage: {}, helpMessage: {},
    list, createdByApp: null,
  });
}

/** Where a lost deal's drawn reason goes: its stage (given the system one drawn) and user-field values. */
export function lostPlacement(ctx: GenContext, funnel: number, systemStage: string, reason: string): { stageId: string; uf: Record<string, unknown> } {
  return placeLoss(ctx.portal, lossReasonFieldOf(ctx), funnel, systemStage, reason);
}

/** The loss-reason deal field a portal has (the string field first), null when it keeps reasons as lost stages. */
export function lossReasonFieldIn(portal: Portal): string | null {
  const names = new Set([...portal.userFields.values()].filter((f) => f.entityId === 'CRM_DEAL').map((f) => f.fieldName));
  return names.has(LOSS_REASON_FIELD) ? LOSS_REASON_FIELD : names.has(LOSS_ENUM_FIELD) ? LOSS_ENUM_FIELD : null;
}

/** The placement rule itself, given the portal's loss-reason field (null: a custom lost stage). */
export function placeLoss(portal: Portal, name: string | null, funnel: number, systemStage: string, reason: string): { stageId: string; uf: Record<string, unknown> } {
  if (name === LOSS_REASON_FIELD) return { stageId: systemStage, uf: { [name]: reason } };
  if (name === LOSS_ENUM_FIELD) {
    const f = [...portal.userFields.values()].find((u) => u.entityId === 'CRM_DEAL' && u.fieldName === name);
    const item = f?.list.find((i) => i.value === reason);
    return { stageId: systemStage, uf: item ? { [name]: item.id } : {} };
  }
  return { stageId: LOST_STAGE_OF[reason]?.[funnel === 1 ? 1 : 0] ?? systemStage, uf: {} };
}
