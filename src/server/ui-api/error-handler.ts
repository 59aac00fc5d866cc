/**
 * The UI API's last two handlers: 404 for an unknown /api/ui path, and the error handler.
 *
 * Known errors (the client's fault, the portal's refusal, a refused filter, a cancelled query)
 * are answered with their status and logged as ONE line without a stack: 4xx at info, 5xx at
 * warn. Anything else is a 500, logged at error with its stack. Never a body, a header or a
 * token; the line replaces the access log's (res.locals.logged). A response already streaming
 * (CSV) is cut, so the client sees a failed download, not a short file.
 */
import type { NextFunction, Request, Response } from 'express';
import { z } from 'zod';
import { ConditionNotForCompaniesError, FILTER_TOO_LARGE, FilterCycleError, FilterError, FilterTooLargeError, TooManySavedSegmentsError } from '../../segments/index.js';
import type { UiContext } from './context.js';
import { bodyFault, isQueryTimeout, type Answer } from './errors.js';
import { HttpError, type AReq } from './http.js';
import { PortalAuthError } from './portal-user.js';

export function notFound(req: Request, res: Response): void {
  res.status(404).json({ error: 'NOT_FOUND', message: `no ${req.method} ${req.path}` });
}

function known(err: unknown, timeoutMs: number): Answer | null {
  if (err instanceof HttpError) return { status: err.status, code: err.code, message: err.message, extra: err.extra };
  if (err instanceof PortalAuthError) return { status: err.status, code: err.code, message: err.message };
  if (err instanceof FilterTooLargeError) return { status: 400, code: FILTER_TOO_LARGE, message: err.message };
  if (err instanceof FilterCycleError) return { status: 400, code: 'FILTER_CYCLE', message: err.message };
  if (err instanceof ConditionNotForCompaniesError) return { status: 400, code: 'CONDITION_NOT_FOR_COMPANIES', message: err.message, extra: { field: err.field } };
  if (err instanceof FilterError) return { status: 400, code: 'BAD_FILTER', message: err.message };
  if (err instanceof TooManySavedSegmentsError) return { status: 400, code: 'TOO_MANY_SAVED_SEGMENTS', message: err.message };
  if (err instanceof z.ZodError) return { status: 400, code: 'BAD_REQUEST', message: err.message };
  if (isQueryTimeout(err)) {
    return { status: 503, code: 'QUERY_TIMEOUT', message: `the database query ran longer than ${timeoutMs} ms and was cancelled (limit ${timeoutMs} ms); narrow the filter or try again later` };
  }
  return bodyFault(err);
}

export function errorHandler(ctx: UiContext, timeoutMs: number) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const where = { method: req.method, path: req.originalUrl.split('?')[0], portalId: (req as AReq).ui?.portal.id };
    res.locals.logged = true;
    const k = known(err, timeoutMs);
    if (k) {
      ctx.log?.(k.status >= 500 ? 'warn' : 'info', 'ui api: refused', { ...where, status: k.status, error: k.code });
      if (!res.headersSent) return void res.status(k.status).json({ ...k.extra, error: k.code, message: k.message });
      return void res.destroy();
    }
    const e = err as Error | undefined;
    ctx.log?.('error', 'ui api error', { ...where, status: 500, error: String(e?.message ?? err), stack: e?.stack });
    if (!res.headersSent) res.status(500).json({ error: 'INTERNAL', message: 'internal error' });
    else res.destroy();
  };
}
