/** Why a filter cannot be compiled: the UI API answers these as 400 (BAD_FILTER, FILTER_TOO_LARGE, FILTER_CYCLE,
 * CONDITION_NOT_FOR_COMPANIES). */

export class FilterError extends Error {
  override name = 'FilterError';
}

/** The filter's expansion is over MAX_FILTER_CONDITIONS, MAX_FILTER_VALUES or MAX_FILTER_DEPTH (400 FILTER_TOO_LARGE). */
export class FilterTooLargeError extends FilterError {
  override name = 'FilterTooLargeError';
  constructor(readonly limit: 'conditions' | 'values' | 'depth', readonly max: number, message: string) {
    super(message);
  }
}

/**
 * A condition that only means something for a contact (age, job title, any contact field `crm`, a
 * fixed list of contacts)
 * in a filter over companies (400 CONDITION_NOT_FOR_COMPANIES).
 */
export class ConditionNotForCompaniesError extends FilterError {
  override name = 'ConditionNotForCompaniesError';
  constructor(readonly field: string) {
    super(`the condition "${field}" is about contacts and cannot filter companies`);
  }
}

/** A saved segment reaches itself through its references (400 FILTER_CYCLE). */
export class FilterCycleError extends FilterError {
  override name = 'FilterCycleError';
}

/** A new saved segment would take the portal past MAX_SAVED_SEGMENTS (400 TOO_MANY_SAVED_SEGMENTS). */
export class TooManySavedSegmentsError extends Error {
  override name = 'TooManySavedSegmentsError';
}
