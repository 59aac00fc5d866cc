/** Step: the deal user field holding the loss reason of lost deals (unless the portal has it). */
import type { GenContext } from './context.js';
import { LOSS_REASON_FIELD } from './constants.js';

export function addLossReasonField(ctx: GenContext): void {
  const { portal } = ctx;
  if ([...portal.userFields.values()].some((f) => f.entityId === 'CRM_DEAL' && f.fieldName === LOSS_REASON_FIELD)) return;
  const id = portal.nextId('userField');
  const label = { en: 'Loss reason', ru: 'Причина проигрыша' };
  portal.userFields.set(id, {
    id, entityId: 'CRM_DEAL', fieldName: LOSS_REASON_FIELD, userTypeId: 'string', xmlId: 'LOSS_REASON', sort: 100,
    multiple: false, mandatory: false, showFilter: 'E', showInList: true, editInList: true, isSearchable: false,
    settings: { SIZE: 20, ROWS: 1, REGEXP: '', MIN_LENGTH: 0, MAX_LENGTH: 0, DEFAULT_VALUE: '' },
    editFormLabel: label, listColumnLabel: label, listFilterLabel: label, errorMessage: {}, helpMessage: {},
    list: [], createdByApp: null,
  });
}
