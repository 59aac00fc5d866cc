import type { CallContext, CostKind, MethodDef, MethodResult, Params } from '../types.js';
import { RestError } from '../types.js';

/** MethodDef plus emulator-only details that `callMethod` honours. */
export interface Def extends MethodDef {
  /** Further scopes that also grant access (user.current: user_brief, user_basic). */
  altScopes?: string[];
  /** error_description of the 403 ACCESS_DENIED for non-admins. */
  adminMessage?: string;
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
  if (!isObj(v)) throw new RestError('', `Parameter '${what}' must be array`, 400);
  return v;
}

export function list(rows: unknown[], total: number, next: number | undefined, n = rows.length): MethodResult {
  const r: MethodResult = { result: rows, total, rows: n };
  if (next !== undefined) r.next = next;
  return r;
}
