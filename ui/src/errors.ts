/** API errors as a user reads them: a translated sentence per error code, never the server's English. */
import { ApiError } from './api';
import { t, type MsgKey } from './i18n';

const BY_CODE: Record<string, MsgKey> = {
  NOT_SCORED: 'noRun',
  ACCESS_DENIED: 'errAccess',
  ADMIN_ONLY: 'errAdminOnly',
  NOT_YOURS: 'errAccess',
  FILTER_TOO_LARGE: 'errTooLarge',
  FILTER_CYCLE: 'errTooLarge',
  BAD_FILTER: 'errBadFilter',
  CONDITION_NOT_FOR_COMPANIES: 'errNotForCompanies',
  NO_COMPANIES: 'errNoCompanies',
  QUERY_TIMEOUT: 'errTimeout',
  NO_USER_TOKEN: 'errSession',
  TOKEN_USER_MISMATCH: 'errSession',
  NO_SESSION: 'errSession',
  PORTAL_UNREACHABLE: 'errPortal',
  BAD_PORTAL_RESPONSE: 'errPortal',
  TOO_MANY_VIEWS: 'errTooManyViews',
  TOO_MANY_SAVED_SEGMENTS: 'errTooManyViews',
  INVALID_SETTINGS: 'fieldErrors',
  INACTIVE_USER: 'errInactiveUser',
  NOT_A_LIST: 'errNotAList',
  RATE_LIMITED: 'errBusy',
  TOO_MANY_REQUESTS: 'errBusy',
  PORTAL_BUSY: 'errBusy',
};

/** What to tell the user about a failed call. */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) {
    const key = BY_CODE[err.code] ?? (err.status === 429 ? 'errBusy' : err.status >= 500 ? 'errServer' : undefined);
    return key ? t(key) : t('errGeneric', { code: err.code });
  }
  return t('errGeneric', { code: err instanceof Error ? err.name : 'ERROR' });
}
