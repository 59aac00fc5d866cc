/**
 * The REST endpoint (https://apidocs.bitrix24.com/settings/how-to-call-rest-api/general-principles.html, https://apidocs.bitrix24.com/settings/performance/limits.html, https://apidocs.bitrix24.com/settings/how-to-call-rest-api/batch.html): routing, auth, faults, limits, dispatch to the
 * method layer, envelopes, batch.
 *
 * Order of checks for one HTTP request:
 *   route → decode params → injected fault (if any) → auth (401) → leaky bucket (503)
 *   → [batch: each command] operating budget (429) → method (its own errors) → processing into the
 *   request's tally → at the end, each method's summed processing above 0.1 s is charged (limits.ts).
 */
import type { Request, RequestHandler, Response } from 'express';
import { isComplexFilter, startIsNonNegative, type CallShape } from '../costs.js';
import { RequestTally, type OperatingInfo } from '../limits.js';
import { RestError, type CallAuth, type CallContext, type MethodResult, type Params } from '../types.js';
import { phpArray, sendError, timeBlock, type TimeBlock } from './envelope.js';
import { BadRequestBody, parsePhpQuery, requestParams } from './params.js';
import { AllScopes, type Runtime } from './runtime.js';

export interface RestRoute {
  method: string; // lower case, without .json
  webhook: { userId: number; secret: string } | null;
  xml: boolean;
}

/**
 * `/rest/<method>[.json]` or `/rest/<userId>/<secret>/<method>[.json]`; empty segments
 * (doubled slashes) are ignored, method names are case-insensitive. null = not a REST path
 * we serve (→ 404 ERROR_METHOD_NOT_FOUND).
 */
export function parseRestPath(path: string): RestRoute | null {
  const segs = path.split('/').filter((s) => s !== '');
  if (segs[0]?.toLowerCase() !== 'rest') return null;
  let webhook: RestRoute['webhook'] = null;
  let raw: string | undefined;
  if (segs.length === 2) raw = segs[1];
  else if (segs.length === 4 && /^\d+$/.test(segs[1] ?? '')) {
    webhook = { userId: Number(segs[1]), secret: decodeURIComponent(segs[2] ?? '') };
    raw = segs[3];
  } else return null;
  let method = decodeURIComponent(raw ?? '').toLowerCase();
  let xml = false;
  if (method.endsWith('.json')) method = method.slice(0, -5);
  else if (method.endsWith('.xml')) {
    method = method.slice(0, -4);
    xml = true;
  }
  if (!method) return null;
  return { method, webhook, xml };
}

export interface Caller {
  auth: CallAuth;
  /** Operating-budget owner: `app:<clientId>` or `hook:<userId>:<secret>`; null = unlimited. */
  key: string | null;
}

const NO_AUTH = (): RestError => new RestError('NO_AUTH_FOUND', 'Wrong authorization data', 401);

/** Request parameters that carry the OAuth access token; both are removed before the method runs. */
export const TOKEN_PARAMS = ['auth', 'access_token'] as const;

/**
 * The OAuth access token of a request, as the rest module reads it ([SRC] rest/lib/oauth/auth.php
 * getAuthKey; docs/emulator-parity.md rule 9): an `Authorization: Bearer <token>` header wins, then
 * the `auth` parameter, then `access_token` (array values are ignored). null when none is given.
 */
export function accessTokenOf(params: Params, authorization: string | undefined): string | null {
  const m = authorization === undefined ? null : /^Bearer\s+(.*)$/i.exec(authorization.trim());
  if (m) return m[1]!.trim();
  for (const k of TOKEN_PARAMS) {
    const v = params[k];
    if (v !== undefined && !Array.isArray(v) && (typeof v !== 'object' || v === null)) return v === null ? '' : String(v);
  }
  return null;
}

export function authenticate(rt: Runtime, route: RestRoute, params: Params, now: number, authorization?: string): Caller {
  const portal = rt.portal;
  if (route.webhook) {
    const { userId, secret } = route.webhook;
    const hook = portal.webhooks.find((w) => w.userId === userId && w.secret === secret);
    const user = portal.users.get(userId);
    if (!hook || (user && !user.active)) throw NO_AUTH();
    return {
      auth: { kind: 'webhook', userId, isAdmin: user?.isAdmin ?? false, clientId: null, scopes: new Set(hook.scopes) },
      key: `hook:${userId}:${secret}`,
    };
  }
  const token = accessTokenOf(params, authorization);
  if (token === null || token === '') throw NO_AUTH();
  const rec = portal.tokens.get(token);
  if (!rec) throw NO_AUTH();
  const app = portal.apps.get(rec.clientId);
  if (!app || app.uninstalled) throw NO_AUTH();
  if (rec.expiresAt <= now) throw new RestError('expired_token', 'The access token provided has expired', 401);
  const user = portal.users.get(rec.userId);
  if (user && !user.active) throw NO_AUTH();
  return {
    auth: { kind: 'oauth', userId: rec.userId, isAdmin: user?.isAdmin ?? false, clientId: app.clientId, scopes: new Set(app.scopes) },
    key: `app:${app.clientId}`,
  };
}

export function internalCaller(userId = 1): Caller {
  return { auth: { kind: 'internal', userId, isAdmin: true, clientId: null, scopes: new AllScopes() }, key: null };
}

export type CallOutcome =
  | { ok: true; res: MethodResult; cost: number; op: OperatingInfo; start: number }
  | { ok: false; err: RestError; cost: number; op: OperatingInfo; start: number };

/** Rows returned by a result, when the method did not say. */
function rowsOf(res: MethodResult): number | undefined {
  if (res.rows !== undefined) return res.rows;
  if (Array.isArray(res.result)) return res.result.length;
  const items = (res.result as { items?: unknown } | null)?.items;
  return Array.isArray(items) ? items.length : undefined;
}

/** What the cost model needs to know about a call (costs.ts `CallShape`). */
function shapeOf(params: Params, res: MethodResult | null): CallShape {
  if (!res) return {};
  return {
    rows: rowsOf(res),
    startNonNegative: startIsNonNegative(params.start),
    matching: res.total,
    complexFilter: isComplexFilter(params.filter),
  };
}

/**
 * Runs one method call (top level or batch command) with its operating budget and cost. The call's
 * processing joins `tally` (the request's per-method sums); the caller commits the tally when the
 * HTTP request is over. `op` is the window's sum plus what this request will charge so far.
 */
export function execute(rt: Runtime, caller: Caller, name: string, params: Params, now: number, tally: RequestTally): CallOutcome {
  const { limits, dispatcher, portal } = rt;
  const def = dispatcher.methods.get(name);
  const limitKey = caller.key === null ? null : `${caller.key}|${name}`;
  const opInfo = (): OperatingInfo => {
    if (!limitKey) return { operating: 0, resetAt: (Math.floor(now / 60_000) + 10) * 60 };
    const w = limits.operating(limitKey, now);
    return { operating: round6(w.operating + limits.pending(tally, limitKey, name)), resetAt: w.resetAt };
  };
  if (def && limitKey && !limits.checkOperating(limitKey, name, now)) {
    return { ok: false, err: new RestError('OPERATION_TIME_LIMIT', 'Method is blocked due to operation time limit.', 429), cost: 0, op: opInfo(), start: now };
  }
  const ctx: CallContext = { portal, auth: caller.auth, now };
  let out: CallOutcome;
  try {
    const res = dispatcher.callMethod(ctx, name, params);
    const cost = def ? limits.cost(name, def.cost, shapeOf(params, res)) : 0;
    out = { ok: true, res, cost, op: opInfo(), start: now };
  } catch (e) {
    let err: RestError;
    if (e instanceof RestError) err = e;
    else {
      rt.log(`emulator: ${name} threw ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      err = new RestError('INTERNAL_SERVER_ERROR', 'Internal server error', 500);
    }
    const cost = def ? limits.cost(name, def.cost) : 0;
    out = { ok: false, err, cost, op: opInfo(), start: now };
  }
  if (def) {
    limits.record(tally, limitKey, name, out.cost, !out.ok);
    out.op = opInfo();
  }
  return out;
}

const round6 = (x: number): number => Math.round(x * 1e6) / 1e6;

// ---------------------------------------------------------------------------
// batch (https://apidocs.bitrix24.com/settings/how-to-call-rest-api/batch.html)

const BATCH_MAX = 50;
const MACRO = /\$result\[([^\]]*)\]((?:\[[^\]]*\])*)/g;

/** PHP truthiness of a request value (halt=0, "0", "", false are false). */
function phpTruthy(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '' || v === '0') return false;
  if (Array.isArray(v)) return v.length > 0;
  return true;
}

function lookup(results: Map<string, unknown>, key: string, pathStr: string): { found: boolean; value: unknown } {
  if (!results.has(key)) return { found: false, value: undefined };
  let v: unknown = results.get(key);
  const path = [...pathStr.matchAll(/\[([^\]]*)\]/g)].map((m) => m[1] ?? '');
  for (const p of path) {
    if (v !== null && typeof v === 'object' && p in (v as Record<string, unknown>)) v = (v as Record<string, unknown>)[p];
    else return { found: false, value: undefined };
  }
  return { found: true, value: v };
}

/**
 * `$result[key][path...]`: a value that is exactly one macro is replaced by the referenced
 * value (any type, arrays included); inside a longer string a macro is substituted only
 * when the referenced value is a string; otherwise the macro text stays as is
 * ([SRC] processBatchElement, https://apidocs.bitrix24.com/settings/how-to-call-rest-api/batch.html).
 */
export function substituteMacros(v: unknown, results: Map<string, unknown>): unknown {
  if (typeof v === 'string') {
    if (!v.includes('$result[')) return v;
    const whole = /^\$result\[([^\]]*)\]((?:\[[^\]]*\])*)$/.exec(v);
    if (whole) {
      const r = lookup(results, whole[1] ?? '', whole[2] ?? '');
      return r.found ? r.value : v;
    }
    return v.replace(MACRO, (m, key: string, path: string) => {
      const r = lookup(results, key, path);
      return r.found && typeof r.value === 'string' ? r.value : m;
    });
  }
  if (Array.isArray(v)) return v.map((x) => substituteMacros(x, results));
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, substituteMacros(x, results)]));
  }
  return v;
}

export function runBatch(rt: Runtime, caller: Caller, params: Params, tally: RequestTally): { body: Record<string, unknown>; cost: number } {
  const cmd = params.cmd;
  const halt = phpTruthy(params.halt);
  const entries: Array<[string, unknown]> = cmd && typeof cmd === 'object' ? Object.entries(cmd as Record<string, unknown>) : [];
  const result: Array<[string, unknown]> = [];
  const errors: Array<[string, unknown]> = [];
  const totals: Array<[string, unknown]> = [];
  const nexts: Array<[string, unknown]> = [];
  const times: Array<[string, TimeBlock]> = [];
  const results = new Map<string, unknown>();
  let totalCost = 0;
  let halted = false;
  entries.forEach(([key, raw], i) => {
    if (i >= BATCH_MAX) {
      errors.push([key, { error: 'ERROR_BATCH_LENGTH_EXCEEDED', error_description: 'Max batch length exceeded' }]);
      return;
    }
    if (halted) return;
    const t = rt.portal.clock.now();
    let outErr: RestError | null = null;
    if (typeof raw !== 'string') {
      outErr = new RestError('ERROR_ARGUMENT', `Command ${key} must be a string "method?query"`, 400);
    } else {
      const q = raw.indexOf('?');
      const name = (q < 0 ? raw : raw.slice(0, q)).trim().toLowerCase();
      const sub = substituteMacros(parsePhpQuery(q < 0 ? '' : raw.slice(q + 1)), results) as Params;
      for (const k of TOKEN_PARAMS) delete sub[k];
      if (name === 'batch' || name === 'upload' || name === 'download') {
        outErr = new RestError('ERROR_BATCH_METHOD_NOT_ALLOWED', 'Method is not allowed for batch usage', 405);
      } else {
        const out = execute(rt, caller, name, sub, t, tally);
        totalCost += out.cost;
        if (out.ok) {
          // only executed commands have a result_time entry (batch.md error example: "result_time": [])
          times.push([key, timeBlock(out.start, out.cost, out.op, rt.portal.timeZone, rt.limits.costs.overhead)]);
          result.push([key, out.res.result]);
          results.set(key, out.res.result);
          if (out.res.total !== undefined) totals.push([key, out.res.total]);
          if (out.res.next !== undefined) nexts.push([key, out.res.next]);
        } else {
          // batch.md error example: a scope refusal inside batch has an empty error_description
          outErr = out.err.code === 'insufficient_scope' ? new RestError(out.err.code, '', out.err.status) : out.err;
        }
      }
    }
    if (outErr) {
      errors.push([key, { error: outErr.code, error_description: outErr.description, ...outErr.extra }]);
      if (halt) halted = true;
    }
  });
  return {
    body: {
      result: phpArray(result),
      result_error: phpArray(errors),
      result_total: phpArray(totals),
      result_next: phpArray(nexts),
      result_time: phpArray(times),
    },
    cost: totalCost,
  };
}

// ---------------------------------------------------------------------------

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function sendRestError(res: Response, err: RestError): void {
  sendError(res, err.status, err.code, err.description, err.extra);
}

export function restHandler(rt: Runtime): RequestHandler {
  return async (req: Request, res: Response) => {
    const route = parseRestPath(req.path);
    if (!route) return sendError(res, 404, 'ERROR_METHOD_NOT_FOUND', 'Method not found!');
    if (route.xml) return sendError(res, 400, 'ERROR_FORMAT', 'XML responses are not emulated; use .json or no suffix');
    let params: Params;
    try {
      params = requestParams(req);
    } catch (e) {
      if (e instanceof BadRequestBody) return sendError(res, 400, 'INVALID_REQUEST', e.message);
      throw e;
    }
    const name = route.method;

    const fault = rt.faults.decide(name);
    if (fault) {
      switch (fault.kind) {
        case '503': return sendError(res, 503, 'QUERY_LIMIT_EXCEEDED', 'Too many requests');
        case '429': return sendError(res, 429, 'OPERATION_TIME_LIMIT', 'Method is blocked due to operation time limit.');
        case '500': return sendError(res, 500, 'INTERNAL_SERVER_ERROR', 'Internal server error');
        case 'expired': return sendError(res, 401, 'expired_token', 'The access token provided has expired');
        case 'reset':
          req.socket.destroy();
          return;
        case 'timeout': {
          const sock = req.socket;
          rt.heldSockets.add(sock);
          sock.once('close', () => rt.heldSockets.delete(sock));
          if (fault.ms !== null) setTimeout(() => sock.destroy(), fault.ms).unref();
          return;
        }
        case 'slow':
          await sleep(fault.ms ?? 0);
          break;
      }
    }

    const now = rt.portal.clock.now();
    let caller: Caller;
    try {
      caller = authenticate(rt, route, params, now, req.headers.authorization);
    } catch (e) {
      if (e instanceof RestError) return sendRestError(res, e);
      throw e;
    }
    for (const k of TOKEN_PARAMS) delete params[k];

    if (!rt.limits.admitRequest(now)) return sendError(res, 503, 'QUERY_LIMIT_EXCEEDED', 'Too many requests');
    if (name === 'batch' || rt.dispatcher.methods.has(name)) rt.limits.countRequest(name);

    if (caller.key) res.setHeader('X-Bitrix-Rest-Application', caller.auth.clientId ?? '');

    const tally = new RequestTally();
    if (name === 'batch') {
      const { body, cost } = runBatch(rt, caller, params, tally);
      rt.limits.commit(tally, now);
      const overhead = rt.limits.costs.overhead;
      if (rt.simulateLatency && cost > 0) await sleep(rt.portal.clock.toWallMs((cost + overhead) * 1000));
      // batch itself is never charged: its own operating is 0 (loadlimiter.php ignores `batch`)
      const time = timeBlock(now, cost, { operating: 0, resetAt: (Math.floor(now / 60_000) + 10) * 60 }, rt.portal.timeZone, overhead);
      res.status(200).json({ result: body, time });
      return;
    }

    const out = execute(rt, caller, name, params, now, tally);
    rt.limits.commit(tally, now);
    if (rt.simulateLatency && out.cost > 0) await sleep(rt.portal.clock.toWallMs((out.cost + rt.limits.costs.overhead) * 1000));
    if (!out.ok) return sendRestError(res, out.err);
    const body: Record<string, unknown> = { result: out.res.result };
    if (out.res.total !== undefined) body.total = out.res.total;
    if (out.res.next !== undefined) body.next = out.res.next;
    body.time = timeBlock(out.start, out.cost, out.op, rt.portal.timeZone, rt.limits.costs.overhead);
    res.status(200).json(body);
  };
}
