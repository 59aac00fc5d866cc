/**
 * Request parsing. Bitrix24 POSTs `application/x-www-form-urlencoded` with PHP brackets
 * (`auth[member_id]=...`, `data[FIELDS][ID]=...`): parsed with qs (`extended: true`).
 * Frame pages get part of their data in the query string (DOMAIN, PROTOCOL, LANG, APP_SID).
 * JSON bodies are accepted too (tests, tools). Errors answer `{error, reason}`.
 */
import express, { type ErrorRequestHandler, type Response } from 'express';
import type { z } from 'zod';

export const formParser = express.urlencoded({ extended: true, limit: '256kb', parameterLimit: 2000 });
export const jsonParser = express.json({ limit: '256kb' });

export function sendJsonError(res: Response, status: number, error: string, reason: string): void {
  res.status(status).json({ error, reason });
}

/** "auth.member_id: Required; DOMAIN: ..." — names the offending fields, never their values. */
export function zodReason(e: z.ZodError): string {
  return e.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.map(String).join('.') : '(body)'}: ${i.message}`)
    .join('; ');
}

/** Body-parser failures (malformed form/JSON, too large) become a 400/413 JSON answer. */
export const bodyErrorHandler: ErrorRequestHandler = (err, _req, res, next) => {
  const e = err as { type?: string; status?: number; message?: string };
  if (e && typeof e.type === 'string' && (e.status === 400 || e.status === 413 || e.status === 415)) {
    return sendJsonError(res, e.status, 'BAD_REQUEST', `unreadable request body (${e.type})`);
  }
  next(err);
};

/** Query + body merged (body wins) as a plain object. */
export function requestFields(req: { query: unknown; body: unknown }): Record<string, unknown> {
  const q = req.query && typeof req.query === 'object' ? (req.query as Record<string, unknown>) : {};
  const b = req.body && typeof req.body === 'object' ? (req.body as Record<string, unknown>) : {};
  return { ...q, ...b };
}
