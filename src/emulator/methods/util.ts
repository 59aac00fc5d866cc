import type { CallContext, CostKind, MethodDef, MethodResult, Params } from '../types.js';
import { RestError } from '../types.js';

/** MethodDef plus emulator-only details that `callMethod` honours. */
export interface Def extends MethodDef {
  /** Further scopes that also grant access (user.current: user_brief, user_basic). */
  altScopes?: string[];
  /** The error for a webhook calling an app-only method (default APP_CONTEXT.authType). */
  appOnlyError?: () => RestError;
  /** The error for a non-admin calling an admin-only method (default 403 ACCESS_DENIED "Access denied!"). */
  adminError?: () => RestError;
}

/**
 * How app-only methods refuse a webhook: the docs differ per method (docs/emulator-parity.md, rule 4).
 * The rest module has two exceptions: AuthTypeException (`WRONG_AUTH_TYPE`, 403, "Current
 * authorization type is denied for this method" + detail) and AccessException (`ACCESS_DENIED`,
 * "Access denied!" + detail); see [SRC] rest/lib/api/event.php, placement.php, rest_provider.php.
 */
export const APP_CONTEXT = {
  /** event.*, events: AuthTypeException without detail ([SRC] api/event.php; the docs are silent). */
  authType: (): RestError => new RestError('WRONG_AUTH_TYPE', 'Current authorization type is denied for this method', 403),
  /** placement.*: api-reference/widgets/placement-bind.md, placement-unbind.md, placement-get.md. */
  authTypeContext: (): RestError =>
    new RestError('WRONG_AUTH_TYPE', 'Current authorization type is denied for this method Application context required', 403),
  /**
   * app.info (api-reference/common/system/app-info.md: 400 ACCESS_DENIED) and app.option.*
   * (app-option-get.md / app-option-set.md: 400, the exception named as "AccessException", i.e. ACCESS_DENIED).
   */
  access: (): RestError => new RestError('ACCESS_DENIED', 'Access denied! Application context required', 400),
};

/** Missing required parameter of a REST controller method: `{"error":"100"}` (e.g. crm-timeline-logmessage-list.md). */
export function missingParam(name: string): RestError {
  return new RestError('100', `Could not find value for parameter {${name}}`, 400);
}

/** A required controller parameter: 400 code 100 when absent or empty. */
export function requiredParam(params: Params, name: string): unknown {
  const v = param(params, name);
  if (v === undefined || v === null || v === '') throw missingParam(name);
  return v;
}

export function def(
  name: string,
  scope: string | null,
  cost: CostKind,
  handler: (ctx: CallContext, params: Params) => MethodResult,
  extra: Partial<Omit<Def, 'name' | 'scope' | 'cost' | 'handler'>> = {},
): Def {
  return { name: name.toLowerCase(), scope, cost, handler, ...extra };
}

/** Case-insensitive parameter lookup (`filter`/`FILTER`). */
export function param(params: Params, name: string): unknown {
  if (name in params) return params[name];
  const low = name.toLowerCase();
  for (const [k, v] of Object.entries(params)) if (k.toLowerCase() === low) return v;
  return undefined;
}

export function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function yn(b: boolean): 'Y' | 'N' {
  return b ? 'Y' : 'N';
}

export function truthyYN(v: unknown, dflt: boolean): boolean {
  if (v === undefined || v === null || v === '') return dflt;
  return v === true || v === 1 || v === 'Y' || v === 'y' || v === '1' || v === 'true';
}

export function requireObj(v: unknown, what: string): Record<string, unknown> {
  if (!isObj(v)) throw new RestError('', `Parameter '${what}' must be array.`, 400);
  return v;
}

export function list(rows: unknown[], total: number, next: number | undefined, n = rows.length): MethodResult {
  const r: MethodResult = { result: rows, total, rows: n };
  if (next !== undefined) r.next = next;
  return r;
}
