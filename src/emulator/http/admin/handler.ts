/** The admin API's handler wrapper: RestError, zod and fault-spec errors become JSON errors. */
import type { Request, Response } from 'express';
import { z } from 'zod';
import { FaultSpecError } from '../../faults.js';
import { RestError } from '../../types.js';
import { sendError } from '../envelope.js';

export function zodMessage(e: z.ZodError): string {
  return e.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ` : '') + i.message).join('; ');
}

export type Handler = (req: Request, res: Response) => unknown;

/** Wraps a handler so RestError/zod errors become JSON errors. */
export function h(fn: Handler): Handler {
  return async (req, res) => {
    try {
      await fn(req, res);
    } catch (e) {
      if (e instanceof RestError) return sendError(res, e.status, e.code, e.description);
      if (e instanceof z.ZodError) return sendError(res, 400, 'INVALID_REQUEST', zodMessage(e));
      if (e instanceof FaultSpecError) return sendError(res, 400, 'INVALID_FAULT_SPEC', e.message);
      throw e;
    }
  };
}
